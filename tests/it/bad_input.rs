//! The start of the bad-input matrix (issue 16): every operation of the
//! OpenAPI document (built from the router, so a new route cannot be left
//! out) gets malformed input; each answer is a JSON 4xx, and nothing is
//! stored or recorded. So far: bodies that are not what the operation takes
//! (broken JSON, the wrong content type) and identifiers that are not UIDs.

use crate::support::*;

/// Files, the tenant's last event and its instances: what must not change.
fn holdings(server: &Server) -> (usize, i64, usize) {
    (
        server.stored_files().len(),
        last_event(server, &TENANT_A),
        qido(server, &TENANT_A, "/instances?limit=1000").len(),
    )
}

/// A JSON error (the shapes of `pacs-api/src/error.rs`: `error` or, for the
/// KOS operation, `errorCode`) with a 4xx status.
fn assert_json_4xx(a: &Answer, what: &str) {
    assert!(
        (400..500).contains(&a.status),
        "{what}: {} {}",
        a.status,
        a.text()
    );
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{what}: {} without a JSON body: {}",
        a.status,
        a.text()
    );
    let j = a.json();
    assert!(
        j["error"].is_string() || j["errorCode"].is_string(),
        "{what}: {j}"
    );
}

#[test]
fn every_operation_refuses_malformed_input_with_a_json_4xx_and_changes_nothing() {
    let server = Server::start(Backend::Sqlite);
    let ct = variant(
        &data_dir().join("real/CT_small.dcm"),
        &["SOPInstanceUID=NEW"],
    );
    assert_eq!(stow(&server, &TENANT_A, "MOD01", &[ct]).status, 200);
    let doc = get(&server.url("/openapi.json"), TENANT_A.key).json();
    let before = holdings(&server);
    let mut tried = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if path.contains("swagger-ui") || path.ends_with("openapi.json") || path == "/metrics" {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            let m = method.to_uppercase();
            // Identifiers that are not UIDs, where the path takes them.
            if path.contains("{study}") {
                let bad = path
                    .replace("{aet}", TENANT_A.ae)
                    .replace("{study}", "1..2")
                    .replace("{series}", "x")
                    .replace("{instance}", "1.2.a");
                let body = (m == "POST").then(Vec::new);
                let a = request(
                    &m,
                    &format!("{}{bad}", server.base),
                    Some(TENANT_A.key),
                    &[],
                    body,
                );
                assert_json_4xx(&a, &format!("{m} {path} with invalid UIDs"));
                tried += 1;
            }
            if m != "POST" {
                continue;
            }
            let concrete = path
                .replace("{aet}", TENANT_A.ae)
                .replace("{study}", "1.2.3")
                .replace("{series}", "1.2.3.4")
                .replace("{instance}", "1.2.3.4.5");
            let url = format!("{}{concrete}", server.base);
            for (ct, body) in [
                ("application/json", b"{\"broken".to_vec()),
                ("text/plain", b"not what this takes".to_vec()),
                (
                    "multipart/related; type=\"application/dicom\"",
                    b"--x\r\n".to_vec(),
                ),
            ] {
                let a = request(
                    &m,
                    &url,
                    Some(TENANT_A.key),
                    &[("Content-Type", ct)],
                    Some(body),
                );
                assert_json_4xx(&a, &format!("{m} {path} with {ct}"));
                tried += 1;
            }
        }
    }
    assert!(
        tried > 40,
        "only {tried} requests: are the operations listed?"
    );
    assert_eq!(
        holdings(&server),
        before,
        "malformed input changed what is held"
    );
}
