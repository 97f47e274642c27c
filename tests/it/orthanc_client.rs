//! Orthanc's DICOMweb plugin as a client of the one root: one server entry
//! for search, retrieve and store (the vendor roots needed three), and empty
//! searches it can read.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

/// A private Orthanc (`tests/peers/orthanc.sh`) in a temporary directory,
/// stopped when dropped.
struct Orthanc {
    dir: tempfile::TempDir,
    http: u16,
    dicom: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Orthanc {
    fn start() -> Self {
        if !std::path::Path::new("/usr/share/orthanc/plugins/libOrthancDicomWeb.so").exists() {
            missing(
                "Orthanc's DICOMweb plugin (orthanc-dicomweb)",
                "tests/peers/install.sh",
            );
        }
        let o = Self {
            dir: tempfile::tempdir().expect("temp dir"),
            http: free_port(),
            dicom: free_port(),
        };
        let out = o.script("start");
        assert!(out.status.success(), "orthanc.sh start: {out:?}");
        o
    }

    fn script(&self, what: &str) -> std::process::Output {
        Command::new("bash")
            .arg(workspace_root().join("tests/peers/orthanc.sh"))
            .arg(what)
            .env("ORTHANC_DIR", self.dir.path())
            .env("ORTHANC_HTTP", self.http.to_string())
            .env("ORTHANC_DICOM", self.dicom.to_string())
            .env("ORTHANC_GDCM", "0")
            .output()
            .expect("bash runs")
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        request(
            method,
            &format!("http://127.0.0.1:{}{path}", self.http),
            None,
            &[("Content-Type", "application/json")],
            body.map(|b| b.to_string().into_bytes()),
        )
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let a = self.call(method, path, body);
        assert_eq!(a.status, 200, "Orthanc {method} {path}: {}", a.text());
        if a.body.is_empty() {
            Value::Null
        } else {
            a.json()
        }
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.script("stop");
    }
}

#[test]
fn orthanc_searches_retrieves_and_stores_through_one_server_entry() {
    let data = data_dir().join("real");
    let ct = data.join("CT_small.dcm");
    let mr = data.join("MR_small.dcm");
    let ct_study = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
    let server = Server::start(Backend::Sqlite);
    let a = stow(&server, &TENANT_A, "CT", &[std::fs::read(&ct).unwrap()]);
    assert_eq!(a.status, 200, "{}", a.text());
    let orthanc = Orthanc::start();
    // One entry: the one root, with the key as a header.
    orthanc.ok(
        "PUT",
        "/dicom-web/servers/pacs",
        Some(json!({
            "Url": server.url(&format!("/dicomweb/{}/", TENANT_A.ae)),
            "HttpHeaders": { "Authorization": TENANT_A.key },
        })),
    );
    // Search: no hits (Orthanc could not read an empty 204), then a hit.
    let none = orthanc.ok(
        "POST",
        "/dicom-web/servers/pacs/qido",
        Some(json!({ "Uri": "/studies", "Arguments": { "PatientID": "nobody" } })),
    );
    assert_eq!(none, json!([]), "{none}");
    let hits = orthanc.ok(
        "POST",
        "/dicom-web/servers/pacs/qido",
        Some(json!({ "Uri": "/studies" })),
    );
    assert_eq!(hits.as_array().map(Vec::len), Some(1), "{hits}");
    // Orthanc gives its own rendering of the answer: the value as a string.
    assert_eq!(hits[0]["0020000D"]["Value"], ct_study, "{hits}");
    // Retrieve the study from us into Orthanc.
    orthanc.ok(
        "POST",
        "/dicom-web/servers/pacs/retrieve",
        Some(json!({ "Resources": [ { "Study": ct_study } ] })),
    );
    let found = orthanc.ok(
        "POST",
        "/tools/find",
        Some(json!({ "Level": "Study", "Query": { "StudyInstanceUID": ct_study } })),
    );
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(1),
        "retrieved: {found}"
    );
    // Store a study of Orthanc's into us.
    let added = request(
        "POST",
        &format!("http://127.0.0.1:{}/instances", orthanc.http),
        None,
        &[("Content-Type", "application/dicom")],
        Some(std::fs::read(&mr).unwrap()),
    );
    assert_eq!(added.status, 200, "{}", added.text());
    let mr_study_id = added.json()["ParentStudy"].as_str().unwrap().to_owned();
    orthanc.ok(
        "POST",
        "/dicom-web/servers/pacs/stow",
        Some(json!({ "Resources": [ mr_study_id ] })),
    );
    let studies = qido(&server, &TENANT_A, "/studies?ModalitiesInStudy=MR");
    assert_eq!(studies.len(), 1, "stored through Orthanc: {studies:?}");
}
