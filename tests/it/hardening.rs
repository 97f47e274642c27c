//! Regressions of the defects an adversarial integrator found (issue
//! "Hardening"): each request here once got a non-JSON answer, or the wrong one.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::*;

#[test]
fn the_authorization_header_is_read_strictly_and_its_scheme_in_any_case() {
    let server = Server::start(Backend::Sqlite);
    let url = server.url(&format!("/qido/{}/studies", TENANT_A.ae));
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let header = format!("{scheme} {}", TENANT_A.key);
        let a = request("GET", &url, None, &[("Authorization", &header)], None);
        assert_eq!(a.status, 204, "{scheme}: {}", a.text());
    }
    // Two headers: which one counts would depend on who reads them; none does.
    for (first, second) in [(TENANT_A.key, "wrong"), ("wrong", TENANT_A.key)] {
        let two = [("Authorization", first), ("Authorization", second)];
        let code = request("GET", &url, None, &two, None).assert_json_error(401);
        assert_eq!(code, "unauthorized");
    }
    let same = [
        ("Authorization", TENANT_A.key),
        ("Authorization", TENANT_A.key),
    ];
    request("GET", &url, None, &same, None).assert_json_error(401);
}

#[test]
fn an_oversized_json_body_gets_a_json_413_and_changes_nothing() {
    let server = Server::start(Backend::Sqlite);
    let reason = "x".repeat(1024 * 1024 + 10);
    let body = serde_json::json!({
        "studyInstanceUid": "1.2.3",
        "userName": "dr a",
        "reason": reason,
    });
    let answer = request(
        "POST",
        &server.url("/studies/deprecation"),
        Some(TENANT_A.key),
        &[("Content-Type", "application/json")],
        Some(serde_json::to_vec(&body).unwrap()),
    );
    assert_eq!(answer.assert_json_error(413), "payload_too_large");
    let events = get(&server.url("/studyEvents?offsetId=0"), TENANT_A.key);
    assert_eq!(events.status, 200, "{}", events.text());
    assert_eq!(events.json()["events"].as_array().map(Vec::len), Some(0));
}

/// Sends `head` (a request without its body) and reads the answer until the
/// server closes or `limit` passes.
fn raw_exchange(base: &str, head: &str, limit: Duration) -> String {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let (start, mut got, mut buf) = (Instant::now(), Vec::new(), [0u8; 4096]);
    while start.elapsed() < limit {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) if String::from_utf8_lossy(&got).contains("\r\n\r\n{") => break,
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn a_declared_length_over_the_limit_is_refused_before_the_body() {
    let server = Server::start(Backend::Sqlite);
    let host = server.base.trim_start_matches("http://").to_owned();
    for path in [
        "/o3-dpacs-wado/stowRsListener/MOD01/studies",
        "/o3-dpacs-wado/pathoRsListener/MOD01/studies",
    ] {
        let ct = if path.contains("stow") {
            "multipart/related; type=\"application/dicom\"; boundary=b"
        } else {
            "multipart/form-data; boundary=b"
        };
        // 1 TB declared, nothing sent: the answer must not wait for the body.
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\n\
             Content-Type: {ct}\r\nContent-Length: 1000000000000\r\n\r\n",
            TENANT_A.key
        );
        let started = Instant::now();
        let answer = raw_exchange(&server.base, &head, Duration::from_secs(10));
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{path}: {answer:?} after {:?}",
            started.elapsed()
        );
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/json")
        );
        assert!(answer.contains("\"payload_too_large\""), "{answer}");
    }
    assert!(server.stored_files().is_empty());
}
