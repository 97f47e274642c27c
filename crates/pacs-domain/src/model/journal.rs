//! What a change writes beside itself, in its own transaction: study events and
//! an audit record. The use case decides them from what the change found (the
//! facts below); the repository writes them and decides nothing.

use std::collections::BTreeMap;

use super::{EventType, NewEvent, PatientAttributes};
use crate::ids::{PatientId, SeriesInstanceUid, StudyInstanceUid};

/// An audit record to append: who changed what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditRecord {
    /// Who: the request's `author`, `userName` (with `operatorName`), or the API
    /// that made the change when the source document names nobody.
    pub actor: String,
    /// What: the change, named as its event.
    pub action: EventType,
    pub study_uid: Option<StudyInstanceUid>,
    pub series_uid: Option<SeriesInstanceUid>,
    /// Patient data: readers decide whether to show it.
    pub patient_id: Option<PatientId>,
    /// The change's parameters (reason, source and target identifiers…).
    pub details: BTreeMap<String, String>,
}

/// The events and the audit record of one change, in the order they are appended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    pub events: Vec<NewEvent>,
    pub audit: Option<NewAuditRecord>,
}

/// Builds a change's journal from its facts. The repository calls it inside
/// the change's transaction, once the change is made (never when nothing changed).
pub type Recorder<'a, F> = &'a dyn Fn(&F) -> Journal;

/// The study a change concerns, as the index has it when the change is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyRef {
    pub uid: StudyInstanceUid,
    pub patient_id: PatientId,
    pub accession: Option<String>,
}

/// One step of indexing a batch; a batch's steps come in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indexed {
    /// The batch's instance `instance` created its study (with its header's values).
    StudyCreated { instance: usize },
    /// The batch's instance `instance` is stored, in `study` as the index has it.
    Stored { instance: usize, study: StudyRef },
}

/// Who a live study belongs to, as the index has it when an instance joins it:
/// its patient's identity and the identities merged into that patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyOwner {
    pub patient: PatientKey,
    /// Patients merged into `patient` (their studies now are its studies).
    pub merged: Vec<PatientKey>,
}

/// A patient's identity: Patient ID with its issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientKey {
    pub patient_id: PatientId,
    pub issuer: Option<String>,
}

/// How a batch is indexed: what it records, and the rules it must keep.
pub struct StorePolicy<'a> {
    pub journal: &'a dyn Fn(&[Indexed]) -> Journal,
    /// Whether an instance may join the study the index resolved for it (an
    /// existing one, or one created earlier in the batch): `Err(why)` refuses
    /// it as [`super::StoreOutcome::NotAdmitted`]. Called under the write lock.
    pub admit: &'a dyn Fn(&super::InstanceHeader, &StudyOwner) -> Result<(), String>,
    /// An instance's Container Identifier must name no other live instance
    /// (slides: a barcode names one slide). Checked under the write lock.
    pub unique_barcodes: bool,
}

impl std::fmt::Debug for StorePolicy<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorePolicy")
            .field("unique_barcodes", &self.unique_barcodes)
            .finish_non_exhaustive()
    }
}

/// What a deprecation or a recovery changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecated {
    pub study: StudyRef,
    /// The series hidden or brought back.
    pub series: Vec<SeriesInstanceUid>,
}

/// What a patient or study correction changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrected {
    /// The patient concerned, as it is now.
    pub patient: PatientAttributes,
    /// Merge and move: the patient the studies came from.
    pub source_patient: Option<PatientId>,
    /// The studies concerned, as they are now: the patient's (update), the
    /// moved ones (merge, move), source then target (reconcile, swap).
    pub studies: Vec<StudyRef>,
    /// Reconcile: the target study was created.
    pub created_study: bool,
    /// Patient update: the orders whose demographics were rewritten.
    pub orders: usize,
}
