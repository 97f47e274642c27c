//! Relocation interrupted: the S3 server stopped, or `pacs` SIGKILLed, in the
//! middle of copying a study. Afterwards every instance is served with its
//! original bytes, every row of the study names one medium, and the next
//! attempt completes, leaving exactly one copy of each object.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::buckets::{bucket_toml, bulk_study, stow_all};
use crate::support::*;

/// The media the study's rows name.
fn media_of(server: &Server, study: &str) -> BTreeSet<String> {
    server
        .sql(&format!(
            "SELECT DISTINCT i.medium FROM instances i JOIN series s ON i.series_fk = s.id \
             JOIN studies t ON s.study_fk = t.id WHERE t.study_uid = '{study}'"
        ))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn archive_files(server: &Server) -> usize {
    server.stored_files().len()
}

/// Every instance comes back as it was stored.
fn assert_all_served(server: &Server, uids: &[[String; 3]], bytes: &[Vec<u8>], when: &str) {
    let wanted: BTreeSet<String> = bytes.iter().map(|b| sha1_hex(b)).collect();
    let served: BTreeSet<String> = uids
        .iter()
        .map(|[st, se, sop]| sha1_hex(&retrieve_instance(server, &TENANT_A, st, se, sop)))
        .collect();
    assert_eq!(served, wanted, "{when}: every instance byte-identical");
}

/// Sends `body` to the relocation API on another thread; its answer's status
/// (None: the connection broke, as when the server is killed).
fn relocation_call(url: String, body: serde_json::Value) -> std::thread::JoinHandle<Option<u16>> {
    std::thread::spawn(move || {
        try_request(
            "POST",
            &url,
            Some(TENANT_A.key),
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
        .ok()
        .map(|a| a.status)
    })
}

/// Starts a relocation of `study` to `bucket_name` on another thread and
/// calls `interrupt` as soon as the first object has reached `bucket` on
/// `endpoint`; returns the answer's status (None: the connection broke) and
/// whether the interruption came before the relocation ended.
fn relocate_and_interrupt(
    url: String,
    study: &str,
    endpoint: &str,
    bucket: &str,
    interrupt: impl FnOnce(),
) -> (Option<u16>, bool) {
    let body = json!({"studyInstanceUid": study, "bucketName": "cold", "author": "faults"});
    let call = relocation_call(url, body);
    let deadline = Instant::now() + Duration::from_secs(60);
    while bucket_keys(endpoint, bucket).is_empty() && !call.is_finished() {
        assert!(Instant::now() < deadline, "no object reached the bucket");
        std::thread::sleep(Duration::from_millis(5));
    }
    let midway = !call.is_finished();
    interrupt();
    (call.join().expect("relocation thread"), midway)
}

fn relocate_to_cold(server: &Server, study: &str) -> Answer {
    post_json(
        server,
        "/studies/relocation",
        &TENANT_A,
        &json!({"studyInstanceUid": study, "bucketName": "cold", "author": "faults"}),
    )
}

#[test]
fn the_s3_server_stopping_midway_leaves_the_study_where_it_was() {
    let data = data_dir();
    for backend in backends() {
        let s3 = PrivateS3::start();
        let bucket = format!("faults-{}", std::process::id());
        create_bucket(&s3.endpoint, &bucket);
        let server = Server::start_with(
            backend,
            Options {
                extra_toml: bucket_toml("cold", &s3.endpoint, &bucket),
                default_medium: Some("local".into()),
                ..Options::default()
            },
        );
        let mut caught = false;
        for n in 0..3 {
            let bytes = bulk_study(&data, n);
            let uids = stow_all(&server, &bytes);
            let study = uids[0][0].clone();
            let before = archive_files(&server);
            let (status, midway) = relocate_and_interrupt(
                server.url("/studies/relocation"),
                &study,
                &s3.endpoint,
                &bucket,
                || s3.stop(),
            );
            if !midway {
                // Too fast to interrupt: the bucket (gone with moto) held it.
                s3.restart();
                create_bucket(&s3.endpoint, &bucket);
                continue;
            }
            caught = true;
            assert_eq!(status, Some(409), "{backend:?}: Bucket error");
            assert_eq!(media_of(&server, &study), BTreeSet::from(["local".into()]));
            assert_eq!(archive_files(&server), before, "old copies kept");
            assert_all_served(&server, &uids, &bytes, "after the S3 server stopped");

            // Unreachable: refused up front, as the source document's "Bucket error".
            let refused = relocate_to_cold(&server, &study);
            assert_eq!(refused.assert_json_error(409), "bucket_error");

            s3.restart();
            create_bucket(&s3.endpoint, &bucket);
            let done = relocate_to_cold(&server, &study);
            assert_eq!(done.status, 200, "{}", done.text());
            assert_eq!(media_of(&server, &study), BTreeSet::from(["cold".into()]));
            assert_eq!(bucket_keys(&s3.endpoint, &bucket).len(), uids.len());
            assert_eq!(archive_files(&server), before - uids.len());
            assert_all_served(&server, &uids, &bytes, "from the bucket");
            break;
        }
        assert!(
            caught,
            "{backend:?}: no relocation could be interrupted midway"
        );
    }
}

#[test]
fn pacs_killed_midway_keeps_the_study_and_the_next_attempt_completes() {
    let data = data_dir();
    for backend in backends() {
        let bucket = format!("killed-{}-{backend:?}", std::process::id()).to_lowercase();
        let endpoint = s3_bucket(&bucket);
        let mut server = Server::start_with(
            backend,
            Options {
                extra_toml: bucket_toml("cold", &endpoint, &bucket),
                default_medium: Some("local".into()),
                ..Options::default()
            },
        );
        let mut caught = false;
        for n in 3..6 {
            let bytes = bulk_study(&data, n);
            let uids = stow_all(&server, &bytes);
            let study = uids[0][0].clone();
            let before = archive_files(&server);
            let keys_before = bucket_keys(&endpoint, &bucket).len();
            let url = server.url("/studies/relocation");
            let (_, midway) =
                relocate_and_interrupt(url, &study, &endpoint, &bucket, || server.kill());
            server.restart();
            if !midway {
                continue;
            }
            caught = true;
            assert_eq!(media_of(&server, &study), BTreeSet::from(["local".into()]));
            assert_eq!(archive_files(&server), before, "old copies kept");
            assert_all_served(&server, &uids, &bytes, "after the kill");

            let done = relocate_to_cold(&server, &study);
            assert_eq!(done.status, 200, "{}", done.text());
            assert_eq!(media_of(&server, &study), BTreeSet::from(["cold".into()]));
            assert_eq!(
                bucket_keys(&endpoint, &bucket).len(),
                keys_before + uids.len(),
                "one copy of each object in the bucket"
            );
            assert_eq!(archive_files(&server), before - uids.len());
            assert_all_served(&server, &uids, &bytes, "from the bucket");

            // And back, killed as soon as the first file reaches the disk.
            let back = json!({"studyInstanceUid": study, "physicalMediumName": "local", "author": "faults"});
            let url = server.url("/studies/relocation");
            let call = relocation_call(url, back);
            let deadline = Instant::now() + Duration::from_secs(60);
            while archive_files(&server) == before - uids.len() && !call.is_finished() {
                assert!(Instant::now() < deadline, "nothing reached the disk");
                std::thread::sleep(Duration::from_millis(2));
            }
            server.kill();
            let _ = call.join();
            server.restart();
            let media = media_of(&server, &study);
            assert_eq!(media.len(), 1, "one medium for the whole study: {media:?}");
            assert_all_served(&server, &uids, &bytes, "after the second kill");
            let back = json!({"studyInstanceUid": study, "physicalMediumName": "local", "author": "faults"});
            let done = post_json(&server, "/studies/relocation", &TENANT_A, &back);
            assert_eq!(done.status, 200, "{}", done.text());
            assert_eq!(media_of(&server, &study), BTreeSet::from(["local".into()]));
            assert_eq!(archive_files(&server), before, "one copy of each on disk");
            assert_eq!(bucket_keys(&endpoint, &bucket).len(), keys_before);
            assert_all_served(&server, &uids, &bytes, "back on disk");
            break;
        }
        assert!(
            caught,
            "{backend:?}: no relocation could be interrupted midway"
        );
    }
}
