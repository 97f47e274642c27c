//! A bucket as the default medium, and the bucket going away: `/readyz` names
//! it, stores fail with a 503 JSON error and leave nothing behind, and what was
//! stored before is served again once the bucket is back.

use std::path::Path;

use crate::support::*;

/// The instances of the `n`th study of the bulk set (100 studies of 30 files).
pub fn bulk_study(data: &Path, n: usize) -> Vec<Vec<u8>> {
    let root = data.join("bulk-100-3-10");
    let sorted = |dir: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|_| missing("the bulk set", "tests/data/make-data.sh"))
            .flatten()
            .map(|e| e.path())
            .collect();
        v.sort();
        v
    };
    let studies: Vec<_> = sorted(&root)
        .into_iter()
        .filter(|m| m.is_dir())
        .flat_map(|m| sorted(&m))
        .filter(|s| s.is_dir())
        .collect();
    sorted(&studies[n])
        .iter()
        .flat_map(|series| sorted(series))
        .map(|f| std::fs::read(f).expect("bulk file"))
        .collect()
}

/// Stores `parts` in one STOW-RS request; returns each instance's (study,
/// series, SOP) in the order of the answer.
pub fn stow_all(server: &Server, parts: &[Vec<u8>]) -> Vec<[String; 3]> {
    let a = stow(server, &TENANT_A, "BUCKETS", parts);
    assert_eq!(a.status, 200, "{}", a.text());
    a.json()["00081199"]["Value"]
        .as_array()
        .expect("referenced SOPs")
        .iter()
        .map(|item| {
            let url = item["00081190"]["Value"][0].as_str().expect("retrieve URL");
            let p: Vec<&str> = url.split('/').collect();
            let k = p.len();
            [
                p[k - 5].to_owned(),
                p[k - 3].to_owned(),
                p[k - 1].to_owned(),
            ]
        })
        .collect()
}

/// `[[storage.buckets]]` for `bucket` on `endpoint`, named `name`.
pub fn bucket_toml(name: &str, endpoint: &str, bucket: &str) -> String {
    format!(
        "[[storage.buckets]]\nname = \"{name}\"\nendpoint = \"{endpoint}\"\n\
         region = \"us-east-1\"\nbucket = \"{bucket}\"\naccess_key = \"pacs-test\"\n\
         secret_key = \"pacs-test-secret\"\npath_style = true\n"
    )
}

fn study_count(server: &Server) -> usize {
    qido(server, &TENANT_A, "/studies?limit=1000").len()
}

#[test]
fn a_bucket_that_is_down_is_named_by_readyz_and_stores_fail_with_503_leaving_nothing() {
    let data = data_dir();
    for backend in backends() {
        let s3 = PrivateS3::start();
        let bucket = format!("down-{}", std::process::id());
        create_bucket(&s3.endpoint, &bucket);
        let server = Server::start_with(
            backend,
            Options {
                extra_toml: bucket_toml("cold", &s3.endpoint, &bucket),
                default_medium: Some("cold".into()),
                ..Options::default()
            },
        );
        let first = bulk_study(&data, 0);
        let stored = stow_all(&server, &first[..2]);
        assert_eq!(bucket_keys(&s3.endpoint, &bucket).len(), 2, "{backend:?}");
        let ready = request("GET", &format!("{}/readyz", server.base), None, &[], None);
        assert_eq!(ready.status, 200, "{}", ready.text());

        s3.stop();
        let ready = request("GET", &format!("{}/readyz", server.base), None, &[], None);
        assert_eq!(ready.status, 503, "{}", ready.text());
        let down = ready.json()["down"].clone();
        assert!(
            down.as_array()
                .unwrap()
                .iter()
                .any(|d| d["component"] == "medium:cold"),
            "{down}"
        );

        let (studies, events) = (study_count(&server), last_event(&server, &TENANT_A));
        let second = bulk_study(&data, 1);
        let refused = stow(&server, &TENANT_A, "BUCKETS", &second[..3]);
        refused.assert_json_error(503);
        assert_eq!(study_count(&server), studies, "no row ({backend:?})");
        assert_eq!(last_event(&server, &TENANT_A), events, "no event");
        let staged = files_under(&server.dir.path().join("data"));
        assert!(
            staged.iter().all(|p| !p.to_string_lossy().contains("stag")),
            "no staged file left: {staged:?}"
        );
        let [st, se, sop] = &stored[0];
        let url = server.url(&format!(
            "/wado-rs/{}/studies/{st}/series/{se}/instances/{sop}",
            TENANT_A.ae
        ));
        get(&url, TENANT_A.key).assert_json_error(503);
        drop(server);
    }
}
