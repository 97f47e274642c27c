//! Key Object Selection manifests: generated and stored, checked with dciodvfy
//! and against highdicom's reference manifests of the lab.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

fn refs(bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k.dcm");
    std::fs::write(&f, bytes).unwrap();
    serde_json::from_str(&python("kos_refs.py", &[f.to_str().unwrap()])).unwrap()
}

fn get_kos(server: &Server, study: &str) -> Answer {
    get(
        &server.url(&format!("/studies/kos?studyUid={study}")),
        TENANT_A.key,
    )
}

fn reference_refs(path: &Path) -> Value {
    refs(&std::fs::read(path).unwrap())
}

#[test]
fn generated_manifests_pass_dciodvfy_and_match_highdicom() {
    let Some(data) = data_dir() else { return };
    for backend in backends() {
        let server = Server::start(backend);
        // CT_small alone, as the lab's reference kos-ct_small.dcm.
        let ct = std::fs::read(data.join("real/CT_small.dcm")).unwrap();
        assert_eq!(stow(&server, &TENANT_A, "MOD01", &[ct]).status, 200);
        let want = reference_refs(&data.join("kos/kos-ct_small.dcm"));
        let study = want["study"].as_str().unwrap().to_owned();
        let a = get_kos(&server, &study);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.header("content-type"), Some("application/dicom"));
        let got = refs(&a.body);
        assert_eq!(
            got["evidence"], want["evidence"],
            "same references as highdicom's manifest"
        );
        assert_eq!(got["sop_class"], "1.2.840.10008.5.1.4.1.1.88.59");
        assert_eq!(got["title"], json!(["113030", "DCM", "Manifest"]));
        assert_eq!(got["modality"], "KO");
        let disposition = a.header("content-disposition").unwrap();
        assert_eq!(
            disposition,
            format!("attachment; filename=\"{}\"", got["sop"].as_str().unwrap())
        );
        let series = got["evidence"][0][0].as_str().unwrap();
        let (ae, url) = (
            &got["retrieve"][series][0],
            got["retrieve"][series][1].as_str().unwrap(),
        );
        assert_eq!(ae, TENANT_A.ae);
        assert!(
            url.ends_with(&format!(
                "/wado-rs/{}/studies/{study}/series/{series}",
                TENANT_A.ae
            )),
            "{url}"
        );
        if let Some(errors) = dciodvfy_errors(&a.body) {
            assert!(errors.is_empty(), "dciodvfy: {errors:?}");
        }

        // The first five instances of bulk study 0, as kos-bulk-study0.dcm.
        let dir = data.join("bulk-100-3-10");
        let mut files: Vec<_> = files_under(&dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("/000000/"))
            .collect();
        files.sort();
        let parts: Vec<Vec<u8>> = files
            .iter()
            .take(5)
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        assert_eq!(stow(&server, &TENANT_A, "MOD01", &parts).status, 200);
        let want = reference_refs(&data.join("kos/kos-bulk-study0.dcm"));
        let got = refs(&get_kos(&server, want["study"].as_str().unwrap()).body);
        assert_eq!(got["evidence"], want["evidence"]);
        assert_eq!(got["content"].as_array().unwrap().len(), 5);
    }
}

#[test]
fn create_kos_stores_a_manifest_in_a_new_series() {
    let Some(data) = data_dir() else { return };
    let server = Server::start(Backend::Sqlite);
    let mut all = Vec::new();
    for f in ["CT_small.dcm", "test-SR.dcm"] {
        let bytes = variant(
            &data.join("real").join(f),
            &[
                "StudyInstanceUID=2.25.777",
                "SeriesInstanceUID=NEW",
                "SOPInstanceUID=NEW",
            ],
        );
        all.push(bytes);
    }
    assert_eq!(stow(&server, &TENANT_A, "MOD01", &all).status, 200);
    let before = last_event(&server, &TENANT_A);
    let a = post_json(
        &server,
        "/studies/createKos",
        &TENANT_A,
        &json!({"studyInstanceUid": "2.25.777", "callingAE": "NGV"}),
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["success"], true);
    let sop = a.json()["sopInstanceUid"].as_str().unwrap().to_owned();
    // Visible like any instance, in a KO series of the study.
    let q = get(
        &server.url(&format!(
            "/qido/{}/instances?SOPInstanceUID={sop}",
            TENANT_A.ae
        )),
        TENANT_A.key,
    );
    assert_eq!(q.status, 200, "{}", q.text());
    let hit = &q.json()[0];
    assert_eq!(hit["00080016"]["Value"][0], "1.2.840.10008.5.1.4.1.1.88.59");
    assert_eq!(hit["00080060"]["Value"][0], "KO");
    assert_eq!(
        hit["00201206"]["Value"][0], 3,
        "the study now has a third series"
    );
    let events = events_after(&server, &TENANT_A, before);
    assert!(
        events
            .iter()
            .any(|e| e["eventType"] == "KOS_STORED"
                && e["details"]["sopInstanceUid"] == sop.as_str())
    );
    // The stored manifest is the one retrieved, and passes dciodvfy; the SR is a COMPOSITE reference.
    let url = hit["00081190"]["Value"][0].as_str().unwrap();
    let got = request("GET", url, Some(TENANT_A.key), &[], None);
    let part = split_multipart(&got.body, got.header("content-type").unwrap()).remove(0);
    let r = refs(&part);
    assert_eq!(r["evidence"].as_array().unwrap().len(), 2);
    let kinds: Vec<&str> = r["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"IMAGE") && kinds.contains(&"COMPOSITE"),
        "{kinds:?}"
    );
    if let Some(errors) = dciodvfy_errors(&part) {
        assert!(errors.is_empty(), "dciodvfy: {errors:?}");
    }
    // A second manifest does not list the first.
    let again = post_json(
        &server,
        "/studies/createKos",
        &TENANT_A,
        &json!({"studyInstanceUid": "2.25.777", "callingAE": "NGV"}),
    );
    assert_eq!(again.json()["success"], true);
    let generated = refs(&get_kos(&server, "2.25.777").body);
    assert_eq!(generated["evidence"].as_array().unwrap().len(), 2);
    // The source document's error codes.
    let e = post_json(
        &server,
        "/studies/createKos",
        &TENANT_A,
        &json!({"studyInstanceUid": "1.2.3.4", "callingAE": "NGV"}),
    );
    assert_eq!(
        (e.status, e.json()),
        (
            404,
            json!({"success": false, "errorCode": "STUDY_NOT_FOUND"})
        )
    );
    let e = request(
        "POST",
        &server.url("/studies/createKos"),
        Some(TENANT_A.key),
        &[("Content-Type", "application/json")],
        Some(b"{oops".to_vec()),
    );
    assert_eq!(
        (e.status, e.json()),
        (
            400,
            json!({"success": false, "errorCode": "MALFORMED_JSON"})
        )
    );
    let e = post_json(
        &server,
        "/studies/createKos",
        &TENANT_A,
        &json!({"callingAE": "NGV"}),
    );
    assert_eq!(e.json()["errorCode"], "MALFORMED_JSON");
    get_kos(&server, "1.2.3.4").assert_json_error(404);
    get(&server.url("/studies/kos"), TENANT_A.key).assert_json_error(400);
}

#[test]
fn manifests_follow_deprecation_and_corrections() {
    let Some(data) = data_dir() else { return };
    let server = Server::start(Backend::Sqlite);
    let study = "2.25.888";
    let keep = variant(
        &data.join("real/CT_small.dcm"),
        &[
            &format!("StudyInstanceUID={study}"),
            "SeriesInstanceUID=2.25.8881",
            "SOPInstanceUID=NEW",
            "PatientID=OLD",
        ],
    );
    let drop = variant(
        &data.join("real/MR_small.dcm"),
        &[
            &format!("StudyInstanceUID={study}"),
            "SeriesInstanceUID=2.25.8882",
            "SOPInstanceUID=NEW",
            "PatientID=OLD",
        ],
    );
    assert_eq!(stow(&server, &TENANT_A, "MOD01", &[keep, drop]).status, 200);
    let dep = post_json(
        &server,
        "/series/deprecation",
        &TENANT_A,
        &json!({"seriesInstanceUid": "2.25.8882", "author": "a", "reason": "r"}),
    );
    assert_eq!(dep.status, 200);
    let mv = post_json(
        &server,
        "/studies/move",
        &TENANT_A,
        &json!({"studyInstanceUid": study, "targetPatientID": "NEW", "patientName": "N^EW", "userName": "u"}),
    );
    assert_eq!(mv.status, 200);
    let r = refs(&get_kos(&server, study).body);
    let series: Vec<&str> = r["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[0].as_str().unwrap())
        .collect();
    assert_eq!(
        series,
        vec!["2.25.8881"],
        "the deprecated series is not referenced"
    );
    assert_eq!(
        r["patient_id"], "NEW",
        "patient values come from the database"
    );
}
