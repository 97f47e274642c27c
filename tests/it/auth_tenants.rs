//! API keys (API.md §0) and tenant isolation: another tenant's data is
//! invisible on every endpoint.

use crate::support::*;

const STUDY: &str = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";
const SERIES: &str = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322";
const SOP: &str = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322";

#[test]
fn requests_without_a_valid_key_get_401_json() {
    let server = Server::start(Backend::Sqlite);
    let url = server.url(&format!("/qido/{}/studies", TENANT_A.ae));
    request("GET", &url, None, &[], None).assert_json_error(401);
    request("GET", &url, Some("wrong-key"), &[], None).assert_json_error(401);
    request("GET", &url, Some(""), &[], None).assert_json_error(401);
    // Bearer form and hashed keys are accepted.
    let bearer = format!("Bearer {}", TENANT_A.key);
    assert_eq!(
        request("GET", &url, None, &[("Authorization", &bearer)], None).status,
        204
    );
    let b = get(
        &server.url(&format!("/qido/{}/studies", TENANT_B.ae)),
        TENANT_B.key,
    );
    assert_eq!(b.status, 204, "{}", b.text());
    // A STOW without a key is refused before anything is stored.
    let (body, ct) = multipart_related(&[b"not even DICOM".to_vec()]);
    request(
        "POST",
        &server.url("/stowRsListener/MOD01/studies"),
        None,
        &[("Content-Type", &ct)],
        Some(body),
    )
    .assert_json_error(401);
    // Unknown endpoints answer JSON too; probes need no key.
    get(&server.url("/nope"), TENANT_A.key).assert_json_error(404);
    assert_eq!(
        request("GET", &format!("{}/healthz", server.base), None, &[], None).status,
        200
    );
    let ready = request("GET", &format!("{}/readyz", server.base), None, &[], None);
    assert_eq!(ready.status, 200, "{}", ready.text());
    // Keys never reach the log.
    assert!(!server.log_text().contains(TENANT_A.key));
}

#[test]
fn tenants_see_nothing_of_each_other() {
    let data = data_dir();
    for backend in backends() {
        let server = Server::start(backend);
        let ct = std::fs::read(data.join("real/CT_small.dcm")).unwrap();
        assert_eq!(
            stow(&server, &TENANT_A, "MOD01", std::slice::from_ref(&ct)).status,
            200
        );

        let b = |path: String| get(&server.url(&path), TENANT_B.key);
        for level in ["patients", "studies", "series", "instances"] {
            assert_eq!(
                b(format!("/qido/{}/{level}", TENANT_B.ae)).status,
                204,
                "{level} leaked"
            );
        }
        assert_eq!(
            b(format!("/qido/{}/studies/{STUDY}/series", TENANT_B.ae)).status,
            204
        );
        assert_eq!(
            b(format!("/qido/{}/studies/{STUDY}/instances", TENANT_B.ae)).status,
            204
        );
        // Tenant A's AE title is not an AE title of tenant B.
        b(format!("/qido/{}/studies", TENANT_A.ae)).assert_json_error(404);
        b(format!("/wado-rs/{}/studies/{STUDY}", TENANT_B.ae)).assert_json_error(404);
        b(format!(
            "/wado-rs/{}/studies/{STUDY}/series/{SERIES}/instances/{SOP}",
            TENANT_B.ae
        ))
        .assert_json_error(404);
        b(format!("/wado-rs/{}/studies/{STUDY}/metadata", TENANT_B.ae)).assert_json_error(404);
        b(format!(
            "/wado?requestType=WADO&studyUID={STUDY}&seriesUID={SERIES}&objectUID={SOP}&contentType=application/dicom"
        ))
        .assert_json_error(404);
        let events = b("/studyEvents?offsetId=0".into());
        assert_eq!(events.status, 200);
        assert_eq!(
            events.json()["events"].as_array().unwrap().len(),
            0,
            "events leaked"
        );

        // The same object is new to tenant B, with its own copy and its own events.
        let files = server.stored_files().len();
        assert_eq!(
            stow(&server, &TENANT_B, "MOD02", std::slice::from_ref(&ct)).status,
            200
        );
        assert_eq!(server.stored_files().len(), files + 1);
        assert_eq!(
            b("/studyEvents?offsetId=0".into()).json()["events"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let a_events = get(&server.url("/studyEvents?offsetId=0"), TENANT_A.key).json();
        assert_eq!(a_events["events"].as_array().unwrap().len(), 2);
        // Tenant B changing "its" copy conflicts only within tenant B.
        let mut other = ct.clone();
        let n = other.len();
        other[n - 3] ^= 1;
        assert_eq!(stow(&server, &TENANT_B, "MOD02", &[other]).status, 409);
    }
}

#[test]
fn study_events_are_paged_and_validated() {
    let data = data_dir();
    let server = Server::start(Backend::Sqlite);
    let files: Vec<Vec<u8>> = ["CT_small.dcm", "MR_small.dcm", "RG1_UNCR.dcm"]
        .iter()
        .map(|f| std::fs::read(data.join("real").join(f)).unwrap())
        .collect();
    assert_eq!(stow(&server, &TENANT_A, "MOD01", &files).status, 200);
    let page = get(&server.url("/studyEvents?offsetId=0&limit=4"), TENANT_A.key).json();
    let ids: Vec<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(page["hasMore"], true);
    assert_eq!(page["lastOffsetId"], ids[3]);
    let e = &page["events"][1];
    assert_eq!(e["eventType"], "INSTANCE_STORED");
    assert!(e["occurredAt"].as_str().unwrap().ends_with('Z'));
    let rest = get(
        &server.url(&format!("/studyEvents?offsetId={}", ids[3])),
        TENANT_A.key,
    )
    .json();
    assert_eq!(rest["events"].as_array().unwrap().len(), 2);
    assert_eq!(rest["hasMore"], false);
    for bad in [
        "/studyEvents",
        "/studyEvents?offsetId=abc",
        "/studyEvents?offsetId=-1",
        "/studyEvents?offsetId=0&limit=0",
    ] {
        get(&server.url(bad), TENANT_A.key).assert_json_error(400);
    }
}
