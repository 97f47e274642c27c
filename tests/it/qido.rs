//! QIDO-RS answers checked against the generated bulk manifest, on both backends.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::*;

#[derive(Debug, Clone)]
struct Row {
    path: String,
    aet: String,
    patient_id: String,
    accession: String,
    study: String,
    series: String,
    sop: String,
    modality: String,
    station: String,
    study_date: String,
}

fn manifest(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("manifest.csv")).expect("manifest.csv");
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Row {
                path: f[0].into(),
                aet: f[1].into(),
                patient_id: f[2].into(),
                accession: f[3].into(),
                study: f[4].into(),
                series: f[5].into(),
                sop: f[6].into(),
                modality: f[7].into(),
                station: f[8].into(),
                study_date: f[9].into(),
            }
        })
        .collect()
}

fn load(server: &Server, dir: &Path, rows: &[Row]) {
    for chunk in rows.chunks(20) {
        let parts: Vec<Vec<u8>> = chunk
            .iter()
            .map(|r| std::fs::read(dir.join(&r.path)).unwrap())
            .collect();
        let a = stow(server, &TENANT_A, &chunk[0].aet, &parts);
        assert_eq!(a.status, 200, "{}", a.text());
    }
}

struct Qido<'a> {
    server: &'a Server,
}

impl Qido<'_> {
    fn get(&self, path_and_query: &str) -> Answer {
        get(
            &self
                .server
                .url(&format!("/qido/{}{path_and_query}", TENANT_A.ae)),
            TENANT_A.key,
        )
    }

    /// The results (empty for 204).
    fn results(&self, path_and_query: &str) -> Vec<Value> {
        let a = self.get(path_and_query);
        match a.status {
            204 => Vec::new(),
            200 => {
                assert!(
                    a.header("content-type")
                        .unwrap()
                        .starts_with("application/dicom+json")
                );
                a.json().as_array().unwrap().clone()
            }
            s => panic!("{path_and_query}: {s} {}", a.text()),
        }
    }

    fn values(&self, path_and_query: &str, tag: &str) -> BTreeSet<String> {
        self.results(path_and_query)
            .iter()
            .map(|r| {
                r[tag]["Value"][0]
                    .as_str()
                    .unwrap_or_else(|| panic!("{tag} in {r}"))
                    .to_owned()
            })
            .collect()
    }
}

fn studies_where(rows: &[Row], f: impl Fn(&Row) -> bool) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| f(r))
        .map(|r| r.study.clone())
        .collect()
}

/// DICOM wildcard matching, for expected results.
fn wildcard(pattern: &str, value: &str) -> bool {
    fn m(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => m(&p[1..], v) || (!v.is_empty() && m(p, &v[1..])),
            (Some('?'), Some(_)) => m(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &v[1..]),
            _ => false,
        }
    }
    m(
        &pattern.chars().collect::<Vec<_>>(),
        &value.chars().collect::<Vec<_>>(),
    )
}

#[test]
fn qido_matches_the_bulk_manifest() {
    let data = data_dir();
    let dir = data.join("bulk-100-3-10");
    let rows = manifest(&dir);
    assert_eq!(rows.len(), 3000);
    for backend in backends() {
        let server = Server::start(backend);
        load(&server, &dir, &rows);
        let q = Qido { server: &server };
        let all_studies: BTreeSet<String> = rows.iter().map(|r| r.study.clone()).collect();

        // Everything, then pages that add up to everything.
        assert_eq!(q.values("/studies", "0020000D"), all_studies);
        let mut paged = BTreeSet::new();
        for offset in (0..all_studies.len()).step_by(30) {
            let page = q.values(&format!("/studies?limit=30&offset={offset}"), "0020000D");
            assert!(page.len() <= 30);
            paged.extend(page);
        }
        assert_eq!(paged, all_studies);
        assert_eq!(q.results("/studies?limit=10&offset=95").len(), 5);
        assert!(q.results("/studies?offset=1000").is_empty());

        // Exact matching.
        let pid = &rows[1234].patient_id;
        assert_eq!(
            q.values(&format!("/studies?PatientID={pid}"), "0020000D"),
            studies_where(&rows, |r| &r.patient_id == pid)
        );
        assert_eq!(
            q.values(&format!("/studies?00100020={pid}"), "0020000D"),
            studies_where(&rows, |r| &r.patient_id == pid)
        );
        let acc = &rows[77].accession;
        assert_eq!(
            q.values(&format!("/studies?AccessionNumber={acc}"), "0020000D"),
            studies_where(&rows, |r| &r.accession == acc)
        );

        // Wildcards, in both encodings of `*`.
        let expected = studies_where(&rows, |r| wildcard("PID000001*", &r.patient_id));
        assert!(!expected.is_empty());
        assert_eq!(
            q.values("/studies?PatientID=PID000001*", "0020000D"),
            expected
        );
        assert_eq!(
            q.values("/studies?PatientID=PID000001%2A", "0020000D"),
            expected
        );
        let expected = studies_where(&rows, |r| wildcard("PID00000?0", &r.patient_id));
        assert_eq!(
            q.values("/studies?PatientID=PID00000%3F0", "0020000D"),
            expected
        );

        // Date ranges (both ends inclusive, open ends).
        let expected = studies_where(&rows, |r| {
            r.study_date.as_str() >= "20160101" && r.study_date.as_str() <= "20171231"
        });
        assert!(!expected.is_empty() && expected.len() < all_studies.len());
        assert_eq!(
            q.values("/studies?StudyDate=20160101-20171231", "0020000D"),
            expected
        );
        let expected = studies_where(&rows, |r| r.study_date.as_str() >= "20180101");
        assert_eq!(
            q.values("/studies?StudyDate=20180101-", "0020000D"),
            expected
        );
        let expected = studies_where(&rows, |r| r.study_date.as_str() <= "20151231");
        assert_eq!(
            q.values("/studies?StudyDate=-20151231", "0020000D"),
            expected
        );

        // UID lists, comma or backslash separated.
        let some: Vec<&String> = all_studies.iter().take(3).collect();
        let list = some
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            q.values(&format!("/studies?StudyInstanceUID={list}"), "0020000D")
                .len(),
            3
        );
        let list = some
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("%5C");
        assert_eq!(
            q.values(&format!("/studies?StudyInstanceUID={list}"), "0020000D")
                .len(),
            3
        );

        // Study answers carry the counters and modalities.
        let study = &rows[0].study;
        let r = &q.results(&format!("/studies?StudyInstanceUID={study}"))[0];
        assert_eq!(r["00201206"]["Value"][0], 3);
        assert_eq!(r["00201208"]["Value"][0], 30);
        let mods: BTreeSet<String> = rows
            .iter()
            .filter(|x| &x.study == study)
            .map(|x| x.modality.clone())
            .collect();
        let got: BTreeSet<String> = r["00080061"]["Value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(got, mods);
        assert_eq!(r["00100020"]["vr"], "LO");
        assert_eq!(r["00100010"]["vr"], "PN");
        assert!(r["00100010"]["Value"][0]["Alphabetic"].is_string(), "{r}");
        let expected = studies_where(&rows, |x| x.modality == "MR");
        assert_eq!(
            q.values("/studies?ModalitiesInStudy=MR", "0020000D"),
            expected
        );

        // Person names match without regard to case.
        let name = r["00100010"]["Value"][0]["Alphabetic"]
            .as_str()
            .unwrap()
            .to_owned();
        let family = name.split('^').next().unwrap().to_lowercase();
        let encoded: String = family.bytes().map(|b| format!("%{b:02X}")).collect();
        let hits = q.values(&format!("/studies?PatientName={encoded}*"), "0020000D");
        assert!(hits.contains(study), "{family}* should find {study}");

        // includefield: indexed attributes and attributes only the stored header has.
        let inc = q.results(&format!(
            "/studies?StudyInstanceUID={study}&includefield=00081030,InstitutionName"
        ));
        assert!(inc[0]["00081030"]["Value"][0].is_string(), "{}", inc[0]);
        assert!(
            inc[0]["00080080"]["Value"][0].is_string(),
            "InstitutionName from the header: {}",
            inc[0]
        );
        let all = q.results(&format!(
            "/studies/{study}/series/{}/instances?includefield=all&limit=1",
            rows[0].series
        ));
        assert!(
            all[0].get("00180050").is_some() || all[0].get("00280030").is_some(),
            "all: {}",
            all[0]
        );

        // Series and instance levels, nested and not.
        let series = q.values(&format!("/studies/{study}/series"), "0020000E");
        let expected: BTreeSet<String> = rows
            .iter()
            .filter(|x| &x.study == study)
            .map(|x| x.series.clone())
            .collect();
        assert_eq!(series, expected);
        let station = &rows[0].station;
        let expected: BTreeSet<String> = rows
            .iter()
            .filter(|x| &x.station == station)
            .map(|x| x.series.clone())
            .collect();
        assert_eq!(
            q.values(&format!("/series?StationName={station}"), "0020000E"),
            expected
        );
        let expected: BTreeSet<String> = rows
            .iter()
            .filter(|x| x.modality == "CT")
            .map(|x| x.series.clone())
            .collect();
        assert_eq!(q.values("/series?Modality=CT", "0020000E"), expected);
        let inst = q.results(&format!(
            "/studies/{study}/series/{}/instances",
            rows[0].series
        ));
        assert_eq!(inst.len(), 10);
        assert!(inst[0]["00080016"]["Value"][0].is_string());
        assert_eq!(inst[0]["00200013"]["vr"], "IS");
        let sops: Vec<&str> = rows
            .iter()
            .filter(|x| x.series == rows[0].series)
            .take(2)
            .map(|x| x.sop.as_str())
            .collect();
        let found = q.values(
            &format!("/instances?SOPInstanceUID={}", sops.join(",")),
            "00080018",
        );
        assert_eq!(found, sops.iter().map(|s| s.to_string()).collect());
        assert_eq!(q.results(&format!("/studies/{study}/instances")).len(), 30);

        // Patients.
        let p = q.results(&format!("/patients?PatientID={pid}"));
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0]["00201200"]["Value"][0].as_u64().unwrap() as usize,
            studies_where(&rows, |r| &r.patient_id == pid).len()
        );

        // Malformed queries.
        for bad in [
            "/studies?StudyDate=2015-01",
            "/studies?StudyDate=20150101-20140101",
            "/studies?limit=abc",
            "/studies?NoSuchAttribute=1",
            "/studies?StudyInstanceUID=1.02.3",
            "/studies?includefield=NotAKeyword",
        ] {
            q.get(bad).assert_json_error(400);
        }
        // Unknown AE title.
        get(&server.url("/qido/NOT-OURS/studies"), TENANT_A.key).assert_json_error(404);

        // Retrieval of a whole series of the bulk set.
        let se = &rows[0].series;
        let a = get(
            &server.url(&format!(
                "/wado-rs/{}/studies/{study}/series/{se}",
                TENANT_A.ae
            )),
            TENANT_A.key,
        );
        assert_eq!(a.status, 200);
        let parts = split_multipart(&a.body, a.header("content-type").unwrap());
        let expected: BTreeMap<String, String> = rows
            .iter()
            .filter(|x| &x.series == se)
            .map(|x| {
                (
                    sha1_hex(&std::fs::read(dir.join(&x.path)).unwrap()),
                    x.sop.clone(),
                )
            })
            .collect();
        let got: BTreeSet<String> = parts.iter().map(|p| sha1_hex(p)).collect();
        assert_eq!(got, expected.keys().cloned().collect());
    }
}

#[test]
fn character_sets_round_trip_patient_names() {
    let data = data_dir();
    let files: Vec<String> = files_under(&data.join("real/charset"))
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let out = python(
        "names.py",
        &files.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for backend in backends() {
        let server = Server::start(backend);
        let q = Qido { server: &server };
        let mut checked = 0;
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let (Some(study), Some(name)) = (v["study"].as_str(), v["name"].as_str()) else {
                continue;
            };
            if study.is_empty() || v["sop"].as_str().unwrap_or("").is_empty() {
                continue;
            }
            let bytes = std::fs::read(v["file"].as_str().unwrap()).unwrap();
            let a = stow(&server, &TENANT_A, "MOD01", &[bytes]);
            if a.status != 200 {
                continue; // same SOP Instance UID as an earlier file of the set
            }
            let r = &q.results(&format!("/studies?StudyInstanceUID={study}"))[0];
            let pn = &r["00100010"]["Value"][0];
            let groups: Vec<&str> = ["Alphabetic", "Ideographic", "Phonetic"]
                .iter()
                .map(|k| pn[*k].as_str().unwrap_or(""))
                .collect();
            let joined = groups.join("=");
            assert_eq!(
                joined.trim_end_matches('='),
                name.trim_end_matches('='),
                "{}",
                v["file"]
            );
            checked += 1;
        }
        assert!(checked >= 12, "only {checked} charset files checked");
    }
}

/// An answer holds at most the configured number of matches, whatever `limit`
/// asks; when the server's cap cut it, a `Warning: 299` says so.
#[test]
fn answers_are_capped_by_configuration_with_a_warning() {
    let data = data_dir();
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            extra_toml: "[limits]\nqido_max_results = 5\nqido_max_header_results = 2\n".into(),
            ..Options::default()
        },
    );
    let ct = data.join("real/CT_small.dcm");
    let study = "2.25.4242";
    let parts: Vec<Vec<u8>> = (0..7)
        .map(|_| {
            variant(
                &ct,
                &[
                    &format!("StudyInstanceUID={study}"),
                    "SeriesInstanceUID=NEW",
                    "SOPInstanceUID=NEW",
                ],
            )
        })
        .collect();
    assert_eq!(stow(&server, &TENANT_A, "MOD01", &parts).status, 200);
    let ask = |q: &str| {
        let a = get(
            &server.url(&format!(
                "/qido/{}/instances?StudyInstanceUID={study}{q}",
                TENANT_A.ae
            )),
            TENANT_A.key,
        );
        assert_eq!(a.status, 200, "{q}: {}", a.text());
        let warning = a.header("warning").map(str::to_owned);
        (a.json().as_array().unwrap().len(), warning)
    };
    for q in ["", "&limit=100000000"] {
        let (n, warning) = ask(q);
        assert_eq!(n, 5, "{q}");
        assert!(
            warning.is_some_and(|w| w.starts_with("299 ") && w.contains("(5)")),
            "{q}"
        );
    }
    // The client's own limit cut it: no warning.
    assert_eq!(ask("&limit=3"), (3, None));
    assert_eq!(ask("&limit=7&offset=5"), (2, None));
    // Records with stored headers have their own, lower cap.
    let (n, warning) = ask("&includefield=all&limit=1000");
    assert_eq!(n, 2);
    assert!(warning.is_some_and(|w| w.contains("(2)")));
}
