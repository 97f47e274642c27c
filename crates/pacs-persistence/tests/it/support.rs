//! Throwaway databases for the contract suite.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use pacs_domain::ids::*;
use pacs_domain::model::*;
use pacs_persistence::Database;

static N: AtomicUsize = AtomicUsize::new(0);

/// A migrated, empty database; dropped (PostgreSQL) or deleted with its directory.
pub struct TestDb {
    pub db: std::sync::Arc<Database>,
    pub name: &'static str,
    /// The URL another process would open it with.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            psql(
                admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

fn psql(url: &str, sql: &str) {
    let out = std::process::Command::new("psql")
        .args([url, "-qtAc", sql])
        .output()
        .expect("psql");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One fresh database per available backend.
pub fn databases() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/index.sqlite", dir.path().display());
    let sqlite = Database::connect(&url, 8).unwrap();
    sqlite.migrate().unwrap();
    let mut all = vec![TestDb {
        db: std::sync::Arc::new(sqlite),
        name: "sqlite",
        url,
        _dir: Some(dir),
        pg: None,
    }];
    match std::env::var("PACS_TEST_DATABASE_URL") {
        Ok(admin) => {
            let name = format!(
                "pacs_contract_{}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            );
            psql(&admin, &format!("CREATE DATABASE {name}"));
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b)
                .unwrap_or(&admin)
                .to_owned();
            let url = format!("{base}/{name}");
            let db = Database::connect(&url, 8).unwrap();
            db.migrate().unwrap();
            all.push(TestDb {
                db: std::sync::Arc::new(db),
                name: "postgres",
                url,
                _dir: None,
                pg: Some((admin, name)),
            });
        }
        // The contract runs on both engines or fails: never green without PostgreSQL.
        Err(_) => panic!(
            "PostgreSQL is missing (PACS_TEST_DATABASE_URL is not set): run `tests/run.sh`, \
             or export PACS_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres"
        ),
    }
    all
}

/// A journal in the archive's manner: an event per new study and per stored
/// instance (the use cases decide the real ones; the contract is that what the
/// recorder returns is written, in order, with the change).
pub fn journal(batch: &[NewInstance], steps: &[Indexed]) -> Journal {
    let events = steps
        .iter()
        .map(|step| match step {
            Indexed::StudyCreated { instance } => {
                let mut e = NewEvent::new(EventType::StudyCreated);
                e.study_uid = Some(batch[*instance].header.study.study_uid.clone());
                e
            }
            Indexed::Stored { instance, study } => {
                let mut e = NewEvent::new(EventType::InstanceStored).detail(
                    "sopInstanceUid",
                    batch[*instance].header.instance.sop_uid.as_str(),
                );
                e.study_uid = Some(study.uid.clone());
                e.patient_id = Some(study.patient_id.clone());
                e.accession_number = study.accession.clone();
                e
            }
        })
        .collect();
    Journal {
        events,
        audit: None,
    }
}

/// Indexes `batch` with [`journal`], slide barcodes not checked.
pub fn store(
    db: &Database,
    tenant: &TenantName,
    batch: &[NewInstance],
) -> Result<Vec<StoreOutcome>, pacs_domain::ports::RepositoryError> {
    use pacs_domain::ports::InstanceIndex;
    let journal = |steps: &[Indexed]| journal(batch, steps);
    db.store(
        tenant,
        batch,
        &StorePolicy {
            journal: &journal,
            admit: &|_, _| Ok(()),
            unique_barcodes: false,
        },
    )
}

pub fn tenant(name: &str) -> TenantName {
    TenantName::new(name).unwrap()
}

/// A synthetic instance: `study`, `series`, `sop` are small integers made into UIDs.
pub fn instance(patient: &str, study: u32, series: u32, sop: u32, sha1: &str) -> NewInstance {
    let header = InstanceHeader {
        patient: PatientAttributes {
            patient_id: PatientId::new(patient).unwrap(),
            issuer: None,
            name: Some(format!("{patient}^NAME")),
            birth_date: Some("19700101".into()),
            sex: Some("O".into()),
        },
        study: StudyAttributes {
            study_uid: StudyInstanceUid::new(&format!("1.2.826.0.1.1.{study}")).unwrap(),
            study_date: Some(format!("2020{:02}01", 1 + study % 12)),
            study_time: Some("101010".into()),
            accession_number: Some(format!("ACC{study}")),
            study_id: None,
            description: Some("TEST".into()),
            referring_physician: None,
        },
        series: SeriesAttributes {
            series_uid: SeriesInstanceUid::new(&format!("1.2.826.0.1.2.{series}")).unwrap(),
            modality: Some(if series.is_multiple_of(2) { "CT" } else { "MR" }.into()),
            series_number: Some(series as i32),
            description: None,
            body_part: None,
            laterality: None,
            protocol_name: None,
            station_name: Some(format!("ST{}", series % 3)),
            performed_start_date: None,
            performed_start_time: None,
        },
        instance: InstanceAttributes {
            sop_uid: SopInstanceUid::new(&format!("1.2.826.0.1.3.{sop}")).unwrap(),
            sop_class: SopClassUid::new("1.2.840.10008.5.1.4.1.1.2").unwrap(),
            transfer_syntax: TransferSyntaxUid::new("1.2.840.10008.1.2.1").unwrap(),
            instance_number: Some(sop as i32),
            number_of_frames: None,
            rows: Some(16),
            columns: Some(16),
            content_date: None,
            content_time: None,
            acquisition_time: None,
            image_type: Some("ORIGINAL\\PRIMARY".into()),
            image_laterality: None,
            view_position: None,
            code_meaning: None,
            container_identifier: None,
            total_pixel_matrix_rows: None,
            total_pixel_matrix_columns: None,
        },
        dicom_json: "{}".into(),
        pixel_data_offset: None,
        frame_index: None,
    };
    NewInstance {
        header,
        blob: BlobLocation {
            medium: MediumName::new("local").unwrap(),
            key: format!("k/{sop}.{sha1}"),
            size: 1000 + u64::from(sop),
            sha1: sha1.into(),
        },
        calling_aet: AeTitle::new("MOD01").unwrap(),
        received_at: SystemTime::now(),
        slide: None,
    }
}
