//! `POST /studies/relocation` (source document "Study relocation API"): a study's
//! objects move to another physical medium and are served from there, byte for
//! byte; every refused request changes nothing.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::*;

/// A server with a second physical medium, "offline", under `second`.
fn start(backend: Backend, second: &Path) -> Server {
    Server::start_with(
        backend,
        Options {
            extra_toml: format!(
                "[[storage.media]]\nname = \"offline\"\npath = \"{}\"\n",
                second.display()
            ),
            // Relocation between physical media: the filesystem default.
            default_medium: Some("local".into()),
            ..Options::default()
        },
    )
}

/// Stores `n` instances of one new study (accession `acc`); returns the study
/// UID and each instance's (series, SOP, bytes).
fn store_study(
    server: &Server,
    data: &Path,
    acc: &str,
    n: usize,
) -> (String, Vec<(String, String, Vec<u8>)>) {
    let study = variant(
        &data.join("real/CT_small.dcm"),
        &[
            "StudyInstanceUID=NEW",
            "SeriesInstanceUID=NEW",
            "SOPInstanceUID=NEW",
        ],
    );
    let dumped: Value = {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.dcm");
        std::fs::write(&f, &study).unwrap();
        serde_json::from_str(&python("dump.py", &[f.to_str().unwrap()])).unwrap()
    };
    let study_uid = dumped["StudyInstanceUID"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    for i in 0..n {
        let bytes = variant(
            &data.join("real/CT_small.dcm"),
            &[
                &format!("StudyInstanceUID={study_uid}"),
                "SeriesInstanceUID=NEW",
                "SOPInstanceUID=NEW",
                &format!("AccessionNumber={acc}"),
                &format!("InstanceNumber={}", i + 1),
            ],
        );
        let a = stow(server, &TENANT_A, "RELOC", std::slice::from_ref(&bytes));
        assert_eq!(a.status, 200, "{}", a.text());
        let url = a.json()["00081199"]["Value"][0]["00081190"]["Value"][0]
            .as_str()
            .expect("retrieve URL")
            .to_owned();
        let parts: Vec<&str> = url.split('/').collect();
        let k = parts.len();
        out.push((parts[k - 3].to_owned(), parts[k - 1].to_owned(), bytes));
    }
    (study_uid, out)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == ".staging"))
        .collect()
}

fn relocate(server: &Server, body: &Value) -> Answer {
    post_json(server, "/studies/relocation", &TENANT_A, body)
}

fn retrieve(server: &Server, study: &str, series: &str, sop: &str) -> Vec<u8> {
    retrieve_instance(server, &TENANT_A, study, series, sop)
}

#[test]
fn relocation_moves_every_object_and_serves_it_from_the_new_medium() {
    let data = data_dir();
    for backend in backends() {
        let second = tempfile::tempdir().unwrap();
        let server = start(backend, second.path());
        let (study, instances) = store_study(&server, &data, "RELOC-ACC-1", 3);
        let archive = server.dir.path().join("archive");
        let before = files(&archive);
        assert_eq!(before.len(), 3, "{before:?}");
        assert!(files(second.path()).is_empty());
        let events = last_event(&server, &TENANT_A);

        let body = json!({"studyInstanceUid": study, "physicalMediumName": "offline", "author": "JaneDoe"});
        let a = relocate(&server, &body);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json()["message"], "relocation successful");
        assert_eq!(a.json()["request"], body, "the request is echoed");

        // The objects are on the new medium, with the same bytes, and gone from the old.
        let moved = files(second.path());
        assert_eq!(moved.len(), 3, "{moved:?}");
        assert!(files(&archive).is_empty(), "old copies removed");
        let mut stored: Vec<String> = moved
            .iter()
            .map(|p| sha1_hex(&std::fs::read(p).unwrap()))
            .collect();
        let mut sent: Vec<String> = instances.iter().map(|i| sha1_hex(&i.2)).collect();
        stored.sort();
        sent.sort();
        assert_eq!(stored, sent, "files are byte-identical copies");
        for (series, sop, bytes) in &instances {
            assert_eq!(&retrieve(&server, &study, series, sop), bytes);
        }
        // One relocation event, naming the study, the author and the medium.
        let new_events = events_after(&server, &TENANT_A, events);
        assert_eq!(new_events.len(), 1, "{new_events:?}");
        let e = &new_events[0];
        assert_eq!(e["eventType"], "STUDY_RELOCATED", "{e}");
        assert_eq!(e["studyInstanceUid"], study.as_str(), "{e}");
        assert!(
            e.to_string().contains("offline") && e.to_string().contains("JaneDoe"),
            "{e}"
        );

        // Again to the same medium: nothing to copy, nothing changes.
        let a = relocate(&server, &body);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(files(second.path()).len(), 3);
        assert_eq!(last_event(&server, &TENANT_A), e["id"].as_i64().unwrap());

        // Back by accession number; a new instance stored meanwhile goes to the default medium.
        let (_, more) = store_study(&server, &data, "RELOC-ACC-2", 1);
        let a = relocate(
            &server,
            &json!({"accessionNumber": "RELOC-ACC-1", "physicalMediumName": "local", "author": "JaneDoe"}),
        );
        assert_eq!(a.status, 200, "{}", a.text());
        assert!(files(second.path()).is_empty());
        assert_eq!(files(&archive).len(), 4);
        for (series, sop, bytes) in &instances {
            assert_eq!(&retrieve(&server, &study, series, sop), bytes);
        }
        assert_eq!(more.len(), 1);
    }
}

#[test]
fn refused_relocations_change_nothing() {
    let data = data_dir();
    for backend in backends() {
        let second = tempfile::tempdir().unwrap();
        let server = start(backend, second.path());
        let (study, _) = store_study(&server, &data, "RELOC-DUP", 1);
        let (other, _) = store_study(&server, &data, "RELOC-DUP", 1);
        assert_ne!(study, other);
        let archive = server.dir.path().join("archive");
        let events = last_event(&server, &TENANT_A);
        let cases: Vec<(Value, u16, &str)> = vec![
            (
                json!({"studyInstanceUid": study, "physicalMediumName": "offline"}),
                400,
                "author",
            ),
            (
                json!({"physicalMediumName": "offline", "author": "x"}),
                400,
                "studyInstanceUid",
            ),
            (
                json!({"studyInstanceUid": study, "accessionNumber": "A", "physicalMediumName": "offline", "author": "x"}),
                400,
                "not both",
            ),
            (
                json!({"studyInstanceUid": study, "author": "x"}),
                400,
                "physicalMediumName",
            ),
            (
                json!({"studyInstanceUid": study, "bucketName": "b", "physicalMediumName": "offline", "author": "x"}),
                400,
                "not both",
            ),
            (
                json!({"studyInstanceUid": "1.2.03", "physicalMediumName": "offline", "author": "x"}),
                400,
                "studyInstanceUid",
            ),
            (
                json!({"studyInstanceUid": 12, "physicalMediumName": "offline", "author": "x"}),
                400,
                "",
            ),
            (
                json!({"studyInstanceUid": study, "physicalMediumName": "nowhere", "author": "x"}),
                404,
                "Physical medium not found",
            ),
            (
                json!({"studyInstanceUid": "1.2.3.999", "physicalMediumName": "offline", "author": "x"}),
                404,
                "Study not found",
            ),
            (
                json!({"accessionNumber": "RELOC-DUP", "physicalMediumName": "offline", "author": "x"}),
                409,
                "Multiple studies found",
            ),
            (
                json!({"studyInstanceUid": study, "bucketName": "online-bucket", "author": "x"}),
                409,
                "Bucket error",
            ),
        ];
        for (body, status, needle) in cases {
            let a = relocate(&server, &body);
            a.assert_json_error(status);
            let message = a.json()["message"].as_str().unwrap_or_default().to_owned();
            assert!(message.contains(needle), "{body}: {message}");
        }
        // Another tenant cannot see the study.
        let a = post_json(
            &server,
            "/studies/relocation",
            &TENANT_B,
            &json!({"studyInstanceUid": study, "physicalMediumName": "offline", "author": "x"}),
        );
        a.assert_json_error(404);
        assert_eq!(files(&archive).len(), 2);
        assert!(files(second.path()).is_empty());
        assert_eq!(last_event(&server, &TENANT_A), events, "no event");
    }
}

/// A server whose buckets `online-bucket` and `other-bucket` are buckets of
/// the run's S3 server (moto).
fn start_with_buckets(backend: Backend, tag: &str) -> Server {
    let mut toml = String::new();
    for name in ["online-bucket", "other-bucket"] {
        let bucket = format!("{name}-{tag}-{}", std::process::id());
        let endpoint = s3_bucket(&bucket);
        toml.push_str(&format!(
            "[[storage.buckets]]\nname = \"{name}\"\nendpoint = \"{endpoint}\"\n\
             region = \"us-east-1\"\nbucket = \"{bucket}\"\naccess_key = \"pacs-test\"\n\
             secret_key = \"pacs-test-secret\"\npath_style = true\n"
        ));
    }
    Server::start_with(
        backend,
        Options {
            extra_toml: toml,
            default_medium: Some("local".into()),
            ..Options::default()
        },
    )
}

#[test]
fn a_study_moves_to_a_bucket_and_back_byte_identical() {
    let data = data_dir();
    for backend in backends() {
        let server = start_with_buckets(backend, &format!("{backend:?}").to_lowercase());
        let (study, instances) = store_study(&server, &data, "BUCKET-ACC-1", 3);
        let archive = server.dir.path().join("archive");
        assert_eq!(files(&archive).len(), 3);
        let events = last_event(&server, &TENANT_A);

        let body =
            json!({"studyInstanceUid": study, "bucketName": "online-bucket", "author": "JaneDoe"});
        let a = relocate(&server, &body);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(a.json()["request"], body, "the request is echoed");
        assert!(files(&archive).is_empty(), "old copies removed");
        for (series, sop, bytes) in &instances {
            assert_eq!(
                &retrieve(&server, &study, series, sop),
                bytes,
                "{backend:?}"
            );
        }
        let new_events = events_after(&server, &TENANT_A, events);
        assert_eq!(new_events.len(), 1, "{new_events:?}");
        assert!(new_events[0].to_string().contains("online-bucket"));

        // Bucket to bucket is refused; a bucket is not a physical medium.
        let to_other =
            json!({"studyInstanceUid": study, "bucketName": "other-bucket", "author": "x"});
        let refused = relocate(&server, &to_other);
        assert_eq!(refused.assert_json_error(409), "relocation_not_supported");
        assert!(
            refused.json()["message"]
                .as_str()
                .unwrap()
                .contains("Relocation not supported")
        );
        let as_medium = json!({"studyInstanceUid": study, "physicalMediumName": "online-bucket", "author": "x"});
        relocate(&server, &as_medium).assert_json_error(404);

        // Back to the filesystem, byte for byte.
        let back = json!({"accessionNumber": "BUCKET-ACC-1", "physicalMediumName": "local", "author": "JaneDoe"});
        let a = relocate(&server, &back);
        assert_eq!(a.status, 200, "{}", a.text());
        assert_eq!(files(&archive).len(), 3);
        for (series, sop, bytes) in &instances {
            assert_eq!(
                &retrieve(&server, &study, series, sop),
                bytes,
                "{backend:?}"
            );
        }
    }
}
