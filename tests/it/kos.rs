//! Key Object Selection manifests: generated and stored, checked with dciodvfy
//! and against highdicom's reference manifests (tests/data).

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
    let data = data_dir();
    for backend in backends() {
        let server = Server::start(backend);
        // CT_small alone, as the reference kos-ct_small.dcm.
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
        let errors = dciodvfy_errors(&a.body);
        assert!(errors.is_empty(), "dciodvfy: {errors:?}");

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
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    let mut all = Vec::new();
    for f in ["CT_small.dcm", "test-SR.dcm"] {
        let bytes = variant(
            &data.join("real").join(f),
            &[
                "StudyInstanceUID=2.25.777",
                "SeriesInstanceUID=NEW",
                "SOPInstanceUID=NEW",
                // One patient: an instance of another could not join the study.
                "PatientID=KOS-1",
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
    let errors = dciodvfy_errors(&part);
    assert!(errors.is_empty(), "dciodvfy: {errors:?}");
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
    let data = data_dir();
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

/// URLs the archive hands out or stores come from `server.public_url` (or the
/// bound address), never from the client's `Host`, `X-Forwarded-Host` or
/// `Forwarded` headers.
#[test]
fn retrieve_urls_never_follow_request_headers() {
    let data = data_dir();
    let forged: &[(&str, &str)] = &[
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Proto", "https"),
        ("Forwarded", "host=evil.example;proto=https"),
    ];
    for public in [None, Some("https://pacs.hospital.example/archive")] {
        let server = Server::start_with(
            Backend::Sqlite,
            Options {
                env: public
                    .map(|p| vec![("PACS__SERVER__PUBLIC_URL".to_owned(), format!("{p}/"))])
                    .unwrap_or_default(),
                ..Options::default()
            },
        );
        let base = public.map_or(server.base.clone(), str::to_owned);
        let root = format!("{base}/o3-dpacs-wado/wado-rs/{}", TENANT_A.ae);
        // STOW response.
        let bytes = variant(
            &data.join("real/CT_small.dcm"),
            &[
                "StudyInstanceUID=2.25.9191",
                "SeriesInstanceUID=NEW",
                "SOPInstanceUID=NEW",
            ],
        );
        let (body, ct) = multipart_related(&[bytes]);
        let mut headers = vec![
            ("Content-Type", ct.as_str()),
            ("Accept", "application/dicom+json"),
        ];
        headers.extend_from_slice(forged);
        let a = request(
            "POST",
            &server.url("/stowRsListener/MOD01/studies"),
            Some(TENANT_A.key),
            &headers,
            Some(body),
        );
        assert_eq!(a.status, 200, "{}", a.text());
        let url = a.json()["00081199"]["Value"][0]["00081190"]["Value"][0]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(url.starts_with(&root), "{url} does not start with {root}");
        // QIDO answer.
        let q = request(
            "GET",
            &server.url(&format!(
                "/qido/{}/studies?StudyInstanceUID=2.25.9191",
                TENANT_A.ae
            )),
            Some(TENANT_A.key),
            forged,
            None,
        );
        assert!(
            q.text().contains(&root) && !q.text().contains("evil"),
            "{}",
            q.text()
        );
        // The stored KOS.
        let mut headers = vec![("Content-Type", "application/json")];
        headers.extend_from_slice(forged);
        let k = request(
            "POST",
            &server.url("/studies/createKos"),
            Some(TENANT_A.key),
            &headers,
            Some(
                json!({"studyInstanceUid": "2.25.9191", "callingAE": "NGV"})
                    .to_string()
                    .into_bytes(),
            ),
        );
        assert_eq!(k.status, 200, "{}", k.text());
        let sop = k.json()["sopInstanceUid"].as_str().unwrap().to_owned();
        let hit = qido(
            &server,
            &TENANT_A,
            &format!("/instances?SOPInstanceUID={sop}"),
        );
        let kos_url = hit[0]["00081190"]["Value"][0].as_str().unwrap();
        let got = get(kos_url.replace(&base, &server.base).as_str(), TENANT_A.key);
        let stored = split_multipart(&got.body, got.header("content-type").unwrap()).remove(0);
        let text = String::from_utf8_lossy(&stored);
        assert!(!text.contains("evil"), "the stored KOS names a forged host");
        assert!(text.contains(&root), "the stored KOS names {root}");
    }
}
