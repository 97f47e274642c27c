//! The management APIs of the source document: count, deprecation (and
//! recovery), patients, studies, orders, studyInstances, with their events.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::*;

fn uid(a: &Answer) -> (String, String, String) {
    let r = &a.json()["00081199"]["Value"][0]["00081190"]["Value"][0];
    let url = r.as_str().expect("retrieve URL").to_owned();
    let parts: Vec<&str> = url.split('/').collect();
    let n = parts.len();
    (
        parts[n - 5].to_owned(),
        parts[n - 3].to_owned(),
        parts[n - 1].to_owned(),
    )
}

/// Stores a fresh copy of CT_small with new UIDs and the given changes.
fn store_new(
    server: &Server,
    data: &Path,
    aet: &str,
    changes: &[&str],
) -> (String, String, String, Vec<u8>) {
    let mut all = vec![
        "StudyInstanceUID=NEW",
        "SeriesInstanceUID=NEW",
        "SOPInstanceUID=NEW",
    ];
    all.extend_from_slice(changes);
    let bytes = variant(&data.join("real/CT_small.dcm"), &all);
    let a = stow(server, &TENANT_A, aet, std::slice::from_ref(&bytes));
    assert_eq!(a.status, 200, "{}", a.text());
    let (study, series, sop) = uid(&a);
    (study, series, sop, bytes)
}

fn count(server: &Server, query: &str) -> u64 {
    let a = get(&server.url(&format!("/studies/count{query}")), TENANT_A.key);
    assert_eq!(a.status, 200, "{query}: {}", a.text());
    a.json()["study_count"].as_u64().expect("study_count")
}

fn qido_count(server: &Server, path: &str) -> usize {
    let a = get(
        &server.url(&format!("/qido/{}{path}", TENANT_A.ae)),
        TENANT_A.key,
    );
    match a.status {
        204 => 0,
        200 => a.json().as_array().unwrap().len(),
        s => panic!("{path}: {s} {}", a.text()),
    }
}

#[test]
fn count_filters_match_the_bulk_manifest() {
    let data = data_dir();
    let dir = data.join("bulk-100-3-10");
    let text = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    for backend in backends() {
        let server = Server::start(backend);
        // Each instance is sent from the calling AET of its manifest row.
        for aet in ["MOD01", "MOD02", "MOD03", "MOD04"] {
            let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == aet).collect();
            for chunk in mine.chunks(20) {
                let parts: Vec<Vec<u8>> = chunk
                    .iter()
                    .map(|r| std::fs::read(dir.join(&r[0])).unwrap())
                    .collect();
                assert_eq!(stow(&server, &TENANT_A, aet, &parts).status, 200);
            }
        }
        assert_eq!(rows.iter().filter(|r| !r[1].starts_with("MOD0")).count(), 0);
        let studies = |f: &dyn Fn(&[String]) -> bool| -> BTreeSet<String> {
            rows.iter().filter(|r| f(r)).map(|r| r[4].clone()).collect()
        };
        let all = studies(&|_| true).len() as u64;
        assert_eq!(count(&server, ""), all);
        assert_eq!(
            count(&server, "?aet=MOD01"),
            studies(&|r| r[1] == "MOD01").len() as u64
        );
        assert_eq!(
            count(&server, "?aet=MOD01&aet=MOD02"),
            studies(&|r| r[1] == "MOD01" || r[1] == "MOD02").len() as u64
        );
        let with_mod03 = studies(&|r| r[1] == "MOD03");
        assert_eq!(
            count(&server, "?excludeAet=MOD03"),
            all - with_mod03.len() as u64
        );
        let station = rows[0][8].clone();
        let at_station = studies(&|r| r[8] == station);
        assert_eq!(
            count(&server, &format!("?stationName={station}")),
            at_station.len() as u64
        );
        assert_eq!(
            count(&server, &format!("?excludeStationName={station}")),
            all - at_station.len() as u64
        );
        assert_eq!(
            count(&server, &format!("?excludeStation={station}")),
            all - at_station.len() as u64
        );
        // Received today (UTC): all of them; from tomorrow: none.
        let today = chrono_today();
        assert_eq!(count(&server, &format!("?receivedAt={today}-")), all);
        assert_eq!(
            count(&server, &format!("?receivedAt=-{today}")),
            0,
            "to is exclusive"
        );
        assert_eq!(count(&server, "?receivedAt=20000101-20010101"), 0);
        // Sizes in KB, floor, inclusive.
        let mut sizes: std::collections::BTreeMap<String, u64> = Default::default();
        for r in &rows {
            *sizes.entry(r[4].clone()).or_default() +=
                std::fs::metadata(dir.join(&r[0])).unwrap().len();
        }
        let kb: Vec<u64> = sizes.values().map(|b| b / 1024).collect();
        let (lo, hi) = (kb[10].min(kb[20]), kb[10].max(kb[20]));
        let expected = kb.iter().filter(|k| **k >= lo && **k <= hi).count() as u64;
        assert_eq!(count(&server, &format!("?studySize={lo}-{hi}")), expected);
        assert_eq!(
            count(&server, &format!("?studySize={lo}-")),
            kb.iter().filter(|k| **k >= lo).count() as u64
        );
        assert_eq!(count(&server, &format!("?aet=MOD01&studySize={lo}-")), {
            let mod01 = studies(&|r| r[1] == "MOD01");
            sizes
                .iter()
                .filter(|(s, b)| mod01.contains(*s) && *b / 1024 >= lo)
                .count() as u64
        });
        for bad in [
            "?receivedAt=2021",
            "?receivedAt=20211301-",
            "?studySize=a-b",
            "?studySize=9-3",
            "?nope=1",
        ] {
            get(&server.url(&format!("/studies/count{bad}")), TENANT_A.key).assert_json_error(400);
        }
        // Another tenant counts nothing of tenant A.
        let b = get(&server.url("/studies/count"), TENANT_B.key);
        assert_eq!(b.json()["study_count"], 0);
    }
}

fn chrono_today() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y%m%d"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn deprecation_hides_keeps_and_recovers() {
    let data = data_dir();
    for backend in backends() {
        let server = Server::start(backend);
        let (study, series, sop, bytes) =
            store_new(&server, &data, "MOD01", &["AccessionNumber=ACC-DEP"]);
        let (other_study, ..) = store_new(&server, &data, "MOD01", &[]);
        assert_eq!(count(&server, ""), 2);
        let files = server.stored_files().len();
        let before = last_event(&server, &TENANT_A);

        let body =
            json!({"seriesInstanceUid": series, "author": "JaneDoe", "reason": "Wrong series"});
        let a = post_json(&server, "/series/deprecation", &TENANT_A, &body);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json()["message"], "deprecation successful");
        assert_eq!(a.json()["request"], body);
        // Hidden from count, QIDO, WADO, studyInstances; kept on disk.
        assert_eq!(count(&server, ""), 1);
        assert_eq!(
            qido_count(&server, &format!("/studies?StudyInstanceUID={study}")),
            0
        );
        assert_eq!(
            qido_count(&server, &format!("/instances?SOPInstanceUID={sop}")),
            0
        );
        get(
            &server.url(&format!(
                "/wado-rs/{}/studies/{study}/series/{series}",
                TENANT_A.ae
            )),
            TENANT_A.key,
        )
        .assert_json_error(404);
        get(
            &server.url(&format!("/studyInstances?studyUid={study}")),
            TENANT_A.key,
        )
        .assert_json_error(404);
        // Hidden from previews too (KOS: kos.rs).
        for q in [format!("seriesUID={series}"), format!("objectUID={sop}")] {
            get(&server.url(&format!("/preview?{q}")), TENANT_A.key).assert_json_error(404);
        }
        assert_eq!(server.stored_files().len(), files);
        let events = events_after(&server, &TENANT_A, before);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["eventType"], "SERIES_DEPRECATED");
        assert_eq!(events[0]["seriesInstanceUid"], series);
        assert_eq!(events[0]["details"]["author"], "JaneDoe");

        // Deprecated again: not found.
        post_json(&server, "/series/deprecation", &TENANT_A, &body).assert_json_error(404);
        // Recovery brings it back.
        let r = post_json(
            &server,
            "/series/recovery",
            &TENANT_A,
            &json!({"seriesInstanceUid": series, "author": "JaneDoe"}),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(count(&server, ""), 2);
        assert_eq!(
            qido_count(&server, &format!("/instances?SOPInstanceUID={sop}")),
            1
        );

        // Study deprecation by accession number; the same UIDs may be stored again.
        let a = post_json(
            &server,
            "/studies/deprecation",
            &TENANT_A,
            &json!({"accessionNumber": "ACC-DEP", "author": "A", "reason": "R"}),
        );
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json()["request"]["accessionNumber"], "ACC-DEP");
        assert_eq!(count(&server, ""), 1);
        let again = stow(&server, &TENANT_A, "MOD01", std::slice::from_ref(&bytes));
        assert_eq!(again.status, 200, "{}", again.text());
        assert_eq!(count(&server, ""), 2);
        // Now the deprecated copy cannot come back: live data has its UIDs.
        let r = post_json(
            &server,
            "/studies/recovery",
            &TENANT_A,
            &json!({"studyInstanceUid": study, "author": "A"}),
        );
        assert_eq!(r.assert_json_error(409), "live_data_exists");
        // Other studies are untouched.
        assert_eq!(
            qido_count(&server, &format!("/studies?StudyInstanceUID={other_study}")),
            1
        );
    }
}

#[test]
fn deprecation_errors_follow_the_source_document() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    let (_, s1, ..) = store_new(
        &server,
        &data,
        "MOD01",
        &["ContainerIdentifier=BC-1", "AccessionNumber=DUP"],
    );
    let (_, s2, ..) = store_new(
        &server,
        &data,
        "MOD01",
        &["ContainerIdentifier=BC-1", "AccessionNumber=DUP"],
    );
    assert_ne!(s1, s2);
    let before = last_event(&server, &TENANT_A);
    let series = |b: Value| post_json(&server, "/series/deprecation", &TENANT_A, &b);
    let study = |b: Value| post_json(&server, "/studies/deprecation", &TENANT_A, &b);
    for bad in [
        json!({"seriesInstanceUid": s1, "reason": "r"}),
        json!({"seriesInstanceUid": s1, "author": "a"}),
        json!({"author": "a", "reason": "r"}),
        json!({"seriesInstanceUid": s1, "containerIdentifier": "BC-1", "author": "a", "reason": "r"}),
        json!({"seriesInstanceUid": "1.02", "author": "a", "reason": "r"}),
        json!({"seriesInstanceUid": 12, "author": "a", "reason": "r"}),
        json!(["not", "an", "object"]),
    ] {
        let a = series(bad.clone());
        a.assert_json_error(400);
        assert!(
            a.json()["message"]
                .as_str()
                .unwrap()
                .contains("Invalid relocation request"),
            "{bad}: {}",
            a.text()
        );
    }
    let raw = request(
        "POST",
        &server.url("/series/deprecation"),
        Some(TENANT_A.key),
        &[],
        Some(b"{not json".to_vec()),
    );
    raw.assert_json_error(400);
    let a = series(json!({"seriesInstanceUid": "1.2.3.4", "author": "a", "reason": "r"}));
    a.assert_json_error(404);
    assert!(a.text().contains("Series not found"));
    let a = series(json!({"containerIdentifier": "BC-1", "author": "a", "reason": "r"}));
    assert_eq!(a.assert_json_error(409), "multiple_series");
    assert!(a.text().contains("Multiple series found"));
    let a = study(json!({"studyInstanceUid": "1.2.3.4", "author": "a", "reason": "r"}));
    a.assert_json_error(404);
    assert!(a.text().contains("Study not found"));
    let a = study(json!({"accessionNumber": "DUP", "author": "a", "reason": "r"}));
    assert_eq!(a.assert_json_error(409), "multiple_studies");
    assert!(a.text().contains("Multiple studies found"));
    // Refused requests leave no event.
    assert_eq!(last_event(&server, &TENANT_A), before);
}

#[test]
fn concurrent_deprecations_of_one_study_give_exactly_one_success() {
    let data = data_dir();
    for backend in backends() {
        let server = Server::start(backend);
        let (study, ..) = store_new(&server, &data, "MOD01", &[]);
        let url = server.url("/studies/deprecation");
        let body =
            json!({"studyInstanceUid": study, "author": "racer", "reason": "race"}).to_string();
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..50)
                .map(|_| {
                    let (url, body) = (url.clone(), body.clone());
                    s.spawn(move || {
                        request(
                            "POST",
                            &url,
                            Some(TENANT_A.key),
                            &[("Content-Type", "application/json")],
                            Some(body.into_bytes()),
                        )
                        .status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{backend:?}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [200, 404, 409].contains(s)),
            "{statuses:?}"
        );
        let deprecated = events_after(&server, &TENANT_A, 0)
            .iter()
            .filter(|e| e["eventType"] == "STUDY_DEPRECATED")
            .count();
        assert_eq!(deprecated, 1);
    }
}

#[test]
fn moving_a_study_changes_what_every_retrieval_says_but_not_the_file() {
    let data = data_dir();
    for backend in backends() {
        let server = Server::start(backend);
        let (study, series, sop, bytes) = store_new(
            &server,
            &data,
            "MOD01",
            &["PatientID=OLD-1", "PatientName=OLD^NAME"],
        );
        let stored_sha1 = sha1_hex(&bytes);
        let body = json!({"studyInstanceUid": study, "targetPatientID": "NEW-2", "patientName": "NEW^PATIENT",
                          "patientBirthDate": "19800101", "patientSex": "F", "userName": "operator"});
        let a = post_json(&server, "/studies/move", &TENANT_A, &body);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json()["patient"]["patientID"], "NEW-2");

        // QIDO, WADO-RS, WADO-URI and metadata all say the new patient.
        let q = get(
            &server.url(&format!(
                "/qido/{}/studies?StudyInstanceUID={study}",
                TENANT_A.ae
            )),
            TENANT_A.key,
        )
        .json();
        assert_eq!(q[0]["00100020"]["Value"][0], "NEW-2");
        assert_eq!(q[0]["00100010"]["Value"][0]["Alphabetic"], "NEW^PATIENT");
        let rs = get(
            &server.url(&format!(
                "/wado-rs/{}/studies/{study}/series/{series}/instances/{sop}",
                TENANT_A.ae
            )),
            TENANT_A.key,
        );
        let part = split_multipart(&rs.body, rs.header("content-type").unwrap()).remove(0);
        let uri = get(
            &server.url(&format!("/wado?requestType=WADO&studyUID={study}&seriesUID={series}&objectUID={sop}&contentType=application/dicom")),
            TENANT_A.key,
        );
        assert_eq!(uri.status, 200);
        assert_eq!(
            part, uri.body,
            "WADO-RS and WADO-URI return the same object"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("got.dcm");
        std::fs::write(&f, &part).unwrap();
        let dumped: Value =
            serde_json::from_str(&python("dump.py", &[f.to_str().unwrap()])).unwrap();
        assert_eq!(dumped["PatientID"], "NEW-2");
        assert_eq!(dumped["PatientName"], "NEW^PATIENT");
        assert_eq!(dumped["PatientBirthDate"], "19800101");
        assert_eq!(dumped["SOPInstanceUID"], sop);
        let original = dir.path().join("orig.dcm");
        std::fs::write(&original, &bytes).unwrap();
        let orig: Value =
            serde_json::from_str(&python("dump.py", &[original.to_str().unwrap()])).unwrap();
        assert_eq!(
            dumped["PixelDataSha1"], orig["PixelDataSha1"],
            "pixel data is the stored one"
        );
        let meta = get(
            &server.url(&format!(
                "/wado-rs/{}/studies/{study}/metadata",
                TENANT_A.ae
            )),
            TENANT_A.key,
        )
        .json();
        assert_eq!(meta[0]["00100020"]["Value"][0], "NEW-2");
        // The stored file is untouched.
        let on_disk: Vec<String> = server
            .stored_contents()
            .iter()
            .map(|b| sha1_hex(b))
            .collect();
        assert!(on_disk.contains(&stored_sha1), "the stored file changed");
        // The event says what happened.
        let e = events_after(&server, &TENANT_A, 0);
        let moved = e
            .iter()
            .find(|e| e["eventType"] == "STUDY_MOVED")
            .expect("STUDY_MOVED");
        assert_eq!(moved["patientId"], "NEW-2");
        assert_eq!(moved["details"]["sourcePatientId"], "OLD-1");
        // Errors.
        let mut missing = body.clone();
        missing.as_object_mut().unwrap().remove("userName");
        post_json(&server, "/studies/move", &TENANT_A, &missing).assert_json_error(400);
        let mut unknown = body.clone();
        unknown["studyInstanceUid"] = json!("1.2.3.4.5");
        post_json(&server, "/studies/move", &TENANT_A, &unknown).assert_json_error(404);
    }
}

#[test]
fn nul_characters_are_refused_with_400_on_both_engines() {
    for backend in backends() {
        let server = Server::start(backend);
        let body = json!({"patientID": "P1", "patientName": "a\u{0}b", "userName": "u"});
        let a = post_json(&server, "/patients/create", &TENANT_A, &body);
        a.assert_json_error(400);
        assert!(
            a.json()["message"]
                .as_str()
                .unwrap()
                .contains("patientName")
        );
        let body = json!({"containerIdentifier": "a\u{0}", "userName": "u"});
        post_json(&server, "/series/deprecation", &TENANT_A, &body).assert_json_error(400);
        for path in [
            format!("/qido/{}/studies?PatientName=a%00b", TENANT_A.ae),
            "/studies/count?aet=a%00b".to_owned(),
        ] {
            get(&server.url(&path), TENANT_A.key).assert_json_error(400);
        }
        // Nothing was created.
        assert_eq!(count(&server, ""), 0);
    }
}
