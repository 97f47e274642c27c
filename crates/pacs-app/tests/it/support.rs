//! A throwaway archive, synthetic instances and what the logs hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use pacs_app::{AppError, InFlight, Limits, Media, Ports, Tenant};
use pacs_domain::ids::*;
use pacs_domain::model::*;
use pacs_domain::ports::{AuditLog, BlobStore, EventLog, InstanceIndex};
use pacs_persistence::Database;
use pacs_storage::FsMedium;

/// The medium new objects go to.
pub const MEDIUM: &str = "local";

/// A second configured medium (relocations).
pub const OTHER_MEDIUM: &str = "other";

/// An archive of one tenant, deleted with its directory.
pub struct Archive {
    pub ports: Ports,
    pub tenant: Tenant,
    db: Arc<Database>,
    dir: tempfile::TempDir,
}

impl Archive {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/index.sqlite", dir.path().display());
        let db = Arc::new(Database::connect(&url, 4).unwrap());
        db.migrate().unwrap();
        let medium = |name: &str| -> Arc<dyn BlobStore> {
            let root = medium_root(dir.path(), name);
            Arc::new(FsMedium::open(MediumName::new(name).unwrap(), root, false).unwrap())
        };
        let ports = Ports {
            instances: db.clone(),
            queries: db.clone(),
            retrieval: db.clone(),
            events: db.clone(),
            counter: db.clone(),
            deprecations: db.clone(),
            corrections: db.clone(),
            orders: db.clone(),
            relocations: db.clone(),
            media: Media::new(
                vec![medium(MEDIUM), medium(OTHER_MEDIUM)],
                MediumName::new(MEDIUM).unwrap(),
            )
            .unwrap(),
            in_flight: InFlight::default(),
            rendering: pacs_app::rendering::Rendering::default(),
            limits: Limits::default(),
        };
        let tenant = Tenant {
            name: TenantName::new("default").unwrap(),
            ae_title: AeTitle::new("PACS").unwrap(),
        };
        Self {
            ports,
            tenant,
            db,
            dir,
        }
    }

    /// Indexes synthetic instances (no files), recording nothing: what a test
    /// starts from.
    pub fn seed(&self, batch: &[NewInstance]) {
        let silent = |_: &[Indexed]| Journal::default();
        let policy = StorePolicy {
            journal: &silent,
            admit: &|_, _| Ok(()),
            unique_barcodes: false,
        };
        let out = self.db.store(&self.tenant.name, batch, &policy).unwrap();
        assert!(out.iter().all(|o| *o == StoreOutcome::Stored), "{out:?}");
    }

    /// Every event of the tenant, oldest first.
    pub fn events(&self) -> Vec<NewEvent> {
        let all = self.db.read_after(&self.tenant.name, 0, 10_000).unwrap();
        all.into_iter().map(|e| e.event).collect()
    }

    /// Every audit record, oldest first.
    pub fn audit(&self) -> Vec<NewAuditRecord> {
        let all = self.db.audit_after(None, 0, 10_000).unwrap();
        assert!(all.iter().all(|r| r.tenant == self.tenant.name));
        all.into_iter().map(|r| r.record).collect()
    }

    /// Objects on the medium new objects go to (staging excluded).
    pub fn files(&self) -> usize {
        self.files_on(MEDIUM)
    }

    /// The directory of a configured medium.
    pub fn root(&self, medium: &str) -> PathBuf {
        medium_root(self.dir.path(), medium)
    }

    /// Objects on a medium (staging excluded).
    pub fn files_on(&self, medium: &str) -> usize {
        fn walk(dir: &Path) -> usize {
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap())
                .filter(|e| e.file_name() != ".staging")
                .map(|e| {
                    if e.file_type().unwrap().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        }
        walk(&self.root(medium))
    }

    /// The live instances of a study, with the database's current values.
    pub fn study(&self, uid: &str) -> Vec<StoredInstance> {
        use pacs_domain::ports::RetrieveIndex;
        self.db
            .locate(&self.tenant.name, &study_uid(uid), None, None, false)
            .unwrap()
    }
}

fn medium_root(dir: &Path, medium: &str) -> PathBuf {
    match medium {
        MEDIUM => dir.join("media"),
        other => dir.join(format!("media-{other}")),
    }
}

pub fn study_uid(s: &str) -> StudyInstanceUid {
    StudyInstanceUid::new(s).unwrap()
}

pub fn series_uid(s: &str) -> SeriesInstanceUid {
    SeriesInstanceUid::new(s).unwrap()
}

pub fn patient(s: &str) -> PatientId {
    PatientId::new(s).unwrap()
}

/// An instance of patient `pid`, study `1.9.<study>` (accession `ACC<study>`),
/// series `1.9.<study>.<series>`, SOP `1.9.<study>.<series>.<n>`.
pub fn instance(pid: &str, study: u32, series: u32, n: u32) -> NewInstance {
    let series_uid = format!("1.9.{study}.{series}");
    let sop = format!("{series_uid}.{n}");
    let mut study_attrs = StudyAttributes::with_uid(study_uid(&format!("1.9.{study}")));
    study_attrs.accession_number = Some(format!("ACC{study}"));
    NewInstance {
        header: InstanceHeader {
            patient: PatientAttributes {
                patient_id: patient(pid),
                issuer: None,
                name: Some(format!("{pid}^SEEDED")),
                birth_date: None,
                sex: None,
            },
            study: study_attrs,
            series: SeriesAttributes {
                series_uid: SeriesInstanceUid::new(&series_uid).unwrap(),
                modality: Some("CT".into()),
                series_number: None,
                description: None,
                body_part: None,
                laterality: None,
                protocol_name: None,
                station_name: None,
                performed_start_date: None,
                performed_start_time: None,
            },
            instance: InstanceAttributes {
                sop_uid: SopInstanceUid::new(&sop).unwrap(),
                sop_class: SopClassUid::new("1.2.840.10008.5.1.4.1.1.2").unwrap(),
                transfer_syntax: TransferSyntaxUid::new("1.2.840.10008.1.2.1").unwrap(),
                instance_number: Some(n as i32),
                number_of_frames: None,
                rows: Some(8),
                columns: Some(8),
                content_date: None,
                content_time: None,
                acquisition_time: None,
                image_type: None,
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
        },
        blob: BlobLocation {
            medium: MediumName::new(MEDIUM).unwrap(),
            key: format!("seed/{sop}"),
            size: 100,
            sha1: "00".into(),
        },
        calling_aet: AeTitle::new("MOD1").unwrap(),
        received_at: SystemTime::now(),
        slide: None,
    }
}

/// An event as the use cases write them: the kind, the study, series and
/// patient named, and the details.
pub fn event(
    kind: EventType,
    study: Option<&str>,
    series: Option<&str>,
    pid: Option<&str>,
    accession: Option<&str>,
    details: &[(&str, &str)],
) -> NewEvent {
    NewEvent {
        event_type: kind,
        study_uid: study.map(study_uid),
        series_uid: series.map(series_uid),
        patient_id: pid.map(patient),
        accession_number: accession.map(str::to_owned),
        details: map(details),
    }
}

/// An audit record: who, what, the study, series and patient named, details.
pub fn audit(
    actor: &str,
    action: EventType,
    study: Option<&str>,
    series: Option<&str>,
    pid: Option<&str>,
    details: &[(&str, &str)],
) -> NewAuditRecord {
    NewAuditRecord {
        actor: actor.into(),
        action,
        study_uid: study.map(study_uid),
        series_uid: series.map(series_uid),
        patient_id: pid.map(patient),
        details: map(details),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The machine code of an error the use case answered.
pub fn code(e: &AppError) -> &'static str {
    e.code().as_str()
}

/// An order for `study` of patient `pid`, as the RIS sends it (the edge has
/// checked the fields); `fields` holds them by keyword for the worklist.
pub fn order(study: &str, pid: &str, name: &str, accession: &str) -> Order {
    let fields = [
        ("PatientID", pid),
        ("PatientName", name),
        ("StudyInstanceUID", study),
        ("ScheduledStationAETitle", "CT1"),
        ("ScheduledProcedureStepDescription", "head scan"),
        ("ScheduledProcedureStepStartDate", "20260101"),
        ("ScheduledProcedureStepStartTime", "101010"),
        ("Modality", "CT"),
        ("AccessionNumber", accession),
    ];
    Order {
        study_uid: study_uid(study),
        accession_number: accession.to_owned(),
        patient: PatientAttributes {
            patient_id: PatientId::new_required(pid).unwrap(),
            issuer: None,
            name: Some(name.to_owned()),
            birth_date: None,
            sex: None,
        },
        scheduled_station_ae: "CT1".into(),
        start_date: "20260101".into(),
        start_time: "101010".into(),
        modality: "CT".into(),
        fields: map(&fields),
    }
}
