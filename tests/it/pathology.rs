//! Digital pathology (API.md §4, issue 6): the generated slides uploaded with
//! python-requests multipart as a hospital integration would, read back
//! through `wholeslide` and opened with OpenSlide; the generated object
//! checked with dciodvfy and pydicom; sidecars sent back; DICOM WSI baselines;
//! hostile or malformed uploads refused, leaving nothing behind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::support::*;

/// The metadata example of the source document, verbatim.
const VENDOR_EXAMPLE: &str = r#"{
"attributes": {
"AccessionNumber": "I23-00102",
"ContainerIdentifier": "I23-00102-A-1-1",
"PatientBirthDate": "20240115",
"PatientID": "Test",
"PatientName": "TEST^TEST",
"PatientSex": "M",
"StudyDescription": "Test"
},
"hierarchy": {
"specimen": {
"alias": "B",
"bodySite": "Specimen B Body Site",
"identifier": "213",
"procedure": "Specimen procedure"
},
"block": {
"alias": "B-1",
"identifier": "456",
"procedure": "Block procedure"
},
"slide": {
"alias": "B-1-1",
"identifier": "222",
"procedure": "Slide procedure",
"stain": {
"code": "EE"
}
}
}
}"#;

/// The SOP class the source document sets for the generated object.
const SOP_CLASS: &str = "1.2.826.0.1.3680043.2.619.20220407.1";

/// The source document's message for a MIRAX zip without its `.mrxs`.
const NO_MRXS: &str =
    "the uploaded archive does not containt the Mirax descriptor file (.mrxs file)";

const CALLING: &str = "SCANNER1";

const INVALID_ARCHIVE: &str = "invalid_archive";

/// Minimal metadata: the three mandatory attributes and a name.
fn metadata(accession: &str, barcode: &str) -> String {
    json!({"attributes": {
        "PatientID": "PATHO-1",
        "PatientName": "SLIDE^ONE",
        "AccessionNumber": accession,
        "ContainerIdentifier": barcode,
    }})
    .to_string()
}

/// `metadata` with `attributes` changed (`null` removes one).
fn metadata_with(changes: Value) -> String {
    let mut m: Value = serde_json::from_str(&metadata("BAD-ACC", "BAD-1")).unwrap();
    let attrs = m["attributes"].as_object_mut().unwrap();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            attrs.remove(k);
        } else {
            attrs.insert(k.clone(), v.clone());
        }
    }
    m.to_string()
}

fn text_part(name: &str, text: &str) -> Value {
    json!({"name": name, "text": text})
}

/// A part streamed from a file; `filename` `None` sends none.
fn file_part(name: &str, path: &Path, filename: Option<&str>, content_type: &str) -> Value {
    json!({
        "name": name,
        "path": path.to_str().unwrap(),
        "filename": filename,
        "content_type": content_type,
    })
}

fn slide_part(path: &Path, filename: &str) -> Value {
    file_part("file", path, Some(filename), "application/octet-stream")
}

fn zip_part(path: &Path, filename: &str) -> Value {
    file_part("file", path, Some(filename), "application/zip")
}

fn sidecar_part(path: &Path) -> Value {
    file_part("sidecar", path, Some("sidecar.dcm"), "application/dicom")
}

/// What `patho.py post` reports.
#[derive(Debug)]
struct Upload {
    status: u16,
    content_type: Option<String>,
    body: Value,
}

impl Upload {
    fn ok(&self) -> &Value {
        assert_eq!(self.status, 200, "upload refused: {}", self.body);
        &self.body
    }

    /// Asserts a JSON error (API.md §0) with `status`; returns its code.
    fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        assert!(
            self.content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json")),
            "error without JSON content type: {self:?}"
        );
        assert!(
            self.message().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            self.body
        );
        self.body["error"].as_str().expect("error code").to_owned()
    }

    fn message(&self) -> Option<&str> {
        self.body["message"].as_str()
    }
}

/// A multipart/form-data upload by python-requests, from calling AET `aet`.
fn upload_to(server: &Server, aet: &str, key: &str, parts: &[Value]) -> Upload {
    let url = server.url(&format!("/pathoRsListener/{aet}/studies"));
    let spec = Value::from(parts.to_vec()).to_string();
    let out: Value =
        serde_json::from_str(&python("patho.py", &["post", &url, key, &spec])).unwrap();
    Upload {
        status: u16::try_from(out["status"].as_u64().unwrap()).unwrap(),
        content_type: out["content_type"].as_str().map(str::to_owned),
        body: out["body"].clone(),
    }
}

fn upload(server: &Server, parts: &[Value]) -> Upload {
    upload_to(server, CALLING, TENANT_A.key, parts)
}

/// Study, series and SOP Instance UIDs of an upload's answer.
fn uids(body: &Value) -> [String; 3] {
    ["studyInstanceUid", "seriesInstanceUid", "sopInstanceUid"].map(|k| {
        body[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k}: {body}"))
            .to_owned()
    })
}

fn assert_derived(uid: &str) {
    let digits = uid.strip_prefix("2.25.").unwrap_or_else(|| panic!("{uid}"));
    assert!(
        uid.len() <= 64
            && !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0')),
        "not a 2.25 UID: {uid}"
    );
}

fn wholeslide(server: &Server, key: &str, barcode: &str) -> Answer {
    get(&server.url(&format!("/wholeslide?barcode={barcode}")), key)
}

/// An upload by curl (`-F` / `--form-string` arguments).
fn curl_upload(server: &Server, form: &[(&str, String)]) -> Value {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        missing("curl", "apt-get install curl");
    }
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-sS", "-o", body.to_str().unwrap(), "-w", "%{http_code}"])
        .args(["-H", &format!("Authorization: {}", TENANT_A.key)]);
    for (flag, value) in form {
        cmd.args([*flag, value.as_str()]);
    }
    let out = cmd
        .arg(server.url(&format!("/pathoRsListener/{CALLING}/studies")))
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&body).unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "curl upload: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap()
}

/// `GET /wholeslide` streamed to `out` by python-requests.
fn download(server: &Server, barcode: &str, out: &Path, range: Option<&str>) -> Value {
    let url = server.url(&format!("/wholeslide?barcode={barcode}"));
    let mut args = vec!["download", &url, TENANT_A.key, out.to_str().unwrap()];
    args.extend(range);
    serde_json::from_str(&python("patho.py", &args)).unwrap()
}

fn openslide(path: &Path) -> Value {
    serde_json::from_str(&python("patho.py", &["openslide", path.to_str().unwrap()])).unwrap()
}

/// A DICOM object as {keyword: value} (pydicom).
fn dicom_json(bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("o.dcm");
    std::fs::write(&f, bytes).unwrap();
    serde_json::from_str(&python("patho.py", &["dicom", f.to_str().unwrap()])).unwrap()
}

/// `dump.py` of a DICOM file (UIDs, TotalPixelMatrixRows/Columns).
fn dump(path: &Path) -> Value {
    serde_json::from_str(&python("dump.py", &[path.to_str().unwrap()])).unwrap()
}

/// The stored object, as WADO-RS returns it.
fn retrieve(server: &Server, tenant: &TestTenant, [study, series, sop]: &[String; 3]) -> Vec<u8> {
    retrieve_instance(server, tenant, study, series, sop)
}

fn study_count(server: &Server, tenant: &TestTenant) -> u64 {
    let a = get(&server.url("/studies/count"), tenant.key);
    assert_eq!(a.status, 200, "{}", a.text());
    a.json()["study_count"].as_u64().unwrap()
}

/// `patho.py mkzip`: a zip of `kind` in `dir`.
fn mkzip(dir: &Path, kind: &str, arg: Option<&str>) -> PathBuf {
    let out = dir.join(format!("{kind}.zip"));
    let mut args = vec!["mkzip", out.to_str().unwrap(), kind];
    args.extend(arg);
    python("patho.py", &args);
    out
}

/// The generated slides, and the MIRAX one zipped as a hospital would.
struct Slides {
    svs: PathBuf,
    tiff: PathBuf,
    mrxs: PathBuf,
    zip: PathBuf,
    _dir: tempfile::TempDir,
}

fn slides(data: &Path) -> Slides {
    let dir = tempfile::tempdir().unwrap();
    let mrxs = data.join("wsi/small.mrxs");
    let zip = dir.path().join("small.zip");
    python(
        "patho.py",
        &[
            "mkzip",
            zip.to_str().unwrap(),
            "mirax",
            mrxs.to_str().unwrap(),
        ],
    );
    Slides {
        svs: data.join("wsi/small.svs"),
        tiff: data.join("wsi/small.tiff"),
        mrxs,
        zip,
        _dir: dir,
    }
}

/// The DICOM files of a generated WSI directory (not its .log/.done), sorted.
fn dcm_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect()
}

/// What the archive holds: stored files and the tenant's last event.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    files: BTreeSet<PathBuf>,
    event: i64,
}

fn snapshot(server: &Server) -> Snapshot {
    Snapshot {
        files: server.stored_files().into_iter().collect(),
        event: last_event(server, &TENANT_A),
    }
}

/// What the default medium's staging area (`<archive>/.staging`) holds.
fn staging(server: &Server) -> Vec<PathBuf> {
    let dir = server.dir.path().join("archive/.staging");
    assert!(dir.is_dir(), "{} is not the staging area", dir.display());
    files_under(&dir)
}

/// Nothing stored, staged or recorded since `before`.
fn assert_unchanged(server: &Server, before: &Snapshot, what: &str) {
    let now = snapshot(server);
    assert_eq!(now.files, before.files, "{what}: the stored files changed");
    assert_eq!(now.event, before.event, "{what}: events were recorded");
    assert!(
        staging(server).is_empty(),
        "{what}: staging leftovers {:?}",
        staging(server)
    );
}

/// (concept name code, value) of each content item of each preparation step.
fn preparation_steps(item: &Value) -> Vec<Vec<(String, String)>> {
    item["SpecimenPreparationSequence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| {
            step["SpecimenPreparationStepContentItemSequence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let concept = c["ConceptNameCodeSequence"][0]["CodeValue"].as_str();
                    let value = c["TextValue"]
                        .as_str()
                        .or(c["ConceptCodeSequence"][0]["CodeValue"].as_str());
                    (concept.unwrap().to_owned(), value.unwrap().to_owned())
                })
                .collect()
        })
        .collect()
}

/// A multipart/form-data body built by hand: (name, file name, content).
fn form_data(parts: &[(&str, Option<&str>, &[u8])]) -> (Vec<u8>, String) {
    let boundary = "pacs-patho-boundary-51c3";
    let mut body = Vec::new();
    for (name, filename, content) in parts {
        let file = filename.map_or(String::new(), |f| format!("; filename=\"{f}\""));
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

/// Sends every body at once (a barrier) and returns the answers in order.
fn all_at_once(server: &Server, bodies: Vec<(Vec<u8>, String)>) -> Vec<Answer> {
    let url = server.url(&format!("/pathoRsListener/{CALLING}/studies"));
    let barrier = std::sync::Barrier::new(bodies.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|(body, ct)| {
                let (url, barrier) = (&url, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    request(
                        "POST",
                        url,
                        Some(TENANT_A.key),
                        &[("Content-Type", ct.as_str())],
                        Some(body),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

const REFERENCED_FILE_ID_VR: &str =
    "Error - Value invalid for this VR - (0x0004,0x1500) CS Referenced File ID";
const INVALID_VR_SUMMARY: &str =
    "Error - Dicom dataset contains invalid data values for Value Representations";

/// dciodvfy errors other than those the source document forces: the custom
/// SOP class ("Information Object Not found") and a file name in the CS
/// ReferencedFileID (with the summary line that accompanies it).
fn unexpected_dciodvfy_errors(bytes: &[u8]) -> Vec<String> {
    dciodvfy_errors(bytes)
        .into_iter()
        .filter(|e| {
            !(e.contains("Information Object Not found")
                || e.starts_with(REFERENCED_FILE_ID_VR)
                || e == INVALID_VR_SUMMARY)
        })
        .collect()
}

#[test]
fn slides_round_trip_byte_exact_and_open_the_same_in_openslide() {
    let data = data_dir();
    let s = slides(&data);
    let out_dir = tempfile::tempdir().unwrap();
    let mrxs_sha1 = sha1_hex(&std::fs::read(&s.mrxs).unwrap());
    for backend in backends() {
        let server = Server::start(backend);
        let cases = [
            (&s.svs, "small.svs", "application/octet-stream", "RT-SVS"),
            (&s.tiff, "small.tiff", "image/tiff", "RT-TIFF"),
            (&s.zip, "small.zip", "application/zip", "RT-MRXS"),
        ];
        for (path, name, content_type, barcode) in cases {
            let what = format!("{backend:?} {name}");
            let bytes = std::fs::read(path).unwrap();
            let mirax = name.ends_with(".zip");
            // fileHash: of the file, upper-case once; of the .mrxs entry for MIRAX.
            let hash = match name {
                "small.svs" => sha1_hex(&bytes).to_uppercase(),
                "small.zip" => mrxs_sha1.clone(),
                _ => sha1_hex(&bytes),
            };
            let meta = metadata(&format!("{barcode}-ACC"), barcode);
            let parts = [
                text_part("metadata", &meta),
                file_part("file", path, Some(name), content_type),
                text_part("fileHash", &hash),
                text_part("fileLength", &bytes.len().to_string()),
            ];
            let before = snapshot(&server);
            let up = upload(&server, &parts);
            let body = up.ok().clone();
            assert_eq!(body["slideType"], if mirax { "mirax" } else { "file" });
            assert_eq!(body["fileName"], name);
            assert_eq!(body["containerIdentifier"], barcode);
            assert_eq!(body["alreadyStored"], false);
            let ids = uids(&body);
            ids.iter().for_each(|u| assert_derived(u));
            let after = snapshot(&server);
            assert_eq!(
                after.files.len(),
                before.files.len() + 2,
                "{what}: the slide and its object"
            );
            assert!(after.event > before.event, "{what}: the store is an event");

            // Downloaded as stored: same bytes, named, rangeable.
            let out = out_dir.path().join(format!("{backend:?}-{name}"));
            let d = download(&server, barcode, &out, None);
            assert_eq!(d["status"], 200, "{what}: {d}");
            let h = &d["headers"];
            assert_eq!(
                h["content-disposition"],
                format!("attachment; filename=\"{name}\""),
                "{what}"
            );
            assert_eq!(h["accept-ranges"], "bytes");
            assert_eq!(
                h["content-type"],
                if mirax {
                    "application/zip"
                } else {
                    "application/octet-stream"
                }
            );
            assert_eq!(h["content-length"], bytes.len().to_string());
            assert_eq!(d["size"], bytes.len());
            assert_eq!(d["sha1"], sha1_hex(&bytes), "{what}: not byte-exact");

            // OpenSlide sees the same slide in the original and the download.
            let original = if mirax { &s.mrxs } else { path };
            let want = openslide(original);
            assert!(want["level_count"].as_u64().unwrap() > 1, "{want}");
            assert_eq!(openslide(&out), want, "{what}: OpenSlide differs");

            // Sent again (MIRAX: with the zip's own SHA-1): 200, nothing added.
            let mut again_parts = parts.clone();
            if mirax {
                again_parts[2] = text_part("fileHash", &sha1_hex(&bytes));
            }
            let again = upload(&server, &again_parts);
            assert_eq!(again.ok()["alreadyStored"], true, "{what}");
            assert_eq!(uids(again.ok()), ids);
            assert_eq!(
                snapshot(&server),
                after,
                "{what}: re-sending added something"
            );

            // The same barcode with another file: 409, nothing left.
            let other = if name == "small.svs" { &s.tiff } else { &s.svs };
            let conflict = upload(
                &server,
                &[text_part("metadata", &meta), slide_part(other, "other.svs")],
            );
            conflict.error(409);
            assert_unchanged(&server, &after, &format!("{what}: conflicting re-send"));
            let d = download(&server, barcode, &out, None);
            assert_eq!(
                d["sha1"],
                sha1_hex(&bytes),
                "{what}: the stored slide changed"
            );
        }

        // Ranges: one range is a 206 of exactly those bytes; beyond the end a 416.
        let svs = std::fs::read(&s.svs).unwrap();
        let len = svs.len();
        let out = out_dir.path().join(format!("{backend:?}-range"));
        let d = download(&server, "RT-SVS", &out, Some("bytes=1000-1999"));
        assert_eq!(d["status"], 206, "{d}");
        assert_eq!(
            d["headers"]["content-range"],
            format!("bytes 1000-1999/{len}")
        );
        assert_eq!(std::fs::read(&out).unwrap(), &svs[1000..2000]);
        let url = server.url("/wholeslide?barcode=RT-SVS");
        let range = |r: &str| request("GET", &url, Some(TENANT_A.key), &[("Range", r)], None);
        let a = range("bytes=-100");
        assert_eq!(a.status, 206);
        assert_eq!(a.body, &svs[len - 100..]);
        let a = range(&format!("bytes={}-", len - 10));
        assert_eq!(a.status, 206);
        assert_eq!(
            a.header("content-range"),
            Some(format!("bytes {}-{}/{len}", len - 10, len - 1).as_str())
        );
        assert_eq!(a.body, &svs[len - 10..]);
        for beyond in [
            format!("bytes={len}-"),
            format!("bytes={}-{}", len + 5, len + 9),
        ] {
            let a = range(&beyond);
            a.assert_json_error(416);
            assert_eq!(
                a.header("content-range"),
                Some(format!("bytes */{len}").as_str())
            );
        }
        let zip = std::fs::read(&s.zip).unwrap();
        let a = request(
            "GET",
            &server.url("/wholeslide?barcode=RT-MRXS"),
            Some(TENANT_A.key),
            &[("Range", "bytes=0-99")],
            None,
        );
        assert_eq!(a.status, 206);
        assert_eq!(a.body, &zip[..100]);
    }
}

#[test]
fn generated_object_is_valid_dicom_with_the_specimen_hierarchy_and_derived_uids() {
    let data = data_dir();
    let svs = data.join("wsi/small.svs");
    let parts = [
        text_part("metadata", VENDOR_EXAMPLE),
        slide_part(&svs, "small.svs"),
    ];
    // Two servers at least (every backend, and one more): UIDs derive from the
    // tenant's name, not from anything local.
    let mut runs = backends();
    runs.push(Backend::Sqlite);
    let mut seen = Vec::new();
    for backend in runs {
        let server = Server::start(backend);
        let body = upload(&server, &parts).ok().clone();
        let ids = uids(&body);
        ids.iter().for_each(|u| assert_derived(u));
        assert_eq!(body["containerIdentifier"], "I23-00102-A-1-1");

        let object = retrieve(&server, &TENANT_A, &ids);
        let ds = dicom_json(&object);
        for (k, v) in [
            ("SOPClassUID", SOP_CLASS),
            ("MediaStorageSOPClassUID", SOP_CLASS),
            ("Modality", "SM"),
            ("ReferencedFileID", "small.svs"),
            ("ContainerIdentifier", "I23-00102-A-1-1"),
            ("AccessionNumber", "I23-00102"),
            ("PatientID", "Test"),
            ("PatientName", "TEST^TEST"),
            ("PatientBirthDate", "20240115"),
            ("PatientSex", "M"),
            ("StudyDescription", "Test"),
            ("StudyInstanceUID", &ids[0]),
            ("SeriesInstanceUID", &ids[1]),
            ("SOPInstanceUID", &ids[2]),
        ] {
            assert_eq!(ds[k], v, "{k}");
        }
        // Type 1 and 2 attributes of the Patient, General Study, General
        // Series, General Equipment, SOP Common and Specimen modules
        // (dciodvfy cannot check them: it knows no IOD for this SOP class).
        for k in [
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "StudyInstanceUID",
            "StudyDate",
            "StudyTime",
            "ReferringPhysicianName",
            "StudyID",
            "AccessionNumber",
            "Modality",
            "SeriesInstanceUID",
            "SeriesNumber",
            "Manufacturer",
            "SOPClassUID",
            "SOPInstanceUID",
            "SpecificCharacterSet",
            "ContainerIdentifier",
            "IssuerOfTheContainerIdentifierSequence",
            "ContainerTypeCodeSequence",
            "SpecimenDescriptionSequence",
        ] {
            assert!(ds.get(k).is_some(), "{k} is missing");
        }
        // The hierarchy in the Specimen module: the slide's specimen, and its
        // preparation from the specimen collected through the block.
        let specimens = ds["SpecimenDescriptionSequence"].as_array().unwrap();
        assert_eq!(specimens.len(), 1, "{specimens:?}");
        let item = &specimens[0];
        assert_eq!(item["SpecimenIdentifier"], "222");
        assert_derived(item["SpecimenUID"].as_str().unwrap());
        assert!(item.get("IssuerOfTheSpecimenIdentifierSequence").is_some());
        let steps = preparation_steps(item);
        let pair = |c: &str, v: &str| (c.to_owned(), v.to_owned());
        let want = [
            // Collection of specimen 213.
            vec![
                pair("121041", "213"),
                pair("111701", "17636008"),
                pair("111703", "Specimen procedure"),
            ],
            // Block 456 sampled from 213.
            vec![
                pair("121041", "456"),
                pair("111701", "433465004"),
                pair("111705", "213"),
                pair("111703", "Block procedure"),
            ],
            // Slide 222 sectioned from 456.
            vec![
                pair("121041", "222"),
                pair("111701", "433465004"),
                pair("111705", "456"),
                pair("111703", "Slide procedure"),
            ],
            // Slide 222 stained with EE.
            vec![
                pair("121041", "222"),
                pair("111701", "127790008"),
                pair("424361007", "EE"),
            ],
        ];
        assert_eq!(steps.len(), want.len(), "{steps:?}");
        for (got, want) in steps.iter().zip(&want) {
            for w in want {
                assert!(got.contains(w), "step {got:?} lacks {w:?}");
            }
        }
        let text = item.to_string();
        for v in ["Specimen B Body Site", "B-1-1"] {
            assert!(
                text.contains(v),
                "{v} is not in the specimen description: {text}"
            );
        }
        let errors = unexpected_dciodvfy_errors(&object);
        assert!(errors.is_empty(), "dciodvfy: {errors:?}");

        // Another tenant, the same slide: other UIDs.
        let other = upload_to(&server, CALLING, TENANT_B.key, &parts);
        let other_ids = uids(other.ok());
        for (a, b) in ids.iter().zip(&other_ids) {
            assert_ne!(a, b, "UIDs are per tenant");
        }
        seen.push((backend, ids, other_ids));
    }
    for (backend, ids, other) in &seen[1..] {
        assert_eq!(
            (ids, other),
            (&seen[0].1, &seen[0].2),
            "{backend:?}: not deterministic"
        );
    }
}

#[test]
fn sidecar_sent_back_stores_the_slide_with_its_uids() {
    let data = data_dir();
    let s = slides(&data);
    let dir = tempfile::tempdir().unwrap();
    let svs_bytes = std::fs::read(&s.svs).unwrap();
    let zip_bytes = std::fs::read(&s.zip).unwrap();
    for backend in backends() {
        let first = Server::start(backend);
        let file_up = upload(
            &first,
            &[
                text_part("metadata", &metadata("SC-ACC", "SC-1")),
                slide_part(&s.svs, "small.svs"),
            ],
        )
        .ok()
        .clone();
        let mirax_up = upload(
            &first,
            &[
                text_part("metadata", &metadata("SC-ACC", "SC-2")),
                zip_part(&s.zip, "small.zip"),
            ],
        )
        .ok()
        .clone();
        let file_object = retrieve(&first, &TENANT_A, &uids(&file_up));
        let mirax_object = retrieve(&first, &TENANT_A, &uids(&mirax_up));
        let file_sidecar = dir.path().join(format!("{backend:?}-file.dcm"));
        let mirax_sidecar = dir.path().join(format!("{backend:?}-mirax.dcm"));
        std::fs::write(&file_sidecar, &file_object).unwrap();
        std::fs::write(&mirax_sidecar, &mirax_object).unwrap();
        // Back to the same archive: already there.
        let again = upload(
            &first,
            &[sidecar_part(&file_sidecar), slide_part(&s.svs, "small.svs")],
        );
        assert_eq!(again.ok()["alreadyStored"], true);
        assert_eq!(uids(again.ok()), uids(&file_up));

        // A fresh archive refuses what is not one of our sidecars for this file.
        let second = Server::start(backend);
        let empty = snapshot(&second);
        let ct = data.join("real/CT_small.dcm");
        let not_dicom = dir.path().join("not-dicom.dcm");
        std::fs::write(&not_dicom, b"this is not DICOM").unwrap();
        let refusals = [
            (
                "a CT image as sidecar",
                vec![sidecar_part(&ct), slide_part(&s.svs, "small.svs")],
                "invalid_sidecar",
            ),
            (
                "a sidecar that is not DICOM",
                vec![sidecar_part(&not_dicom), slide_part(&s.svs, "small.svs")],
                "invalid_sidecar",
            ),
            (
                "a sidecar of another file name",
                vec![
                    sidecar_part(&file_sidecar),
                    slide_part(&s.svs, "renamed.svs"),
                ],
                "invalid_sidecar",
            ),
            (
                "a single-file sidecar with a MIRAX zip",
                vec![sidecar_part(&file_sidecar), zip_part(&s.zip, "small.svs")],
                "wrong_slide_type",
            ),
            (
                "a MIRAX sidecar with a single file",
                vec![
                    sidecar_part(&mirax_sidecar),
                    slide_part(&s.svs, "small.svs"),
                ],
                "wrong_slide_type",
            ),
            (
                "a sidecar and metadata",
                vec![
                    sidecar_part(&file_sidecar),
                    text_part("metadata", &metadata("SC-ACC", "SC-1")),
                    slide_part(&s.svs, "small.svs"),
                ],
                "conflicting_parts",
            ),
            (
                "a sidecar twice",
                vec![
                    sidecar_part(&file_sidecar),
                    sidecar_part(&file_sidecar),
                    slide_part(&s.svs, "small.svs"),
                ],
                "duplicate_part",
            ),
        ];
        for (what, parts, code) in refusals {
            let a = upload(&second, &parts);
            assert_eq!(a.error(400), code, "{what}: {}", a.body);
            assert_unchanged(&second, &empty, what);
        }
        assert!(empty.files.is_empty());

        // Our sidecars: the slides are stored with their UIDs and objects.
        let a = upload(
            &second,
            &[
                sidecar_part(&file_sidecar),
                slide_part(&s.svs, "small.svs"),
                text_part("fileHash", &sha1_hex(&svs_bytes)),
                text_part("fileLength", &svs_bytes.len().to_string()),
            ],
        );
        assert_eq!(a.ok()["alreadyStored"], false);
        assert_eq!(a.ok()["slideType"], "file");
        assert_eq!(a.ok()["containerIdentifier"], "SC-1");
        assert_eq!(uids(a.ok()), uids(&file_up));
        // A .zip name makes a MIRAX slide whatever its Content-Type.
        let b = upload(
            &second,
            &[
                sidecar_part(&mirax_sidecar),
                slide_part(&s.zip, "small.zip"),
            ],
        );
        assert_eq!(b.ok()["slideType"], "mirax");
        assert_eq!(uids(b.ok()), uids(&mirax_up));
        assert_eq!(retrieve(&second, &TENANT_A, &uids(&file_up)), file_object);
        assert_eq!(retrieve(&second, &TENANT_A, &uids(&mirax_up)), mirax_object);
        let got = wholeslide(&second, TENANT_A.key, "SC-1");
        assert_eq!(got.status, 200);
        assert_eq!(sha1_hex(&got.body), sha1_hex(&svs_bytes));
        let got = wholeslide(&second, TENANT_A.key, "SC-2");
        assert_eq!(got.status, 200);
        assert_eq!(sha1_hex(&got.body), sha1_hex(&zip_bytes));
        assert_eq!(
            qido(&second, &TENANT_A, "/instances?ContainerIdentifier=SC-1").len(),
            1
        );
    }
}

#[test]
fn refused_uploads_leave_nothing_behind() {
    let data = data_dir();
    let tmp = tempfile::tempdir().unwrap();
    let svs = data.join("wsi/small.svs");
    let tiff = data.join("wsi/small.tiff");
    let svs_bytes = std::fs::read(&svs).unwrap();
    let len = svs_bytes.len();
    let empty = tmp.path().join("empty.svs");
    std::fs::write(&empty, b"").unwrap();
    let zip = |kind: &str, arg: Option<&str>| mkzip(tmp.path(), kind, arg);
    let (twice, nul) = (zip("twice", None), zip("nul", None));
    let (slip, absolute, symlink, bomb, many, large, outside, two, no_mrxs, small) = (
        zip("slip", None),
        zip("absolute", None),
        zip("symlink", None),
        zip("bomb", None),
        zip("many", Some("60")),
        zip("large", Some("10")),
        zip("outside", None),
        zip("twomrxs", None),
        zip("nomrxs", None),
        zip("small", None),
    );
    // Small limits: 50 entries, 8 MiB uncompressed.
    let options = Options {
        extra_toml: "[pathology]\nzip_max_entries = 50\nzip_max_uncompressed_bytes = 8388608\n"
            .into(),
        ..Options::default()
    };
    let m = || text_part("metadata", &metadata("BAD-ACC", "BAD-1"));
    let meta = |changes: Value| text_part("metadata", &metadata_with(changes));
    let f = || slide_part(&svs, "small.svs");
    let bad_zip = |zip: &Path| vec![m(), zip_part(zip, "s.zip")];
    for backend in backends() {
        let server = Server::start_with(backend, options.clone());
        // A slide already stored, which no refused upload may disturb.
        let base = upload(
            &server,
            &[text_part("metadata", &metadata("BASE-ACC", "BASE-1")), f()],
        )
        .ok()
        .clone();
        let base_sop = uids(&base)[2].clone();
        // (what, parts, status, error code, a text the message must contain)
        let cases: Vec<(&str, Vec<Value>, u16, &str, &str)> = vec![
            ("zip slip", bad_zip(&slip), 400, INVALID_ARCHIVE, "../x"),
            (
                "absolute path",
                bad_zip(&absolute),
                400,
                INVALID_ARCHIVE,
                "/etc/x",
            ),
            (
                "symlink entry",
                bad_zip(&symlink),
                400,
                INVALID_ARCHIVE,
                "s/Data0000.dat",
            ),
            (
                "zip bomb",
                bad_zip(&bomb),
                400,
                INVALID_ARCHIVE,
                "s/Data0000.dat",
            ),
            (
                "too many entries",
                bad_zip(&many),
                400,
                INVALID_ARCHIVE,
                "50",
            ),
            (
                "too large",
                bad_zip(&large),
                400,
                INVALID_ARCHIVE,
                "8388608",
            ),
            (
                "outside the data folder",
                bad_zip(&outside),
                400,
                INVALID_ARCHIVE,
                "elsewhere/",
            ),
            ("two .mrxs", bad_zip(&two), 400, INVALID_ARCHIVE, ".mrxs"),
            (
                "one name twice",
                bad_zip(&twice),
                400,
                INVALID_ARCHIVE,
                "same name",
            ),
            (
                "a NUL in a name",
                bad_zip(&nul),
                400,
                INVALID_ARCHIVE,
                "control character",
            ),
            ("not a zip", bad_zip(&svs), 400, INVALID_ARCHIVE, "zip"),
            ("no .mrxs", bad_zip(&no_mrxs), 400, "no_mrxs", NO_MRXS),
            (
                "wrong fileHash",
                vec![m(), f(), text_part("fileHash", &sha1_hex(b"other"))],
                409,
                "file_hash_mismatch",
                "",
            ),
            (
                "MIRAX fileHash of neither the .mrxs nor the zip",
                vec![
                    m(),
                    zip_part(&small, "s.zip"),
                    text_part("fileHash", &sha1_hex(&svs_bytes)),
                ],
                409,
                "file_hash_mismatch",
                "",
            ),
            (
                "malformed fileHash",
                vec![m(), f(), text_part("fileHash", "not-a-sha1")],
                400,
                "invalid_file_hash",
                "",
            ),
            (
                "short fileLength",
                vec![m(), f(), text_part("fileLength", &(len - 1).to_string())],
                409,
                "file_length_mismatch",
                "",
            ),
            (
                "long fileLength",
                vec![m(), f(), text_part("fileLength", &(len + 1).to_string())],
                409,
                "file_length_mismatch",
                "",
            ),
            (
                "MIRAX fileLength",
                vec![m(), zip_part(&small, "s.zip"), text_part("fileLength", "1")],
                409,
                "file_length_mismatch",
                "",
            ),
            (
                "malformed fileLength",
                vec![m(), f(), text_part("fileLength", "-1")],
                400,
                "invalid_file_length",
                "",
            ),
            ("missing file part", vec![m()], 400, "missing_part", ""),
            (
                "empty file",
                vec![m(), slide_part(&empty, "empty.svs")],
                400,
                "empty_file",
                "empty",
            ),
            ("missing metadata part", vec![f()], 400, "missing_part", ""),
            (
                "file part without a file name",
                vec![
                    m(),
                    file_part("file", &svs, None, "application/octet-stream"),
                ],
                400,
                "missing_file_name",
                "",
            ),
            (
                "bad JSON",
                vec![text_part("metadata", "{\"attributes\": {"), f()],
                400,
                "invalid_metadata",
                "",
            ),
            (
                "unknown keyword",
                vec![meta(json!({"PatientIdentifier": "x"})), f()],
                400,
                "invalid_metadata",
                "PatientIdentifier",
            ),
            (
                "value invalid for its VR",
                vec![meta(json!({"PatientBirthDate": "2024-01-15"})), f()],
                400,
                "invalid_metadata",
                "PatientBirthDate",
            ),
            (
                "nested in a non-sequence",
                vec![meta(json!({"PatientName/PatientID": "x"})), f()],
                400,
                "invalid_metadata",
                "PatientName",
            ),
            (
                "missing PatientID",
                vec![meta(json!({"PatientID": null})), f()],
                400,
                "invalid_metadata",
                "PatientID",
            ),
            (
                "missing AccessionNumber",
                vec![meta(json!({"AccessionNumber": null})), f()],
                400,
                "invalid_metadata",
                "AccessionNumber",
            ),
            (
                "missing ContainerIdentifier",
                vec![meta(json!({"ContainerIdentifier": null})), f()],
                400,
                "invalid_metadata",
                "ContainerIdentifier",
            ),
            (
                "unknown hierarchy field",
                vec![
                    text_part(
                        "metadata",
                        &json!({
                            "attributes": {"PatientID": "P", "AccessionNumber": "BAD-ACC",
                                "ContainerIdentifier": "BAD-1"},
                            "hierarchy": {"slide": {"colour": "red"}},
                        })
                        .to_string(),
                    ),
                    f(),
                ],
                400,
                "invalid_metadata",
                "",
            ),
            (
                "unknown part",
                vec![m(), f(), text_part("comment", "hello")],
                400,
                "unknown_part",
                "",
            ),
            (
                "metadata twice",
                vec![m(), m(), f()],
                400,
                "duplicate_part",
                "",
            ),
            (
                "the barcode of another slide",
                vec![
                    text_part(
                        "metadata",
                        &json!({"attributes": {"PatientID": "PATHO-1", "AccessionNumber": "BAD-ACC",
                            "ContainerIdentifier": "BASE-1", "SOPInstanceUID": "2.25.4242"}})
                        .to_string(),
                    ),
                    f(),
                ],
                409,
                "barcode_in_use",
                "",
            ),
            (
                "the SOP Instance UID of another study",
                vec![meta(json!({"SOPInstanceUID": base_sop})), f()],
                409,
                "slide_conflict",
                "",
            ),
            (
                "the same barcode with another file",
                vec![
                    text_part("metadata", &metadata("BASE-ACC", "BASE-1")),
                    slide_part(&tiff, "small.svs"),
                ],
                409,
                "slide_conflict",
                "",
            ),
        ];
        let check_nothing_left = |before: &Snapshot, what: &str| {
            assert_unchanged(&server, before, what);
            assert!(
                qido(&server, &TENANT_A, "/instances?ContainerIdentifier=BAD-1").is_empty(),
                "{what}: indexed"
            );
            assert!(qido(&server, &TENANT_A, "/studies?AccessionNumber=BAD-ACC").is_empty());
            let base = qido(&server, &TENANT_A, "/instances?ContainerIdentifier=BASE-1");
            assert_eq!(base.len(), 1, "{what}");
            assert_eq!(base[0]["00080018"]["Value"][0], base_sop.as_str());
            assert_eq!(study_count(&server, &TENANT_A), 1, "{what}");
        };
        for (what, parts, status, code, needle) in cases {
            let before = snapshot(&server);
            let a = upload(&server, &parts);
            assert_eq!(a.error(status), code, "{what}: {}", a.body);
            let message = a.message().unwrap();
            if code == "no_mrxs" {
                assert_eq!(message, NO_MRXS, "the source document's message");
            }
            assert!(message.contains(needle), "{what}: {message}");
            check_nothing_left(&before, what);
        }
        // Refused before the body is read or parsed.
        let before = snapshot(&server);
        let parts = [m(), f()];
        let a = upload_to(&server, CALLING, "-", &parts);
        assert_eq!(a.status, 401, "{}", a.body);
        let a = upload_to(&server, CALLING, "not-a-key", &parts);
        assert_eq!(a.status, 401, "{}", a.body);
        let a = upload_to(&server, "NOT-A-VALID-CALLING-AET", TENANT_A.key, &parts);
        assert_eq!(a.error(400), "invalid_calling_aet");
        for (what, ct, body) in [
            (
                "a JSON body",
                "application/json",
                metadata("BAD-ACC", "BAD-1"),
            ),
            (
                "a multipart/related body",
                "multipart/related; type=\"application/dicom\"; boundary=x",
                "--x\r\n\r\nhello\r\n--x--\r\n".to_owned(),
            ),
        ] {
            let a = request(
                "POST",
                &server.url(&format!("/pathoRsListener/{CALLING}/studies")),
                Some(TENANT_A.key),
                &[("Content-Type", ct)],
                Some(body.into_bytes()),
            );
            assert_eq!(a.assert_json_error(400), "not_multipart", "{what}");
        }
        check_nothing_left(&before, "unauthorised or not multipart");
        // The stored slide is intact.
        let got = wholeslide(&server, TENANT_A.key, "BASE-1");
        assert_eq!(got.status, 200);
        assert_eq!(sha1_hex(&got.body), sha1_hex(&svs_bytes));
    }
}

#[test]
fn slides_are_indexed_counted_and_deprecated_like_any_instance() {
    let data = data_dir();
    let svs = data.join("wsi/small.svs");
    let svs_sha1 = sha1_hex(&std::fs::read(&svs).unwrap());
    let meta = json!({"attributes": {
        "PatientID": "IDX-P",
        "PatientName": "INDEX^ED",
        "AccessionNumber": "IDX-ACC",
        "ContainerIdentifier": "IDX-1",
        "StudyDescription": "Biopsy",
        "ScheduledProcedureStepSequence/ScheduledStationAETitle": "SCANNER1",
        "ScheduledProcedureStepSequence/ScheduledProcedureStepID": "SPS-7",
    }})
    .to_string();
    let parts = [text_part("metadata", &meta), slide_part(&svs, "small.svs")];
    for backend in backends() {
        let server = Server::start(backend);
        let before = last_event(&server, &TENANT_A);
        // Sent with curl this time.
        let up = curl_upload(
            &server,
            &[
                ("--form-string", format!("metadata={meta}")),
                (
                    "-F",
                    format!(
                        "file=@{};filename=small.svs;type=application/octet-stream",
                        svs.display()
                    ),
                ),
                ("-F", format!("fileHash={svs_sha1}")),
            ],
        );
        let ids = uids(&up);
        let [study, series, sop] = ids.clone();

        // Nested attributes land in their sequence.
        let ds = dicom_json(&retrieve(&server, &TENANT_A, &ids));
        let sps = &ds["ScheduledProcedureStepSequence"];
        assert_eq!(sps.as_array().map(Vec::len), Some(1), "{ds}");
        assert_eq!(sps[0]["ScheduledStationAETitle"], "SCANNER1");
        assert_eq!(sps[0]["ScheduledProcedureStepID"], "SPS-7");

        // QIDO: ContainerIdentifier is a matching key at instance level.
        for query in ["ContainerIdentifier=IDX-1", "ContainerIdentifier=IDX-*"] {
            let hits = qido(&server, &TENANT_A, &format!("/instances?{query}"));
            assert_eq!(hits.len(), 1, "{query}");
            let hit = &hits[0];
            assert_eq!(hit["00080018"]["Value"][0], sop.as_str());
            assert_eq!(hit["00080016"]["Value"][0], SOP_CLASS);
            assert_eq!(hit["0020000D"]["Value"][0], study.as_str());
            assert_eq!(hit["00080060"]["Value"][0], "SM");
        }
        assert!(qido(&server, &TENANT_A, "/instances?ContainerIdentifier=IDX-2").is_empty());
        let studies = qido(&server, &TENANT_A, "/studies?AccessionNumber=IDX-ACC");
        assert_eq!(studies.len(), 1);
        assert_eq!(studies[0]["00100020"]["Value"][0], "IDX-P");
        assert_eq!(qido(&server, &TENANT_A, "/series?Modality=SM").len(), 1);
        assert_eq!(study_count(&server, &TENANT_A), 1);
        let si = get(
            &server.url(&format!("/studyInstances?studyUid={study}")),
            TENANT_A.key,
        );
        assert_eq!(si.status, 200, "{}", si.text());
        assert_eq!(si.json()[0]["sopInstanceUid"], sop.as_str());
        assert_eq!(si.json()[0]["modality"], "SM");

        // Events of the store.
        let events = events_after(&server, &TENANT_A, before);
        let stored: Vec<&Value> = events
            .iter()
            .filter(|e| e["eventType"] == "INSTANCE_STORED")
            .collect();
        assert_eq!(stored.len(), 1, "{events:?}");
        assert_eq!(stored[0]["details"]["sopInstanceUid"], sop.as_str());
        assert_eq!(stored[0]["details"]["sopClassUid"], SOP_CLASS);
        assert_eq!(stored[0]["details"]["callingAet"], CALLING);
        assert_eq!(stored[0]["seriesInstanceUid"], series.as_str());
        assert!(
            events
                .iter()
                .any(|e| e["eventType"] == "STUDY_CREATED"
                    && e["studyInstanceUid"] == study.as_str())
        );

        // Another tenant sees nothing.
        wholeslide(&server, TENANT_B.key, "IDX-1").assert_json_error(404);
        assert!(qido(&server, &TENANT_B, "/instances?ContainerIdentifier=IDX-1").is_empty());
        assert_eq!(study_count(&server, &TENANT_B), 0);

        // Deprecation by containerIdentifier hides the slide, keeps its files.
        let files = snapshot(&server).files;
        let before = last_event(&server, &TENANT_A);
        let dep = post_json(
            &server,
            "/series/deprecation",
            &TENANT_A,
            &json!({"containerIdentifier": "IDX-1", "author": "JaneDoe", "reason": "wrong slide"}),
        );
        assert_eq!(dep.status, 200, "{}", dep.text());
        assert_eq!(dep.json()["message"], "deprecation successful");
        wholeslide(&server, TENANT_A.key, "IDX-1").assert_json_error(404);
        assert!(qido(&server, &TENANT_A, "/instances?ContainerIdentifier=IDX-1").is_empty());
        assert_eq!(study_count(&server, &TENANT_A), 0);
        assert_eq!(
            snapshot(&server).files,
            files,
            "deprecation deletes nothing"
        );
        let events = events_after(&server, &TENANT_A, before);
        assert!(
            events.iter().any(|e| e["eventType"] == "SERIES_DEPRECATED"
                && e["seriesInstanceUid"] == series.as_str()),
            "{events:?}"
        );

        // The same slide may then be stored again, as new data.
        let again = upload(&server, &parts);
        assert_eq!(again.ok()["alreadyStored"], false);
        assert_eq!(uids(again.ok()), ids);
        let got = wholeslide(&server, TENANT_A.key, "IDX-1");
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(sha1_hex(&got.body), svs_sha1);
        assert_eq!(study_count(&server, &TENANT_A), 1);
    }
}

#[test]
fn dicom_wsi_whole_slide_is_its_baseline() {
    let data = data_dir();
    let small = dcm_files(&data.join("wsi/dicom-small"));
    let split = dcm_files(&data.join("wsi/dicom-small-split"));
    let read_all = |files: &[PathBuf]| -> Vec<Vec<u8>> {
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    };
    let (small_parts, split_parts) = (read_all(&small), read_all(&split));
    let baseline = small
        .iter()
        .find(|p| p.ends_with("wsi-000000.dcm"))
        .unwrap();
    let baseline_sop = dump(baseline)["SOPInstanceUID"]
        .as_str()
        .unwrap()
        .to_owned();
    // The split slide's baseline: the instances with the largest total pixel matrix.
    let headers: Vec<(PathBuf, Value)> = split.iter().map(|p| (p.clone(), dump(p))).collect();
    let area = |h: &Value| {
        h["TotalPixelMatrixRows"].as_u64().unwrap() * h["TotalPixelMatrixColumns"].as_u64().unwrap()
    };
    let largest = headers.iter().map(|(_, h)| area(h)).max().unwrap();
    let split_baseline: BTreeMap<String, PathBuf> = headers
        .iter()
        .filter(|(_, h)| area(h) == largest)
        .map(|(p, h)| {
            (
                format!("{}.dcm", h["SOPInstanceUID"].as_str().unwrap()),
                p.clone(),
            )
        })
        .collect();
    assert_eq!(split_baseline.len(), 7, "the generated split slide");
    let tmp = tempfile::tempdir().unwrap();

    for backend in backends() {
        // One baseline instance: returned as stored.
        let server = Server::start(backend);
        let a = stow(&server, &TENANT_A, CALLING, &small_parts);
        assert_eq!(a.status, 200, "{}", a.text());
        let got = wholeslide(&server, TENANT_A.key, "SLIDE-0001");
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(got.header("content-type"), Some("application/dicom"));
        assert_eq!(
            got.header("content-disposition"),
            Some(format!("attachment; filename=\"{baseline_sop}.dcm\"").as_str())
        );
        assert!(
            got.body == small_parts[0],
            "not byte-identical to wsi-000000.dcm"
        );
        let r = request(
            "GET",
            &server.url("/wholeslide?barcode=SLIDE-0001"),
            Some(TENANT_A.key),
            &[("Range", "bytes=128-131")],
            None,
        );
        assert_eq!((r.status, r.body.as_slice()), (206, b"DICM".as_slice()));
        // That barcode is taken: a slide upload with it is refused.
        let before = snapshot(&server);
        let a = upload(
            &server,
            &[
                text_part("metadata", &metadata("WSI-ACC", "SLIDE-0001")),
                slide_part(&data.join("wsi/small.svs"), "small.svs"),
            ],
        );
        assert_eq!(a.error(409), "barcode_in_use");
        assert_unchanged(&server, &before, "a slide with a DICOM WSI's barcode");

        // A baseline over several instances: a zip of exactly those.
        let server = Server::start(backend);
        let a = stow(&server, &TENANT_A, CALLING, &split_parts);
        assert_eq!(a.status, 200, "{}", a.text());
        let got = wholeslide(&server, TENANT_A.key, "SLIDE-0001");
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(got.header("content-type"), Some("application/zip"));
        assert_eq!(
            got.header("content-disposition"),
            Some("attachment; filename=\"SLIDE-0001.zip\"")
        );
        let zip = tmp.path().join(format!("{backend:?}.zip"));
        std::fs::write(&zip, &got.body).unwrap();
        let out = tmp.path().join(format!("{backend:?}"));
        let names: Vec<String> = serde_json::from_str(&python(
            "patho.py",
            &["unzip", zip.to_str().unwrap(), out.to_str().unwrap()],
        ))
        .unwrap();
        let names: BTreeSet<String> = names.into_iter().collect();
        assert_eq!(
            names,
            split_baseline.keys().cloned().collect::<BTreeSet<_>>()
        );
        for (name, original) in &split_baseline {
            let entry = out.join(name);
            assert!(
                std::fs::read(&entry).unwrap() == std::fs::read(original).unwrap(),
                "{name} is not byte-identical to {}",
                original.display()
            );
            let h = dump(&entry);
            assert_eq!(
                (&h["TotalPixelMatrixRows"], &h["TotalPixelMatrixColumns"]),
                (&json!(8192), &json!(8192)),
                "{name}"
            );
        }

        // Two slides with that barcode: 409.
        let a = stow(&server, &TENANT_A, CALLING, &small_parts);
        assert_eq!(a.status, 200, "{}", a.text());
        wholeslide(&server, TENANT_A.key, "SLIDE-0001").assert_json_error(409);
    }
}

#[test]
fn wholeslide_errors_follow_the_source_document() {
    for backend in backends() {
        let server = Server::start(backend);
        let url = |q: &str| server.url(&format!("/wholeslide{q}"));
        request("GET", &url("?barcode=X"), None, &[], None).assert_json_error(401);
        request("GET", &url("?barcode=X"), Some("wrong-key"), &[], None).assert_json_error(401);
        for q in ["", "?barcode=", "?barcode=%20%20", "?other=X"] {
            get(&url(q), TENANT_A.key).assert_json_error(400);
        }
        get(&url("?barcode=NOT-A-SLIDE"), TENANT_A.key).assert_json_error(404);
    }
}

#[test]
fn concurrent_uploads_keep_one_slide_per_barcode() {
    for backend in backends() {
        let server = Server::start(backend);
        for round in 0..3 {
            // The same slide eight times at once (file part first): one store.
            let barcode = format!("SAME-{round}");
            let meta = metadata("CONC-ACC", &barcode);
            let content = format!("slide {round} ").repeat(20_000).into_bytes();
            let body = form_data(&[
                ("file", Some("same.svs"), &content),
                ("metadata", None, meta.as_bytes()),
            ]);
            let before = server.stored_files().len();
            let answers = all_at_once(&server, vec![body; 8]);
            for a in &answers {
                assert_eq!(a.status, 200, "{}", a.text());
            }
            let fresh = answers
                .iter()
                .filter(|a| a.json()["alreadyStored"] == false)
                .count();
            assert_eq!(
                fresh, 1,
                "{backend:?}: one upload stores, the others find it"
            );
            assert_eq!(server.stored_files().len(), before + 2);
            let got = wholeslide(&server, TENANT_A.key, &barcode);
            assert_eq!((got.status, got.body), (200, content));

            // Eight different slides (their own SOP Instance UIDs) with one
            // barcode at once: one is stored, the others are conflicts.
            let barcode = format!("RACE-{round}");
            let bodies: Vec<(Vec<u8>, String)> = (0..8)
                .map(|i| {
                    let meta = json!({"attributes": {
                        "PatientID": "P",
                        "AccessionNumber": "RACE-ACC",
                        "ContainerIdentifier": barcode,
                        "SOPInstanceUID": format!("2.25.9{round}{i}"),
                    }});
                    let content = format!("slide {round}-{i} ").repeat(20_000).into_bytes();
                    form_data(&[
                        ("metadata", None, meta.to_string().as_bytes()),
                        ("file", Some("race.svs"), &content),
                    ])
                })
                .collect();
            let before = snapshot(&server);
            let answers = all_at_once(&server, bodies);
            let stored = answers.iter().filter(|a| a.status == 200).count();
            for a in answers.iter().filter(|a| a.status != 200) {
                a.assert_json_error(409);
            }
            assert_eq!(
                stored, 1,
                "{backend:?} round {round}: {stored} slides were stored with barcode {barcode}"
            );
            assert_eq!(server.stored_files().len(), before.files.len() + 2);
            assert!(staging(&server).is_empty());
            assert_eq!(wholeslide(&server, TENANT_A.key, &barcode).status, 200);
            assert_eq!(
                qido(
                    &server,
                    &TENANT_A,
                    &format!("/instances?ContainerIdentifier={barcode}")
                )
                .len(),
                1
            );
        }
    }
}

#[test]
fn file_names_and_body_limits() {
    let data = data_dir();
    let svs = data.join("wsi/small.svs");
    let options = Options {
        env: vec![(
            "PACS__SERVER__MAX_BODY_BYTES".into(),
            (4u64 << 20).to_string(),
        )],
        ..Options::default()
    };
    for backend in backends() {
        let server = Server::start_with(backend, options.clone());
        // The name the scanner gave is the name given back, whatever it holds.
        let long = format!("{}.svs", "n".repeat(251));
        for (i, name) in ["my slide (1).svs", "lamé.svs", ".hidden", long.as_str()]
            .into_iter()
            .enumerate()
        {
            let barcode = format!("NAME-{i}");
            let (body, ct) = form_data(&[
                ("metadata", None, metadata("NAME-ACC", &barcode).as_bytes()),
                ("file", Some(name), b"slide bytes"),
            ]);
            let a = request(
                "POST",
                &server.url(&format!("/pathoRsListener/{CALLING}/studies")),
                Some(TENANT_A.key),
                &[("Content-Type", ct.as_str())],
                Some(body),
            );
            assert_eq!(a.status, 200, "{} bytes {name:?}: {}", name.len(), a.text());
            assert_eq!(a.json()["fileName"], name);
            let got = wholeslide(&server, TENANT_A.key, &barcode);
            assert_eq!(got.status, 200);
            assert_eq!(got.body, b"slide bytes");
            let disposition = got.header("content-disposition").unwrap();
            if name.is_ascii() {
                assert_eq!(disposition, format!("attachment; filename=\"{name}\""));
            } else {
                assert!(
                    disposition.contains("filename*=UTF-8''lam%C3%A9.svs"),
                    "{disposition}"
                );
            }
        }
        assert!(staging(&server).is_empty());

        // Over server.max_body_bytes: 413, nothing left.
        let before = snapshot(&server);
        let a = upload(
            &server,
            &[
                text_part("metadata", &metadata("BIG-ACC", "BIG-1")),
                slide_part(&svs, "small.svs"),
            ],
        );
        a.error(413);
        assert_unchanged(&server, &before, "a body over the limit");
        assert!(qido(&server, &TENANT_A, "/instances?ContainerIdentifier=BIG-1").is_empty());
    }
}

/// A relocated slide (its file and its sidecar) is served from the new medium,
/// byte for byte, and nothing of it is left on the old one.
#[test]
fn relocated_slide_is_served_from_its_new_medium() {
    let data = data_dir();
    let s = slides(&data);
    for backend in backends() {
        let second = tempfile::tempdir().unwrap();
        let server = Server::start_with(
            backend,
            Options {
                extra_toml: format!(
                    "[[storage.media]]\nname = \"offline\"\npath = \"{}\"\n",
                    second.path().display()
                ),
                ..Options::default()
            },
        );
        let bytes = std::fs::read(&s.svs).unwrap();
        let up = upload(
            &server,
            &[
                text_part("metadata", &metadata("RELOC-SLIDE-ACC", "RELOC-SLIDE")),
                slide_part(&s.svs, "small.svs"),
            ],
        );
        let [study, ..] = uids(up.ok());
        assert_eq!(server.stored_files().len(), 2, "slide and sidecar");
        let a = post_json(
            &server,
            "/studies/relocation",
            &TENANT_A,
            &json!({"studyInstanceUid": study, "physicalMediumName": "offline", "author": "JaneDoe"}),
        );
        assert_eq!(a.status, 200, "{}", a.text());
        assert!(server.stored_files().is_empty(), "old copies removed");
        let moved: Vec<PathBuf> = files_under(second.path())
            .into_iter()
            .filter(|p| !p.components().any(|c| c.as_os_str() == ".staging"))
            .collect();
        assert_eq!(moved.len(), 2, "{moved:?}");
        let got = wholeslide(&server, TENANT_A.key, "RELOC-SLIDE");
        assert_eq!(got.status, 200, "{}", got.text());
        assert_eq!(
            sha1_hex(&got.body),
            sha1_hex(&bytes),
            "byte-identical slide"
        );
    }
}

/// A file name outside Latin-1 (once a 500) is kept as sent and given back.
#[test]
fn a_slide_named_outside_latin1_is_stored_and_named_back() {
    let data = data_dir();
    let s = slides(&data);
    let server = Server::start(Backend::Sqlite);
    for (name, barcode) in [("切片.svs", "UNI-1"), ("☃ snow.svs", "UNI-2")] {
        let meta = metadata(&format!("{barcode}-ACC"), barcode);
        let answer = upload(
            &server,
            &[text_part("metadata", &meta), slide_part(&s.svs, name)],
        );
        if answer.status != 200 {
            eprintln!("LOG: {}", server.log_text());
        }
        answer.ok();
        let got = wholeslide(&server, TENANT_A.key, barcode);
        assert_eq!(got.status, 200, "{name}: {}", got.text());
        let disposition = got.header("content-disposition").unwrap_or_default();
        let encoded: String = name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert!(
            disposition.contains(&encoded),
            "{name}: {disposition} lacks filename*=UTF-8''{encoded}"
        );
        assert_eq!(got.body, std::fs::read(&s.svs).unwrap(), "{name}");
    }
}

#[test]
fn a_slide_of_another_patient_cannot_join_a_stored_study() {
    let data = data_dir();
    let s = slides(&data);
    let dir = tempfile::tempdir().unwrap();
    for backend in backends() {
        let server = Server::start(backend);
        let first = upload(
            &server,
            &[
                text_part("metadata", &metadata("JOIN-ACC", "JOIN-1")),
                slide_part(&s.svs, "small.svs"),
            ],
        )
        .ok()
        .clone();
        let ids = uids(&first);
        let object = dir.path().join(format!("{backend:?}-sidecar.dcm"));
        std::fs::write(&object, retrieve(&server, &TENANT_A, &ids)).unwrap();
        let forged = dir.path().join(format!("{backend:?}-forged.dcm"));
        std::fs::write(
            &forged,
            variant(
                &object,
                &[
                    "SOPInstanceUID=NEW",
                    "SeriesInstanceUID=NEW",
                    "ContainerIdentifier=JOIN-4",
                    "PatientID=MALLORY",
                ],
            ),
        )
        .unwrap();
        let before = snapshot(&server);
        let other_patient = |changes: Value| {
            let mut all = json!({"PatientID": "MALLORY", "PatientName": "MALLORY^M"});
            all.as_object_mut()
                .unwrap()
                .extend(changes.as_object().unwrap().clone());
            metadata_with(all)
        };
        let attempts = [
            (
                "the same accession number (so the same study)",
                vec![
                    text_part(
                        "metadata",
                        &other_patient(
                            json!({"AccessionNumber": "JOIN-ACC", "ContainerIdentifier": "JOIN-2"}),
                        ),
                    ),
                    slide_part(&s.svs, "small.svs"),
                ],
            ),
            (
                "the study's UID in the metadata",
                vec![
                    text_part(
                        "metadata",
                        &other_patient(
                            json!({"StudyInstanceUID": ids[0], "ContainerIdentifier": "JOIN-3"}),
                        ),
                    ),
                    slide_part(&s.svs, "small.svs"),
                ],
            ),
            (
                "a forged sidecar",
                vec![sidecar_part(&forged), slide_part(&s.svs, "small.svs")],
            ),
        ];
        for (what, parts) in attempts {
            let refused = upload(&server, &parts);
            assert_eq!(
                refused.error(409),
                "patient_mismatch",
                "{backend:?}: {what}"
            );
            assert!(
                refused
                    .message()
                    .unwrap()
                    .contains("in conflict with data already present"),
                "{backend:?}: {what}: {:?}",
                refused.message()
            );
            assert_unchanged(&server, &before, what);
        }
        let found = qido(
            &server,
            &TENANT_A,
            &format!("/studies?StudyInstanceUID={}", ids[0]),
        );
        assert_eq!(found[0]["00100020"]["Value"][0], "PATHO-1", "{backend:?}");
        assert_eq!(found[0]["00201208"]["Value"][0], 1, "{backend:?}");
    }
}
