//! The DICOM listener against real DCMTK peers (`echoscu`, `storescu`, `findscu`,
//! `getscu`, `movescu`, with
//! `TCP_NODELAY=1`): who may associate, C-ECHO, C-STORE of the real corpus
//! read back byte for byte over WADO-RS, concurrent associations, C-FIND, C-GET,
//! C-MOVE to `storescp`, the modality worklist (`findscu -W`); storage
//! commitment with pynetdicom.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

/// Nodes of tenant alpha: the modalities of the bulk set and a workstation.
const ALPHA_NODES: &[&str] = &["MOD01", "MOD02", "MOD03", "MOD04", "WORKSTATION"];

fn nodes_toml(aes: &[&str]) -> String {
    aes.iter()
        .map(|ae| format!("[[tenants.nodes]]\nae_title = \"{ae}\"\n"))
        .collect()
}

/// A server with the DICOM listener; beta knows only `BETA01`.
fn dimse_server(backend: Backend, dimse_toml: &str) -> Server {
    let server = Server::start_with(
        backend,
        Options {
            alpha_toml: nodes_toml(ALPHA_NODES),
            extra_toml: format!(
                "{}\n[dimse]\nbind = \"127.0.0.1:0\"\n{dimse_toml}\n",
                nodes_toml(&["BETA01"])
            ),
            ..Options::default()
        },
    );
    assert!(
        server.dimse.is_some(),
        "no DICOM ready line:\n{}",
        server.log_text()
    );
    server
}

/// Host and port of the server's DICOM listener.
fn address(server: &Server) -> (String, String) {
    let addr = server.dimse.as_deref().expect("DICOM listener");
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    (host.to_owned(), port.to_owned())
}

/// Runs a DCMTK tool from /usr/bin (not a same-named Python script on PATH)
/// with TCP_NODELAY, as the issue asks.
fn dcmtk(tool: &str, args: &[&str]) -> Output {
    let path = Path::new("/usr/bin").join(tool);
    if !path.exists() {
        missing(&format!("DCMTK's {tool}"), "tests/peers/install.sh");
    }
    Command::new(path)
        .args(args)
        .env("TCP_NODELAY", "1")
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn echo(server: &Server, calling: &str, called: &str) -> Output {
    let (host, port) = address(server);
    dcmtk("echoscu", &["-aet", calling, "-aec", called, &host, &port])
}

#[test]
fn echo_answers_a_tenants_nodes_and_rejects_every_other_caller() {
    for backend in backends() {
        let server = dimse_server(backend, "");
        let ok = echo(&server, "MOD01", TENANT_A.ae);
        assert!(ok.status.success(), "echo from a node: {}", text(&ok));
        let ok = echo(&server, "BETA01", TENANT_B.ae);
        assert!(
            ok.status.success(),
            "echo to beta from its node: {}",
            text(&ok)
        );

        let unknown = echo(&server, "STRANGER", TENANT_A.ae);
        assert!(!unknown.status.success(), "an unknown caller was accepted");
        assert!(
            text(&unknown).contains("Calling AE Title Not Recognized"),
            "{}",
            text(&unknown)
        );
        // A node of alpha is a stranger to beta.
        let other_tenant = echo(&server, "MOD01", TENANT_B.ae);
        assert!(
            text(&other_tenant).contains("Calling AE Title Not Recognized"),
            "{}",
            text(&other_tenant)
        );
        let wrong_called = echo(&server, "MOD01", "NOSUCHPACS");
        assert!(
            !wrong_called.status.success(),
            "a wrong called AE was accepted"
        );
        assert!(
            text(&wrong_called).contains("Called AE Title Not Recognized"),
            "{}",
            text(&wrong_called)
        );
    }
}

#[test]
fn any_calling_ae_is_accepted_when_the_policy_says_so() {
    let server = dimse_server(Backend::Sqlite, "calling_ae_titles = \"any\"");
    let ok = echo(&server, "STRANGER", TENANT_A.ae);
    assert!(ok.status.success(), "{}", text(&ok));
    let wrong_called = echo(&server, "STRANGER", "NOSUCHPACS");
    assert!(
        text(&wrong_called).contains("Called AE Title Not Recognized"),
        "{}",
        text(&wrong_called)
    );
}

#[test]
fn associations_over_the_limit_are_rejected_for_now_and_idle_ones_closed() {
    let server = dimse_server(
        Backend::Sqlite,
        "max_associations = 1\nidle_timeout_secs = 2",
    );
    let (host, port) = address(&server);
    // A bare connection holds the only slot until the idle timeout closes it.
    let held = std::net::TcpStream::connect(format!("{host}:{port}")).expect("connect");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let metrics = request("GET", &format!("{}/metrics", server.base), None, &[], None);
    assert!(
        metrics.text().contains("pacs_dimse_associations_active 1"),
        "{}",
        metrics.text()
    );
    let busy = echo(&server, "MOD01", TENANT_A.ae);
    assert!(!busy.status.success(), "a second association was served");
    assert!(
        text(&busy).contains("Local Limit Exceeded"),
        "{}",
        text(&busy)
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    let ok = echo(&server, "MOD01", TENANT_A.ae);
    assert!(ok.status.success(), "after the idle timeout: {}", text(&ok));
    drop(held);
}

#[test]
fn sigterm_stops_the_listener_with_an_idle_association_open() {
    let mut server = dimse_server(Backend::Sqlite, "");
    let (host, port) = address(&server);
    let _idle = std::net::TcpStream::connect(format!("{host}:{port}")).expect("connect");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let status = server.terminate();
    assert!(status.success(), "{status:?}\n{}", server.log_text());
    // The idle association is aborted, not waited for (grace is 10 s, idle timeout 60 s).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(
        std::net::TcpStream::connect(format!("{host}:{port}")).is_err(),
        "the listener still accepts"
    );
}

/// What a Part 10 file says of itself: SOP Instance UID, transfer syntax, and
/// where its data set starts (after the File Meta Information).
struct Part10 {
    sop: String,
    transfer_syntax: String,
    dataset_at: usize,
}

fn part10(bytes: &[u8]) -> Part10 {
    assert_eq!(&bytes[128..132], b"DICM", "not a Part 10 file");
    let (mut at, mut sop, mut ts) = (132usize, String::new(), String::new());
    while at + 8 <= bytes.len() && bytes[at] == 0x02 && bytes[at + 1] == 0x00 {
        let element = u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]);
        let vr = &bytes[at + 4..at + 6];
        let (len, head) = if [&b"OB"[..], b"OW", b"SQ", b"UN", b"UT"].contains(&vr) {
            let l = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            (l, 12)
        } else {
            (
                u16::from_le_bytes([bytes[at + 6], bytes[at + 7]]) as usize,
                8,
            )
        };
        let value = String::from_utf8_lossy(&bytes[at + head..at + head + len])
            .trim_end_matches(['\0', ' '])
            .to_owned();
        match element {
            0x0003 => sop = value,
            0x0010 => ts = value,
            _ => {}
        }
        at += head + len;
    }
    Part10 {
        sop,
        transfer_syntax: ts,
        dataset_at: at,
    }
}

/// The storescu option that proposes `ts` first, so the data set travels
/// (and is stored) in the file's own transfer syntax.
fn proposal(ts: &str) -> &'static str {
    match ts {
        "1.2.840.10008.1.2" => "-xi",
        "1.2.840.10008.1.2.1" => "-xe",
        "1.2.840.10008.1.2.2" => "-xb",
        "1.2.840.10008.1.2.1.99" => "-xd",
        "1.2.840.10008.1.2.4.50" => "-xy",
        "1.2.840.10008.1.2.4.51" => "-xx",
        "1.2.840.10008.1.2.4.70" => "-xs",
        "1.2.840.10008.1.2.4.80" => "-xt",
        "1.2.840.10008.1.2.4.81" => "-xu",
        "1.2.840.10008.1.2.4.90" => "-xv",
        "1.2.840.10008.1.2.4.91" => "-xw",
        "1.2.840.10008.1.2.5" => "-xr",
        other => panic!("no storescu proposal for transfer syntax {other}"),
    }
}

/// The instance `sop` of tenant alpha as WADO-RS returns it.
fn wado(server: &Server, sop: &str) -> Vec<u8> {
    let found = qido(
        server,
        &TENANT_A,
        &format!("/instances?SOPInstanceUID={sop}"),
    );
    assert_eq!(found.len(), 1, "QIDO finds {sop} once");
    let uid = |tag: &str| found[0][tag]["Value"][0].as_str().unwrap().to_owned();
    retrieve_instance(server, &TENANT_A, &uid("0020000D"), &uid("0020000E"), sop)
}

/// The top-level files of real/, the first of each SOP Instance UID apart
/// from the later ones (same UID, other content).
fn corpus(data: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("real"))
        .expect("real/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    files.sort();
    let mut seen = HashMap::new();
    let (mut first, mut again) = (Vec::new(), Vec::new());
    for f in files {
        if seen.insert(sop_of(&f), ()).is_none() {
            first.push(f);
        } else {
            again.push(f);
        }
    }
    (first, again)
}

fn storescu(server: &Server, calling: &str, extra: &[&str], files: &[PathBuf]) -> Output {
    let (host, port) = address(server);
    // -v: each response's status is printed.
    let mut args: Vec<String> = ["-v", "-aet", calling, "-aec", TENANT_A.ae]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push(host);
    args.push(port);
    args.extend(files.iter().map(|f| f.to_string_lossy().into_owned()));
    dcmtk(
        "storescu",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

/// What storescu sends of each file, as DCMTK's storescp receives it in
/// bit-preserving mode: the data set (by SOP Instance UID) the archive must
/// store and return byte for byte.
fn storescp_copies(by_ts: &BTreeMap<String, Vec<PathBuf>>) -> HashMap<String, Vec<u8>> {
    let scp = Path::new("/usr/bin/storescp");
    if !scp.exists() {
        missing("DCMTK's storescp", "tests/peers/install.sh");
    }
    let dir = tempfile::tempdir().unwrap();
    for (ts, files) in by_ts {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        // The same preference as storescu's proposal: `-xw` → `+xw`.
        let prefer = proposal(ts).replacen('-', "+", 1);
        let mut child = Command::new(scp)
            .args(["+B", "-pm", &prefer, "-od"])
            .arg(dir.path())
            .args(["-aet", "REFERENCE", &port])
            .env("TCP_NODELAY", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("storescp runs");
        let up = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok()
        });
        assert!(up, "storescp did not listen");
        let mut args = vec!["-R", proposal(ts), "-aec", "REFERENCE", "127.0.0.1", &port];
        let names: Vec<String> = files
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        args.extend(names.iter().map(String::as_str));
        let out = dcmtk("storescu", &args);
        let _ = child.kill();
        let _ = child.wait();
        let refused = files.iter().any(|f| f.ends_with(NO_STUDY_UID));
        assert!(
            out.status.success() || refused,
            "storescu to storescp {ts}: {}",
            text(&out)
        );
    }
    files_under(dir.path())
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).unwrap();
            let p = part10(&bytes);
            (p.sop, bytes[p.dataset_at..].to_vec())
        })
        .collect()
}

/// The one file of real/ without a Study Instance UID: refused by C-STORE
/// as by STOW-RS.
const NO_STUDY_UID: &str = "JPEGLSNearLossless_16.dcm";

#[test]
fn storescu_of_the_real_corpus_comes_back_byte_identical_over_wado_rs() {
    let data = data_dir();
    let (first, again) = corpus(&data);
    assert_eq!(
        (first.len(), again.len()),
        (32, 14),
        "the test data set changed"
    );
    for backend in backends() {
        let server = dimse_server(backend, "");
        let mut by_ts: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for f in &first {
            let p = part10(&std::fs::read(f).unwrap());
            by_ts.entry(p.transfer_syntax).or_default().push(f.clone());
        }
        let received = storescp_copies(&by_ts);
        for (ts, files) in &by_ts {
            // -R: propose the files' own SOP classes, whatever they are.
            let out = storescu(&server, "MOD01", &["-R", proposal(ts)], files);
            let refused = files.iter().any(|f| f.ends_with(NO_STUDY_UID));
            assert!(
                out.status.success() || refused,
                "storescu {ts}: {}",
                text(&out)
            );
            if refused {
                // Refused with the reason, as STOW-RS refuses it.
                assert!(
                    text(&out).contains("Cannot understand")
                        || text(&out).contains("CannotUnderstand"),
                    "{}",
                    text(&out)
                );
            }
        }
        let mut identical = 0;
        for f in first.iter().filter(|f| !f.ends_with(NO_STUDY_UID)) {
            let sent = std::fs::read(f).unwrap();
            let p = part10(&sent);
            // The data set's UID (one file's File Meta names another).
            let sop = sop_of(f);
            let back = wado(&server, &sop);
            let b = part10(&back);
            assert_eq!(b.transfer_syntax, p.transfer_syntax, "{}", f.display());
            let reference = &received[&sop];
            assert!(
                back[b.dataset_at..] == reference[..],
                "{}: the data set did not come back as storescu sent it",
                f.display()
            );
            identical += usize::from(back[b.dataset_at..] == sent[p.dataset_at..]);
        }
        // storescu rewrites some files as it sends them (group lengths
        // recomputed, odd-length values padded): 11 of the 31 travel as stored.
        assert_eq!(identical, 11, "data sets that are the files' own");
        // The same SOP Instance UIDs with other content are refused (the
        // duplicates policy "reject", as for STOW-RS); the same content again
        // is a success (idempotent). Either way the first stays as it was.
        let stored_before = server.stored_files().len();
        let mut refused = 0;
        for f in &again {
            let p = part10(&std::fs::read(f).unwrap());
            let out = storescu(
                &server,
                "MOD01",
                &["-R", proposal(&p.transfer_syntax)],
                std::slice::from_ref(f),
            );
            // DCMTK names no C-STORE status 0x0111 (Duplicate SOP Instance).
            if text(&out).contains("Received Store Response (Unknown Status: 0x111)") {
                refused += 1;
            } else {
                assert!(
                    text(&out).contains("Received Store Response (Success)"),
                    "{}: {}",
                    f.display(),
                    text(&out)
                );
            }
        }
        assert!(refused >= 10, "only {refused} duplicates refused");
        for f in first.iter().filter(|f| !f.ends_with(NO_STUDY_UID)) {
            let sop = sop_of(f);
            let back = wado(&server, &sop);
            assert!(
                back[part10(&back).dataset_at..] == received[&sop][..],
                "{}",
                f.display()
            );
        }
        assert_eq!(
            server.stored_files().len(),
            stored_before,
            "a refused instance left a file"
        );
    }
}

/// The first `n` files of modality `aet` in the bulk set, and their studies.
fn bulk(data: &Path, aet: &str, n: usize) -> (Vec<PathBuf>, Vec<String>) {
    let root = data.join("bulk-100-3-10");
    let manifest = std::fs::read_to_string(root.join("manifest.csv")).expect("bulk manifest");
    let mut rows: Vec<(String, String)> = manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1] == aet).then(|| (c[0].to_owned(), c[4].to_owned()))
        })
        .collect();
    rows.sort();
    rows.truncate(n);
    let mut studies: Vec<String> = rows.iter().map(|(_, s)| s.clone()).collect();
    studies.sort();
    studies.dedup();
    (
        rows.into_iter().map(|(p, _)| root.join(p)).collect(),
        studies,
    )
}

#[test]
fn four_concurrent_associations_store_100_instances_each() {
    let data = data_dir();
    for backend in backends() {
        let server = dimse_server(backend, "");
        let sets: Vec<(&str, Vec<PathBuf>, Vec<String>)> = ["MOD01", "MOD02", "MOD03", "MOD04"]
            .into_iter()
            .map(|aet| {
                let (files, studies) = bulk(&data, aet, 100);
                (aet, files, studies)
            })
            .collect();
        std::thread::scope(|s| {
            let runs: Vec<_> = sets
                .iter()
                .map(|(aet, files, _)| s.spawn(|| (*aet, storescu(&server, aet, &[], files))))
                .collect();
            for r in runs {
                let (aet, out) = r.join().unwrap();
                assert!(out.status.success(), "storescu {aet}: {}", text(&out));
            }
        });
        let studies = qido(
            &server,
            &TENANT_A,
            "/studies?includefield=NumberOfStudyRelatedInstances",
        );
        let instances: u64 = studies
            .iter()
            .map(|s| s["00201208"]["Value"][0].as_u64().unwrap())
            .sum();
        assert_eq!(instances, 400);
        // Each association's calling AE title is recorded as STOW-RS records its path's.
        for (aet, _, expected) in &sets {
            let a = get(
                &server.url(&format!("/studies/count?aet={aet}")),
                TENANT_A.key,
            );
            assert_eq!(a.status, 200, "{}", a.text());
            assert_eq!(
                a.json()["study_count"].as_u64(),
                Some(expected.len() as u64),
                "studies from {aet}"
            );
        }
        // Nothing of alpha's is visible to beta.
        assert!(qido(&server, &TENANT_B, "/studies").is_empty());
    }
}

/// The SOP Instance UID of a file's data set.
fn sop_of(file: &Path) -> String {
    dump_value(file, "0008,0018").expect("SOPInstanceUID")
}

/// The value of `tag` (`gggg,eeee`) in a DICOM file, as dcmdump prints it.
fn dump_value(file: &Path, tag: &str) -> Option<String> {
    let out = dcmtk("dcmdump", &["+P", tag, &file.to_string_lossy()]);
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .to_owned();
    let start = line.find('[')? + 1;
    let end = line.rfind(']')?;
    Some(line[start..end].to_owned())
}

/// `findscu` as `calling` to `called` with `model` (`-P`, `-S`) and `keys`:
/// the response identifiers, each as a map of the requested tags to values.
fn findscu(
    server: &Server,
    calling: &str,
    called: &str,
    model: &str,
    keys: &[&str],
) -> Vec<BTreeMap<String, String>> {
    let (host, port) = address(server);
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        model.to_owned(),
        "-aet".into(),
        calling.into(),
        "-aec".into(),
        called.into(),
        "-X".into(),
        "-od".into(),
        dir.path().to_string_lossy().into_owned(),
    ];
    for k in keys {
        args.push("-k".into());
        args.push((*k).into());
    }
    args.push(host);
    args.push(port);
    let out = dcmtk(
        "findscu",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "findscu {keys:?}: {}", text(&out));
    let tags: Vec<&str> = keys.iter().map(|k| k.split('=').next().unwrap()).collect();
    files_under(dir.path())
        .iter()
        .map(|f| {
            tags.iter()
                .map(|t| {
                    (
                        (*t).to_owned(),
                        dump_value(f, &dcm_tag(t)).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .collect()
}

/// `gggg,eeee` of the keywords the tests use.
fn dcm_tag(keyword: &str) -> String {
    match keyword {
        "QueryRetrieveLevel" => "0008,0052",
        "PatientID" => "0010,0020",
        "PatientName" => "0010,0010",
        "StudyInstanceUID" => "0020,000d",
        "StudyDate" => "0008,0020",
        "SeriesInstanceUID" => "0020,000e",
        "Modality" => "0008,0060",
        "SOPInstanceUID" => "0008,0018",
        "NumberOfStudyRelatedInstances" => "0020,1208",
        "RetrieveAETitle" => "0008,0054",
        other => panic!("no tag for {other}"),
    }
    .to_owned()
}

fn values(rows: &[BTreeMap<String, String>], key: &str) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(|r| r[key].clone()).collect();
    v.sort();
    v
}

#[test]
fn find_answers_every_level_with_the_qido_rules_and_each_tenant_its_own() {
    let data = data_dir();
    let read = |f: &str| std::fs::read(data.join("real").join(f)).unwrap();
    for backend in backends() {
        let server = dimse_server(backend, "");
        let a = stow(
            &server,
            &TENANT_A,
            "MOD01",
            &[read("CT_small.dcm"), read("MR_small.dcm")],
        );
        assert_eq!(a.status, 200, "{}", a.text());
        let b = stow(&server, &TENANT_B, "BETA01", &[read("RG1_UNCR.dcm")]);
        assert_eq!(b.status, 200, "{}", b.text());
        let ct_study = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322";

        // Study root, STUDY level: every study of the tenant, the keys asked for.
        let studies = findscu(
            &server,
            "MOD01",
            TENANT_A.ae,
            "-S",
            &[
                "QueryRetrieveLevel=STUDY",
                "StudyInstanceUID",
                "PatientID",
                "NumberOfStudyRelatedInstances",
                "RetrieveAETitle",
            ],
        );
        assert_eq!(values(&studies, "PatientID"), ["1CT1", "4MR1"]);
        assert!(
            studies
                .iter()
                .all(|s| s["NumberOfStudyRelatedInstances"] == "1")
        );
        assert!(studies.iter().all(|s| s["RetrieveAETitle"] == TENANT_A.ae));
        let qido_uids: Vec<String> = {
            let mut v: Vec<String> = qido(&server, &TENANT_A, "/studies")
                .iter()
                .map(|s| s["0020000D"]["Value"][0].as_str().unwrap().to_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(values(&studies, "StudyInstanceUID"), qido_uids);

        // Wildcards, dates and ranges as QIDO-RS matches them.
        for (key, expected) in [
            ("PatientName=CompressedSamples^C*", vec!["1CT1"]),
            ("PatientName=*MR?", vec!["4MR1"]),
            ("StudyDate=20040101-20040201", vec!["1CT1"]),
            ("StudyDate=20040801-", vec!["4MR1"]),
            ("PatientID=9RG1", vec![]),
        ] {
            let rows = findscu(
                &server,
                "MOD01",
                TENANT_A.ae,
                "-S",
                &if key.starts_with("PatientID") {
                    vec!["QueryRetrieveLevel=STUDY", key]
                } else {
                    vec!["QueryRetrieveLevel=STUDY", key, "PatientID"]
                },
            );
            assert_eq!(values(&rows, "PatientID"), expected, "{key}");
            let qido_ids: Vec<String> = qido(
                &server,
                &TENANT_A,
                &format!("/studies?{}", key.replace('^', "%5E")),
            )
            .iter()
            .map(|s| s["00100020"]["Value"][0].as_str().unwrap().to_owned())
            .collect();
            assert_eq!(qido_ids.len(), expected.len(), "QIDO {key}");
        }

        // Patient root, PATIENT level.
        let patients = findscu(
            &server,
            "MOD01",
            TENANT_A.ae,
            "-P",
            &["QueryRetrieveLevel=PATIENT", "PatientID", "PatientName"],
        );
        assert_eq!(values(&patients, "PatientID"), ["1CT1", "4MR1"]);
        assert!(
            patients
                .iter()
                .any(|p| p["PatientName"] == "CompressedSamples^CT1")
        );

        // SERIES and IMAGE levels under a study, both models.
        for model in ["-S", "-P"] {
            let series = findscu(
                &server,
                "MOD01",
                TENANT_A.ae,
                model,
                &[
                    "QueryRetrieveLevel=SERIES",
                    &format!("StudyInstanceUID={ct_study}"),
                    "SeriesInstanceUID",
                    "Modality",
                ],
            );
            assert_eq!(values(&series, "Modality"), ["CT"], "{model}");
            let images = findscu(
                &server,
                "MOD01",
                TENANT_A.ae,
                model,
                &[
                    "QueryRetrieveLevel=IMAGE",
                    &format!("StudyInstanceUID={ct_study}"),
                    &format!("SeriesInstanceUID={}", series[0]["SeriesInstanceUID"]),
                    "SOPInstanceUID",
                ],
            );
            assert_eq!(images.len(), 1, "{model}");
            assert_eq!(
                images[0]["SOPInstanceUID"],
                part10(&read("CT_small.dcm")).sop,
                "{model}"
            );
        }

        // Tenant isolation: beta's node sees beta's study only, and alpha's
        // study UID finds nothing there.
        let beta = findscu(
            &server,
            "BETA01",
            TENANT_B.ae,
            "-S",
            &["QueryRetrieveLevel=STUDY", "PatientID"],
        );
        assert_eq!(values(&beta, "PatientID"), ["9RG1"]);
        let none = findscu(
            &server,
            "BETA01",
            TENANT_B.ae,
            "-S",
            &[
                "QueryRetrieveLevel=STUDY",
                &format!("StudyInstanceUID={ct_study}"),
            ],
        );
        assert!(none.is_empty(), "{none:?}");
    }
}

/// `getscu` as `calling` to `called`: the data sets received (by SOP Instance
/// UID, as they arrived: bit-preserving) and getscu's output.
fn getscu(
    server: &Server,
    calling: &str,
    called: &str,
    extra: &[&str],
    keys: &[&str],
) -> (HashMap<String, Vec<u8>>, String) {
    let (host, port) = address(server);
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = ["-v", "-S", "+B", "-aet", calling, "-aec", called, "-od"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.path().to_string_lossy().into_owned());
    args.extend(extra.iter().map(|s| s.to_string()));
    for k in keys {
        args.push("-k".into());
        args.push((*k).into());
    }
    args.push(host);
    args.push(port);
    let out = dcmtk(
        "getscu",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let received = files_under(dir.path())
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).unwrap();
            let p = part10(&bytes);
            (p.sop, bytes[p.dataset_at..].to_vec())
        })
        .collect();
    (received, text(&out))
}

#[test]
fn get_sends_back_what_is_stored_at_every_level_and_only_to_its_tenant() {
    let data = data_dir();
    let read = |f: &str| std::fs::read(data.join("real").join(f)).unwrap();
    for backend in backends() {
        let server = dimse_server(backend, "");
        let files = ["CT_small.dcm", "US1_J2KR.dcm"];
        let a = stow(&server, &TENANT_A, "MOD01", &files.map(read));
        assert_eq!(a.status, 200, "{}", a.text());
        // What the archive holds of each (WADO-RS), by SOP Instance UID.
        let stored: HashMap<String, (String, String, Vec<u8>)> = files
            .iter()
            .map(|f| {
                let sop = sop_of(&data.join("real").join(f));
                let found = qido(
                    &server,
                    &TENANT_A,
                    &format!("/instances?SOPInstanceUID={sop}"),
                );
                let uid = |t: &str| found[0][t]["Value"][0].as_str().unwrap().to_owned();
                let back = wado(&server, &sop);
                let ds = back[part10(&back).dataset_at..].to_vec();
                (sop, (uid("0020000D"), uid("0020000E"), ds))
            })
            .collect();
        for (file, prefer) in [("CT_small.dcm", "+xe"), ("US1_J2KR.dcm", "+xv")] {
            let sop = sop_of(&data.join("real").join(file));
            let (study, series, ds) = &stored[&sop];
            for keys in [
                vec![
                    "QueryRetrieveLevel=STUDY".to_owned(),
                    format!("StudyInstanceUID={study}"),
                ],
                vec![
                    "QueryRetrieveLevel=SERIES".to_owned(),
                    format!("StudyInstanceUID={study}"),
                    format!("SeriesInstanceUID={series}"),
                ],
                vec![
                    "QueryRetrieveLevel=IMAGE".to_owned(),
                    format!("StudyInstanceUID={study}"),
                    format!("SeriesInstanceUID={series}"),
                    format!("SOPInstanceUID={sop}"),
                ],
            ] {
                let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                let (got, out) = getscu(&server, "MOD01", TENANT_A.ae, &[prefer], &keys);
                assert_eq!(got.len(), 1, "{file} {keys:?}: {out}");
                assert!(got[&sop] == *ds, "{file} {keys:?}: not the stored data set");
            }
        }
        // Nothing is transcoded yet: a JPEG 2000 instance asked for in an
        // uncompressed syntax only is a failed sub-operation, said so.
        let (study, _, _) = &stored[&sop_of(&data.join("real/US1_J2KR.dcm"))];
        let (got, out) = getscu(
            &server,
            "MOD01",
            TENANT_A.ae,
            &["+xe"],
            &[
                "QueryRetrieveLevel=STUDY",
                &format!("StudyInstanceUID={study}"),
            ],
        );
        assert!(got.is_empty(), "{out}");
        assert!(out.contains("Failed") || out.contains("0xb000"), "{out}");
        // Beta's node gets nothing of alpha's study.
        let (study, _, _) = &stored[&sop_of(&data.join("real/CT_small.dcm"))];
        let (got, out) = getscu(
            &server,
            "BETA01",
            TENANT_B.ae,
            &[],
            &[
                "QueryRetrieveLevel=STUDY",
                &format!("StudyInstanceUID={study}"),
            ],
        );
        assert!(got.is_empty(), "{out}");
    }
}

/// DCMTK's storescp on a free port, keeping what it receives bit for bit in a
/// directory; stopped when dropped.
struct StoreScp {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl StoreScp {
    fn start() -> Self {
        let scp = Path::new("/usr/bin/storescp");
        if !scp.exists() {
            missing("DCMTK's storescp", "tests/peers/install.sh");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new(scp)
            .args(["+B", "-pm", "+xa", "-od"])
            .arg(dir.path())
            .args(["-aet", "DEST", &port.to_string()])
            .env("TCP_NODELAY", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("storescp runs");
        let up = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "storescp did not listen");
        Self { child, port, dir }
    }

    /// The data sets received so far, by SOP Instance UID.
    fn received(&self) -> HashMap<String, Vec<u8>> {
        files_under(self.dir.path())
            .iter()
            .map(|f| {
                let bytes = std::fs::read(f).unwrap();
                let p = part10(&bytes);
                (p.sop, bytes[p.dataset_at..].to_vec())
            })
            .collect()
    }
}

impl Drop for StoreScp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn movescu(server: &Server, calling: &str, called: &str, dest: &str, keys: &[&str]) -> String {
    let (host, port) = address(server);
    let mut args: Vec<String> = ["-v", "-S", "-aet", calling, "-aec", called, "-aem", dest]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for k in keys {
        args.push("-k".into());
        args.push((*k).into());
    }
    args.push(host);
    args.push(port);
    let out = dcmtk(
        "movescu",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    text(&out)
}

#[test]
fn move_sends_to_a_known_node_only_what_its_tenant_holds() {
    let data = data_dir();
    let read = |f: &str| std::fs::read(data.join("real").join(f)).unwrap();
    for backend in backends() {
        let scp = StoreScp::start();
        let dest = format!(
            "[[tenants.nodes]]\nae_title = \"DEST\"\nhost = \"127.0.0.1\"\nport = {}\n",
            scp.port
        );
        let server = Server::start_with(
            backend,
            Options {
                alpha_toml: format!("{}{dest}", nodes_toml(ALPHA_NODES)),
                extra_toml: format!(
                    "{}{dest}\n[dimse]\nbind = \"127.0.0.1:0\"\n",
                    nodes_toml(&["BETA01"])
                ),
                ..Options::default()
            },
        );
        let files = ["CT_small.dcm", "US1_J2KR.dcm", "MR_small.dcm"];
        let a = stow(&server, &TENANT_A, "MOD01", &files.map(read));
        assert_eq!(a.status, 200, "{}", a.text());
        let ct = sop_of(&data.join("real/CT_small.dcm"));
        let j2k = sop_of(&data.join("real/US1_J2KR.dcm"));
        let study_of = |sop: &str| {
            qido(
                &server,
                &TENANT_A,
                &format!("/instances?SOPInstanceUID={sop}"),
            )[0]["0020000D"]["Value"][0]
                .as_str()
                .unwrap()
                .to_owned()
        };
        // Two studies in one request (a UID list), each in its stored syntax.
        let studies = format!("StudyInstanceUID={}\\{}", study_of(&ct), study_of(&j2k));
        let out = movescu(
            &server,
            "MOD01",
            TENANT_A.ae,
            "DEST",
            &["QueryRetrieveLevel=STUDY", &studies],
        );
        let got = scp.received();
        assert_eq!(got.len(), 2, "{out}");
        for sop in [&ct, &j2k] {
            let back = wado(&server, sop);
            assert!(
                got[sop] == back[part10(&back).dataset_at..],
                "{sop}: not the stored data set"
            );
        }
        // A destination that is not a node: refused, 0xA801.
        let out = movescu(
            &server,
            "MOD01",
            TENANT_A.ae,
            "NOWHERE",
            &["QueryRetrieveLevel=STUDY", &studies],
        );
        assert!(
            out.contains("Received Final Move Response (Refused: MoveDestinationUnknown)"),
            "{out}"
        );
        // Beta's node moves nothing of alpha's, even to a node both know.
        let out = movescu(
            &server,
            "BETA01",
            TENANT_B.ae,
            "DEST",
            &["QueryRetrieveLevel=STUDY", &studies],
        );
        assert_eq!(scp.received().len(), 2, "{out}");
    }
}

/// An order of `/orders/create` with every field of the source document.
fn order(
    study: &str,
    accession: &str,
    pid: &str,
    name: &str,
    station: &str,
    modality: &str,
    date: &str,
) -> serde_json::Value {
    serde_json::json!({
        "ScheduledStationAETitle": station, "ScheduledProcedureStepStartDate": date,
        "ScheduledProcedureStepStartTime": "155430", "Modality": modality,
        "ScheduledPerformingPhysiciansName": "TEST^PERFORMER",
        "ScheduledProcedureStepDescription": "Step description", "ScheduledProcedureStepID": "1234",
        "RequestedProcedureDescription": "Procedure description", "RequestedProcedureID": "4567",
        "StudyInstanceUID": study, "AccessionNumber": accession,
        "RequestingPhysician": "REQUESTING^PHYSICIAN", "ReferringPhysicianName": "REFERRING^PHYSICIAN",
        "AdmissionID": "789", "CurrentPatientLocation": "bar", "PatientName": name, "PatientID": pid,
        "PatientBirthDate": "19860130", "PatientSex": "M",
        "ConfidentialityConstraintOnPatientDataDescription": "No constraint", "PatientState": "Some state",
        "PregnancyStatus": "4", "MedicalAlerts": "Some medical alert",
        "PlacerOrderNumberImagingServiceRequest": "2345566", "ServiceEpisodeID": "episode id",
        "ScheduledStationName": "STATION-NAME"
    })
}

/// `findscu -W` as a modality of `tenant`: the items' values of `tags`
/// (`gggg,eeee`, found at any depth).
fn worklist(
    server: &Server,
    calling: &str,
    called: &str,
    args: &[&str],
    tags: &[&str],
) -> Vec<BTreeMap<String, String>> {
    let (host, port) = address(server);
    let dir = tempfile::tempdir().unwrap();
    let mut all: Vec<String> = ["-W", "-aet", calling, "-aec", called, "-X", "-od"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.push(dir.path().to_string_lossy().into_owned());
    // Query files come after the peer's address, options before it.
    let (files, options): (Vec<&str>, Vec<&str>) = args.iter().partition(|a| a.ends_with(".dcm"));
    all.extend(options.iter().map(|s| s.to_string()));
    all.push(host);
    all.push(port);
    all.extend(files.iter().map(|s| s.to_string()));
    let out = dcmtk(
        "findscu",
        &all.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(out.status.success(), "findscu -W {args:?}: {}", text(&out));
    files_under(dir.path())
        .iter()
        .map(|f| {
            tags.iter()
                .map(|t| ((*t).to_owned(), dump_value(f, t).unwrap_or_default()))
                .collect()
        })
        .collect()
}

#[test]
fn worklist_items_come_from_the_orders_and_vanish_with_them() {
    let data = data_dir();
    let queries = data.join("worklists/queries");
    for backend in backends() {
        let server = dimse_server(backend, "");
        let ct_uid = "1.2.752.24.5.2584605181.20150129083013.816906";
        let mr_uid = "1.2.752.24.5.2584605181.20150129083013.816907";
        for (o, tenant) in [
            (
                order(
                    ct_uid,
                    "AN123",
                    "NONE",
                    "SURNAME^NAME",
                    "CT01",
                    "CT",
                    "20221205",
                ),
                &TENANT_A,
            ),
            (
                order(
                    mr_uid, "AN124", "PID2", "DOE^JANE", "MR01", "MR", "20221210",
                ),
                &TENANT_A,
            ),
            (
                order(
                    "1.2.3.4.5",
                    "BETA1",
                    "PIDB",
                    "BETA^ONLY",
                    "CT01",
                    "CT",
                    "20221205",
                ),
                &TENANT_B,
            ),
        ] {
            let a = post_json(&server, "/orders/create", tenant, &o);
            assert_eq!(a.status, 200, "{}", a.text());
        }
        // DCMTK's example query 1 asks for the common keys: both orders, every field.
        let items = worklist(
            &server,
            "MOD01",
            TENANT_A.ae,
            &[queries.join("wlistqry1.dcm").to_str().unwrap()],
            &[
                "0010,0010",
                "0010,0020",
                "0008,0050",
                "0020,000d",
                "0032,1032",
                "0032,1060",
                "0040,1001",
                "0010,2000",
            ],
        );
        assert_eq!(values(&items, "0010,0020"), ["NONE", "PID2"]);
        let ct = items.iter().find(|i| i["0010,0020"] == "NONE").unwrap();
        assert_eq!(ct["0010,0010"], "SURNAME^NAME");
        assert_eq!(ct["0008,0050"], "AN123");
        assert_eq!(ct["0020,000d"], ct_uid);
        assert_eq!(ct["0032,1032"], "REQUESTING^PHYSICIAN");
        assert_eq!(ct["0032,1060"], "Procedure description");
        assert_eq!(ct["0040,1001"], "4567");
        assert_eq!(ct["0010,2000"], "Some medical alert");
        // Every example query of DCMTK is answered.
        for q in files_under(&queries) {
            worklist(&server, "MOD01", TENANT_A.ae, &[q.to_str().unwrap()], &[]);
        }
        // Matching on the step and the patient.
        let step = |k: &str| format!("(0040,0100)[0].{k}");
        for (keys, expected) in [
            (vec![step("Modality=MR")], vec!["PID2"]),
            (vec![step("ScheduledStationAETitle=CT01")], vec!["NONE"]),
            (
                vec![step("ScheduledProcedureStepStartDate=20221201-20221206")],
                vec!["NONE"],
            ),
            (
                vec![step("ScheduledProcedureStepStartDate=20221206-")],
                vec!["PID2"],
            ),
            (vec!["PatientName=doe*".into()], vec!["PID2"]),
            (vec!["PatientID=NONE".into()], vec!["NONE"]),
            (vec!["AccessionNumber=AN124".into()], vec!["PID2"]),
            (vec![step("Modality=US")], vec![]),
        ] {
            let mut args = vec![
                "-k".to_owned(),
                "PatientID".to_owned(),
                "-k".to_owned(),
                step("Modality"),
                "-k".to_owned(),
                step("ScheduledStationAETitle"),
                "-k".to_owned(),
                step("ScheduledProcedureStepStartDate"),
            ];
            for k in &keys {
                args.push("-k".into());
                args.push(k.clone());
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let items = worklist(
                &server,
                "MOD01",
                TENANT_A.ae,
                &args,
                &["0010,0020", "0008,0060", "0040,0001"],
            );
            assert_eq!(values(&items, "0010,0020"), expected, "{keys:?}");
        }
        let items = worklist(
            &server,
            "MOD01",
            TENANT_A.ae,
            &[
                "-k",
                "PatientID=PID2",
                "-k",
                &step("Modality"),
                "-k",
                &step("ScheduledStationAETitle"),
                "-k",
                &step("ScheduledProcedureStepStartTime"),
            ],
            &["0008,0060", "0040,0001", "0040,0003"],
        );
        assert_eq!(items.len(), 1);
        assert_eq!(
            (
                items[0]["0008,0060"].as_str(),
                items[0]["0040,0001"].as_str(),
                items[0]["0040,0003"].as_str()
            ),
            ("MR", "MR01", "155430")
        );
        // Beta's worklist is beta's.
        let beta = worklist(
            &server,
            "BETA01",
            TENANT_B.ae,
            &["-k", "PatientID"],
            &["0010,0020"],
        );
        assert_eq!(values(&beta, "0010,0020"), ["PIDB"]);
        // A deleted order vanishes.
        let d = request(
            "DELETE",
            &server.url(&format!("/orders/delete?studyUid={mr_uid}")),
            Some(TENANT_A.key),
            &[],
            None,
        );
        assert_eq!(d.status, 200, "{}", d.text());
        let left = worklist(
            &server,
            "MOD01",
            TENANT_A.ae,
            &["-k", "PatientID"],
            &["0010,0020"],
        );
        assert_eq!(values(&left, "0010,0020"), ["NONE"]);
    }
}

#[test]
fn storage_commitment_reports_what_the_tenant_holds() {
    let data = data_dir();
    let read = |f: &str| std::fs::read(data.join("real").join(f)).unwrap();
    for backend in backends() {
        let server = dimse_server(backend, "");
        let a = stow(&server, &TENANT_A, "MOD01", &[read("CT_small.dcm")]);
        assert_eq!(a.status, 200, "{}", a.text());
        let b = stow(&server, &TENANT_B, "BETA01", &[read("MR_small.dcm")]);
        assert_eq!(b.status, 200, "{}", b.text());
        let ct = sop_of(&data.join("real/CT_small.dcm"));
        let mr = sop_of(&data.join("real/MR_small.dcm"));
        let (host, port) = address(&server);
        let out = python(
            "commit.py",
            &[
                &host,
                &port,
                "MOD01",
                TENANT_A.ae,
                &format!("1.2.840.10008.5.1.4.1.1.2:{ct}"),
                // Beta's instance is not alpha's to commit.
                &format!("1.2.840.10008.5.1.4.1.1.4:{mr}"),
                // Held, but not of that class.
                &format!("1.2.840.10008.5.1.4.1.1.4:{ct}"),
            ],
        );
        let r: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON line");
        assert_eq!(r["action_status"], 0, "{r}");
        assert_eq!(r["transaction"], r["sent_transaction"], "{r}");
        assert_eq!(r["event_type"], 2, "{r}");
        assert_eq!(r["committed"], serde_json::json!([ct]), "{r}");
        assert_eq!(
            r["failed"],
            serde_json::json!([[mr, 0x0112], [ct, 0x0119]]),
            "{r}"
        );
        // All held: event type 1, nothing failed.
        let out = python(
            "commit.py",
            &[
                &host,
                &port,
                "MOD01",
                TENANT_A.ae,
                &format!("1.2.840.10008.5.1.4.1.1.2:{ct}"),
            ],
        );
        let r: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON line");
        assert_eq!(r["event_type"], 1, "{r}");
        assert_eq!(r["failed"], serde_json::json!([]), "{r}");
    }
}
