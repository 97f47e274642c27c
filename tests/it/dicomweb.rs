//! The one DICOMweb root `/dicomweb/{AET}` as generic clients use it: the
//! whole PS3.18 tree under one base URL, empty searches as `200 []`, trailing
//! slashes and HEAD; on both backends.

use serde_json::Value;

use crate::support::*;

/// `path` under the one root of tenant A.
fn dw(server: &Server, path: &str) -> String {
    server.url(&format!("/dicomweb/{}{path}", TENANT_A.ae))
}

fn uids(path: &std::path::Path) -> (String, String, String) {
    let v: Value = serde_json::from_str(&python("dump.py", &[path.to_str().unwrap()])).unwrap();
    let s = |k: &str| v[k].as_str().expect(k).to_owned();
    (
        s("StudyInstanceUID"),
        s("SeriesInstanceUID"),
        s("SOPInstanceUID"),
    )
}

fn stow_one_root(server: &Server, path: &str, parts: &[Vec<u8>]) -> Answer {
    let (body, ct) = multipart_related(parts);
    request(
        "POST",
        &dw(server, path),
        Some(TENANT_A.key),
        &[
            ("Content-Type", ct.as_str()),
            ("Accept", "application/dicom+json"),
        ],
        Some(body),
    )
}

/// A JSON array of DICOM JSON datasets, answered 200.
fn dataset_list(a: &Answer, what: &str) -> Vec<Value> {
    assert_eq!(a.status, 200, "{what}: {}", a.text());
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("application/dicom+json")),
        "{what}: {:?}",
        a.headers
    );
    a.json().as_array().expect("a JSON array").clone()
}

#[test]
fn one_root_stores_searches_and_retrieves() {
    let data = data_dir().join("real");
    let ct = data.join("CT_small.dcm");
    let bytes = std::fs::read(&ct).unwrap();
    let (study, series, sop) = uids(&ct);
    for backend in backends() {
        let server = Server::start(backend);
        // Before anything is stored, searches are empty, not 204.
        let empty = get(&dw(&server, "/studies"), TENANT_A.key);
        assert!(dataset_list(&empty, "empty search").is_empty());

        // STOW at {root}/studies: the store response points back into the root.
        let a = stow_one_root(&server, "/studies", std::slice::from_ref(&bytes));
        assert_eq!(a.status, 200, "{backend:?}: {}", a.text());
        let retrieve_url = a.json()["00081190"]["Value"][0]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            retrieve_url.ends_with(&format!(
                "/o3-dpacs-wado/dicomweb/{}/studies/{study}",
                TENANT_A.ae
            )),
            "{retrieve_url}"
        );
        // STOW at {root}/studies/{study} too (the same instance: idempotent).
        let a = stow_one_root(
            &server,
            &format!("/studies/{study}"),
            std::slice::from_ref(&bytes),
        );
        assert_eq!(a.status, 200, "{}", a.text());
        // The sender is recorded as DICOMWEB (the URL names the archive).
        let count = get(&server.url("/studies/count?aet=DICOMWEB"), TENANT_A.key);
        assert_eq!(count.json()["study_count"], 1, "{}", count.text());

        // QIDO at every level, with a search on a study's series as OHIF asks.
        for path in [
            "/studies".to_owned(),
            format!("/studies?StudyInstanceUID={study}"),
            "/series".to_owned(),
            "/instances".to_owned(),
            format!("/studies/{study}/series?includefield=0008103E"),
            format!("/studies/{study}/instances"),
            format!("/studies/{study}/series/{series}/instances"),
        ] {
            let found = dataset_list(&get(&dw(&server, &path), TENANT_A.key), &path);
            assert_eq!(found.len(), 1, "{path}: {found:?}");
        }
        let hits = dataset_list(
            &get(&dw(&server, "/studies?PatientID=nobody"), TENANT_A.key),
            "no match",
        );
        assert!(hits.is_empty());
        // Retrieve URLs in search results lead into the root.
        let s = dataset_list(&get(&dw(&server, "/studies"), TENANT_A.key), "studies");
        assert!(
            s[0]["00081190"]["Value"][0]
                .as_str()
                .unwrap()
                .contains("/dicomweb/"),
            "{}",
            s[0]
        );

        // WADO-RS: the instance byte for byte, at every level.
        let instance = format!("/studies/{study}/series/{series}/instances/{sop}");
        for path in [
            format!("/studies/{study}"),
            format!("/studies/{study}/series/{series}"),
            instance.clone(),
        ] {
            let a = get(&dw(&server, &path), TENANT_A.key);
            assert_eq!(a.status, 200, "{path}: {}", a.text());
            let parts = split_multipart(&a.body, a.header("content-type").unwrap());
            assert_eq!(parts, vec![bytes.clone()], "{path}");
        }
        for path in [
            format!("/studies/{study}/metadata"),
            format!("/studies/{study}/series/{series}/metadata"),
            format!("{instance}/metadata"),
        ] {
            let m = dataset_list(&get(&dw(&server, &path), TENANT_A.key), &path);
            assert_eq!(m[0]["00080018"]["Value"][0], sop.as_str(), "{path}");
        }
        let frames = request(
            "GET",
            &dw(&server, &format!("{instance}/frames/1")),
            Some(TENANT_A.key),
            &[(
                "Accept",
                "multipart/related; type=\"application/octet-stream\"",
            )],
            None,
        );
        assert_eq!(frames.status, 200, "{}", frames.text());
        let parts = split_multipart(&frames.body, frames.header("content-type").unwrap());
        assert_eq!(parts[0].len(), 128 * 128 * 2);
        for path in [
            format!("{instance}/rendered"),
            format!("{instance}/thumbnail"),
            format!("{instance}/frames/1/rendered"),
            format!("/studies/{study}/thumbnail"),
            format!("/studies/{study}/series/{series}/thumbnail"),
        ] {
            let a = get(&dw(&server, &path), TENANT_A.key);
            assert_eq!(a.status, 200, "{path}: {}", a.text());
            assert_eq!(a.header("content-type"), Some("image/jpeg"), "{path}");
            assert!(a.body.starts_with(&[0xFF, 0xD8]), "{path}: not a JPEG");
        }

        // Another tenant's AE title is not this tenant's root.
        let other = get(
            &server.url(&format!("/dicomweb/{}/studies", TENANT_B.ae)),
            TENANT_A.key,
        );
        other.assert_json_error(404);
        // The vendor roots answer as before: an empty search is 204 there.
        let vendor = get(
            &server.url(&format!("/qido/{}/studies?PatientID=nobody", TENANT_A.ae)),
            TENANT_A.key,
        );
        assert_eq!(vendor.status, 204);
    }
}

#[test]
fn trailing_slashes_and_head_are_answered() {
    let data = data_dir().join("real");
    let ct = data.join("CT_small.dcm");
    let bytes = std::fs::read(&ct).unwrap();
    let (study, series, sop) = uids(&ct);
    let server = Server::start(Backend::Sqlite);
    let a = stow_one_root(&server, "/studies/", std::slice::from_ref(&bytes));
    assert_eq!(a.status, 200, "STOW with a trailing slash: {}", a.text());
    let found = dataset_list(&get(&dw(&server, "/studies/"), TENANT_A.key), "studies/");
    assert_eq!(found.len(), 1);
    let found = get(
        &server.url(&format!("/qido/{}/studies/?limit=1", TENANT_A.ae)),
        TENANT_A.key,
    );
    assert_eq!(found.status, 200, "vendor root with a trailing slash");

    let instance = dw(
        &server,
        &format!("/studies/{study}/series/{series}/instances/{sop}"),
    );
    let full = request(
        "GET",
        &instance,
        Some(TENANT_A.key),
        &[("Accept", "application/dicom")],
        None,
    );
    assert_eq!(full.status, 200, "{}", full.text());
    assert_eq!(full.body, bytes);
    let head = request(
        "HEAD",
        &instance,
        Some(TENANT_A.key),
        &[("Accept", "application/dicom")],
        None,
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "a HEAD answer has no body");
    assert_eq!(head.header("content-type"), Some("application/dicom"));
    assert_eq!(
        head.header("content-length"),
        Some(bytes.len().to_string().as_str()),
        "HEAD announces the GET answer's length"
    );
    // HEAD needs the key as GET does, and answers what GET would.
    let no_key = request("HEAD", &instance, None, &[], None);
    assert_eq!(no_key.status, 401);
    let missing = request(
        "HEAD",
        &dw(&server, "/studies/1.2.3/metadata"),
        Some(TENANT_A.key),
        &[],
        None,
    );
    assert_eq!(missing.status, 404);
    // A method no route has is still refused.
    let put = request(
        "PUT",
        &dw(&server, "/studies"),
        Some(TENANT_A.key),
        &[],
        None,
    );
    assert!(put.status == 404 || put.status == 405, "{}", put.status);
}

const VIEWER: &str = "http://viewer.test:3000";

#[test]
fn browsers_of_configured_origins_may_call_the_api() {
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            server_toml: format!("cors_origins = [\"{VIEWER}/\"]"),
            ..Options::default()
        },
    );
    let studies = dw(&server, "/studies");
    // The preflight carries no key and is answered.
    let pre = request(
        "OPTIONS",
        &studies,
        None,
        &[
            ("Origin", VIEWER),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization,accept"),
        ],
        None,
    );
    assert!(pre.status == 200 || pre.status == 204, "{pre:?}");
    assert_eq!(pre.header("access-control-allow-origin"), Some(VIEWER));
    let allowed_headers = pre
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(allowed_headers.contains("authorization"), "{pre:?}");
    assert!(
        pre.header("access-control-allow-methods")
            .is_some_and(|m| m.contains("GET") && m.contains("POST")),
        "{pre:?}"
    );
    // The request itself: answered with the origin echoed and the headers a
    // client reads exposed; a 401 is readable by the page too.
    let a = request(
        "GET",
        &studies,
        Some(TENANT_A.key),
        &[("Origin", VIEWER)],
        None,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("access-control-allow-origin"), Some(VIEWER));
    assert!(
        a.header("access-control-expose-headers")
            .is_some_and(|h| h.to_ascii_lowercase().contains("warning")),
        "{a:?}"
    );
    let no_key = request("GET", &studies, None, &[("Origin", VIEWER)], None);
    no_key.assert_json_error(401);
    assert_eq!(no_key.header("access-control-allow-origin"), Some(VIEWER));

    // Another origin gets nothing: its preflight is an unauthenticated request,
    // its requests are served without CORS headers.
    let other = "http://elsewhere.test";
    let pre = request(
        "OPTIONS",
        &studies,
        None,
        &[("Origin", other), ("Access-Control-Request-Method", "GET")],
        None,
    );
    pre.assert_json_error(401);
    assert_eq!(pre.header("access-control-allow-origin"), None);
    let a = request(
        "GET",
        &studies,
        Some(TENANT_A.key),
        &[("Origin", other)],
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.header("access-control-allow-origin"), None);
}

#[test]
fn without_configured_origins_there_is_no_cors() {
    let server = Server::start(Backend::Sqlite);
    let pre = request(
        "OPTIONS",
        &dw(&server, "/studies"),
        None,
        &[("Origin", VIEWER), ("Access-Control-Request-Method", "GET")],
        None,
    );
    pre.assert_json_error(401);
    assert_eq!(pre.header("access-control-allow-origin"), None);
}
