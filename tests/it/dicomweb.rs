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

/// A GET with `Accept: accept` under the one root.
fn get_accepting(server: &Server, path: &str, accept: &str) -> Answer {
    request(
        "GET",
        &dw(server, path),
        Some(TENANT_A.key),
        &[("Accept", accept)],
        None,
    )
}

/// The parts of a multipart answer with each part's Content-Type.
fn part_types(a: &Answer) -> Vec<String> {
    let text = String::from_utf8_lossy(&a.body);
    text.lines()
        .filter_map(|l| l.strip_prefix("Content-Type: "))
        .map(str::to_owned)
        .collect()
}

/// Width and height of a PNG (its IHDR chunk).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

#[test]
fn media_types_are_read_as_clients_send_them() {
    let data = data_dir().join("real");
    let ct = data.join("CT_small.dcm");
    let jpeg = data.join("SC_rgb_jpeg_dcmtk.dcm");
    let (ct_study, ct_series, ct_sop) = uids(&ct);
    let (j_study, j_series, j_sop) = uids(&jpeg);
    let server = Server::start(Backend::Sqlite);
    // STOW with the part type unquoted, as some senders write it.
    let (body, _) =
        multipart_related(&[std::fs::read(&ct).unwrap(), std::fs::read(&jpeg).unwrap()]);
    let a = request(
        "POST",
        &dw(&server, "/studies"),
        Some(TENANT_A.key),
        &[(
            "Content-Type",
            "multipart/related; type=application/dicom; boundary=pacs-test-boundary-7d1e0c",
        )],
        Some(body),
    );
    assert_eq!(a.status, 200, "unquoted type: {}", a.text());

    let ct_instance = format!("/studies/{ct_study}/series/{ct_series}/instances/{ct_sop}");
    let j_instance = format!("/studies/{j_study}/series/{j_series}/instances/{j_sop}");
    let native_len = 128 * 128 * 2;

    // Frames of uncompressed data: Cornerstone's unquoted form, the Python
    // client's wildcards, and quoted types.
    for accept in [
        "multipart/related; type=application/octet-stream; transfer-syntax=*",
        "multipart/related; type=\"application/octet-stream\"",
        "multipart/related; type=\"*/*\"",
        "multipart/related; type=\"application/*\"",
        "multipart/related; type=\"application/octet-stream\"; transfer-syntax=1.2.840.10008.1.2.1",
        "*/*",
    ] {
        let a = get_accepting(&server, &format!("{ct_instance}/frames/1"), accept);
        assert_eq!(a.status, 200, "{accept}: {}", a.text());
        let parts = split_multipart(&a.body, a.header("content-type").unwrap());
        assert_eq!(parts[0].len(), native_len, "{accept}");
    }
    // Frames of JPEG data: as stored for `*` or their own type, decoded to
    // native pixels for octet-stream, 406 for a syntax that needs transcoding.
    let frames = format!("{j_instance}/frames/1");
    for (accept, part_type) in [
        (
            "multipart/related; type=application/octet-stream; transfer-syntax=*",
            "image/jpeg",
        ),
        ("multipart/related; type=\"image/jpeg\"", "image/jpeg"),
        (
            "multipart/related; type=\"application/octet-stream\"",
            "application/octet-stream",
        ),
        (
            "multipart/related; type=\"application/*\"",
            "application/octet-stream",
        ),
        // q-values: the preferred range wins when it can be met.
        (
            "multipart/related; type=\"image/jpeg\"; q=0.5, multipart/related; type=application/octet-stream",
            "application/octet-stream",
        ),
        (
            "multipart/related; type=\"image/jp2\", multipart/related; type=\"image/jpeg\"; q=0.2",
            "image/jpeg",
        ),
    ] {
        let a = get_accepting(&server, &frames, accept);
        assert_eq!(a.status, 200, "{accept}: {}", a.text());
        let types = part_types(&a);
        assert!(types[0].starts_with(part_type), "{accept}: {types:?}");
        if part_type == "application/octet-stream" {
            let parts = split_multipart(&a.body, a.header("content-type").unwrap());
            assert_eq!(parts[0].len(), 100 * 100 * 3, "{accept}: decoded RGB");
            assert!(
                types[0].contains("transfer-syntax=1.2.840.10008.1.2.1"),
                "{types:?}"
            );
        }
    }
    for accept in [
        "multipart/related; type=\"image/jpeg\"; transfer-syntax=1.2.840.10008.1.2.4.90",
        "multipart/related; type=\"image/jp2\"",
        "image/png",
    ] {
        get_accepting(&server, &frames, accept).assert_json_error(406);
    }

    // Instances: a syntax we cannot produce is 406, never the stored one with 200.
    let explicit =
        "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1";
    get_accepting(&server, &j_instance, explicit).assert_json_error(406);
    let a = get_accepting(&server, &ct_instance, explicit);
    assert_eq!(a.status, 200, "{}", a.text());
    for accept in [
        "multipart/related; type=application/dicom; transfer-syntax=*",
        "multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.1, \
         multipart/related; type=\"application/dicom\"; transfer-syntax=*; q=0.5",
        "multipart/related; type=\"application/*\"",
        "application/dicom; q=0.9, multipart/related; type=\"application/dicom\"; q=0.1",
    ] {
        let a = get_accepting(&server, &j_instance, accept);
        assert_eq!(a.status, 200, "{accept}: {}", a.text());
    }
    let a = get_accepting(
        &server,
        &j_instance,
        "application/dicom; q=0.9, multipart/related; type=\"application/dicom\"; q=0.1",
    );
    assert_eq!(
        a.header("content-type"),
        Some("application/dicom"),
        "q decides"
    );

    // Rendered and thumbnail: PNG too, by preference.
    for (path, accept) in [
        (format!("{ct_instance}/rendered"), "image/png"),
        (
            format!("{ct_instance}/rendered"),
            "image/jpeg;q=0.5, image/png",
        ),
        (format!("{ct_instance}/frames/1/rendered"), "image/png"),
        (format!("{ct_instance}/thumbnail"), "image/png"),
    ] {
        let a = get_accepting(&server, &path, accept);
        assert_eq!(a.status, 200, "{path} {accept}: {}", a.text());
        assert_eq!(
            a.header("content-type"),
            Some("image/png"),
            "{path} {accept}"
        );
        let (w, h) = png_size(&a.body);
        if path.ends_with("thumbnail") {
            assert!(w <= 128 && h <= 128, "{w}x{h}");
        } else {
            assert_eq!((w, h), (128, 128), "{path}");
        }
    }
    let a = get_accepting(
        &server,
        &format!("/studies/{ct_study}/series/{ct_series}/rendered"),
        "multipart/related; type=\"image/png\"",
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(part_types(&a), ["image/png"]);
    let a = get_accepting(
        &server,
        &format!("{ct_instance}/rendered"),
        "image/png;q=0.1, */*",
    );
    assert_eq!(a.header("content-type"), Some("image/jpeg"), "*/* is JPEG");
    get_accepting(&server, &format!("{ct_instance}/rendered"), "image/gif").assert_json_error(406);
    // WADO-URI takes image/png as a content type too.
    let a = get(
        &server.url(&format!(
            "/wado?requestType=WADO&studyUID={ct_study}&seriesUID={ct_series}&objectUID={ct_sop}&contentType=image/png"
        )),
        TENANT_A.key,
    );
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(png_size(&a.body), (128, 128));
}

/// The one part of a bulk data answer.
fn bulk_part(a: &Answer, what: &str) -> Vec<u8> {
    assert_eq!(a.status, 200, "{what}: {}", a.text());
    let ct = a.header("content-type").unwrap();
    assert!(
        ct.starts_with("multipart/related") && ct.contains("application/octet-stream"),
        "{what}: {ct}"
    );
    let mut parts = split_multipart(&a.body, ct);
    assert_eq!(parts.len(), 1, "{what}");
    parts.remove(0)
}

#[test]
fn metadata_points_at_bulk_data_that_resolves() {
    let data = data_dir().join("real");
    let overlay = data.join("MR-SIEMENS-DICOM-WithOverlays.dcm");
    let ct = data.join("CT_small.dcm");
    let (o_study, o_series, o_sop) = uids(&overlay);
    let (c_study, c_series, c_sop) = uids(&ct);
    let server = Server::start(Backend::Sqlite);
    let a = stow_one_root(
        &server,
        "/studies",
        &[
            std::fs::read(&overlay).unwrap(),
            std::fs::read(&ct).unwrap(),
        ],
    );
    assert_eq!(a.status, 200, "{}", a.text());

    // Overlay data: a BulkDataURI into the root, resolving to pydicom's value.
    let instance = format!("/studies/{o_study}/series/{o_series}/instances/{o_sop}");
    let m = dataset_list(
        &get(&dw(&server, &format!("{instance}/metadata")), TENANT_A.key),
        "metadata",
    );
    let uri = m[0]["60003000"]["BulkDataURI"]
        .as_str()
        .unwrap_or_else(|| panic!("no BulkDataURI for the overlay: {}", m[0]["60003000"]))
        .to_owned();
    assert!(
        uri.ends_with(&format!("{instance}/bulkdata/60003000")),
        "{uri}"
    );
    assert!(uri.contains("/dicomweb/"), "{uri}");
    assert_eq!(m[0]["00083002"]["Value"][0], "1.2.840.10008.1.2.1");
    let want = python("element_sha1.py", &[overlay.to_str().unwrap(), "60003000"]);
    for accept in [
        None,
        Some("multipart/related; type=application/octet-stream"),
        Some("multipart/related; type=\"application/*\""),
    ] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let a = request("GET", &uri, Some(TENANT_A.key), &headers, None);
        let value = bulk_part(&a, &format!("{accept:?}"));
        assert_eq!(sha1_hex(&value), want.trim(), "{accept:?}");
    }
    request(
        "GET",
        &uri,
        Some(TENANT_A.key),
        &[("Accept", "image/jpeg")],
        None,
    )
    .assert_json_error(406);
    get(
        &dw(&server, &format!("{instance}/bulkdata/60003001")),
        TENANT_A.key,
    )
    .assert_json_error(404);
    get(
        &dw(&server, &format!("{instance}/bulkdata/overlay")),
        TENANT_A.key,
    )
    .assert_json_error(400);

    // Pixel Data: the frames, one after the other; the vendor root's metadata
    // points into the vendor root.
    let m = get(
        &server.url(&format!(
            "/wado-rs/{}/studies/{c_study}/series/{c_series}/instances/{c_sop}/metadata",
            TENANT_A.ae
        )),
        TENANT_A.key,
    );
    let uri = m.json()[0]["7FE00010"]["BulkDataURI"]
        .as_str()
        .expect("a Pixel Data BulkDataURI")
        .to_owned();
    assert!(uri.contains("/wado-rs/"), "{uri}");
    let pixels = bulk_part(&get(&uri, TENANT_A.key), "pixel data");
    let dump: Value = serde_json::from_str(&python("dump.py", &[ct.to_str().unwrap()])).unwrap();
    assert_eq!(sha1_hex(&pixels), dump["PixelDataSha1"].as_str().unwrap());
}

#[test]
fn python_dicomweb_client_uses_the_one_root_with_its_defaults() {
    let data = data_dir().join("real");
    let ct = data.join("CT_small.dcm");
    let overlay = data.join("MR-SIEMENS-DICOM-WithOverlays.dcm");
    let (_, _, sop) = uids(&ct);
    for backend in backends() {
        let server = Server::start(backend);
        let out = python(
            "one_root.py",
            &[
                "--url",
                &dw(&server, ""),
                "--key",
                TENANT_A.key,
                ct.to_str().unwrap(),
                overlay.to_str().unwrap(),
            ],
        );
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["empty_search"], serde_json::json!([]), "{v}");
        assert_eq!(v["studies"], 2, "{v}");
        assert_eq!(v["series"], 1, "{v}");
        assert_eq!(v["instances"], 1, "{v}");
        assert_eq!(v["instance_sop"], sop.as_str(), "{v}");
        assert_eq!(v["metadata_sop"], sop.as_str(), "{v}");
        assert_eq!(v["study_instances"], 1, "{v}");
        assert_eq!(v["series_instances"], 1, "{v}");
        assert_eq!(v["frame_bytes"], 128 * 128 * 2, "{v}");
        let dump: Value =
            serde_json::from_str(&python("dump.py", &[ct.to_str().unwrap()])).unwrap();
        assert_eq!(v["pixel_sha1"], dump["PixelDataSha1"], "{v}");
        let want = python("element_sha1.py", &[overlay.to_str().unwrap(), "60003000"]);
        assert_eq!(v["overlay_sha1"], want.trim(), "{v}");
        assert_eq!(v["rendered_png"], true, "{v}");
        assert_eq!(v["frame_rendered_jpeg"], true, "{v}");
        assert_eq!(v["series_rendered"], true, "{v}");
    }
}
