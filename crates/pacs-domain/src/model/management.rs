//! Values of the management APIs: counting, deprecation, patients, orders.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::PatientAttributes;
use crate::ids::{PatientId, SeriesInstanceUid, StudyInstanceUid};

/// Filters of `GET /studies/count`; filters AND together, the values of one
/// repeated filter OR together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountFilter {
    /// First reception, from (inclusive).
    pub received_from: Option<SystemTime>,
    /// First reception, to (exclusive).
    pub received_to: Option<SystemTime>,
    /// Size in bytes, inclusive bounds (the API speaks KB; the use case converts).
    pub size_min: Option<i64>,
    pub size_max: Option<i64>,
    pub aets: Vec<String>,
    pub exclude_aets: Vec<String>,
    pub stations: Vec<String>,
    pub exclude_stations: Vec<String>,
}

/// How a deprecation names its series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesSelector {
    Uid(SeriesInstanceUid),
    ContainerIdentifier(String),
}

/// How a deprecation or relocation names its study.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudySelector {
    Uid(StudyInstanceUid),
    AccessionNumber(String),
}

/// Hiding data, or bringing it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeprecationAction {
    Deprecate,
    Recover,
}

/// What a deprecation or a recovery names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeprecationTarget {
    Series(SeriesSelector),
    Study(StudySelector),
}

/// Who asks for a change, and why (recorded with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub author: String,
    pub reason: Option<String>,
}

/// What a deprecation or a recovery did, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeprecationOutcome {
    /// Done: the study and the series concerned.
    Done {
        study: StudyInstanceUid,
        series: Vec<SeriesInstanceUid>,
    },
    SeriesNotFound,
    StudyOfSeriesNotFound,
    StudyNotFound,
    /// Several series carry that Container Identifier.
    MultipleSeries,
    /// Several studies carry that Accession Number.
    MultipleStudies,
    /// Recovery: live data with the same UIDs was stored since.
    LiveDataExists(String),
}

/// Patient demographics as the management APIs send them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientRecord {
    pub attributes: PatientAttributes,
    /// Number of live studies, when read back.
    pub studies: i64,
}

/// What a patient or study correction did, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectionOutcome {
    /// Done; the patient concerned as it is now, and the studies touched.
    Done {
        patient: PatientAttributes,
        studies: Vec<StudyInstanceUid>,
    },
    PatientExists,
    PatientNotFound,
    /// Several patients with that Patient ID (different issuers).
    MultiplePatients,
    /// Merge: several patients match the target ID.
    MultipleTargetPatients,
    /// Merge: the source patient has no study.
    NoStudyForPatient,
    StudyNotFound(StudyInstanceUid),
    /// Reconcile: the target study exists with another patient.
    PatientMismatch {
        expected: PatientId,
        found: PatientId,
    },
}

/// A scheduled procedure (modality worklist item) created by `POST /orders/create`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The order's identity.
    pub study_uid: StudyInstanceUid,
    pub accession_number: String,
    pub patient: PatientAttributes,
    pub scheduled_station_ae: String,
    pub start_date: String,
    pub start_time: String,
    pub modality: String,
    /// Every field received, by its name in the request (for the worklist).
    pub fields: BTreeMap<String, String>,
}

/// What an order operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderOutcome {
    Done(Box<Order>),
    Duplicate,
    NotFound,
}

/// One stored object of a study, as relocation copies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyFile {
    /// The index row the object belongs to (an instance).
    pub row: i64,
    pub medium: crate::model::MediumName,
    /// The slide file of a pathology instance (not its sidecar header).
    pub slide: bool,
    pub key: String,
    pub sha1: String,
}

/// The objects of a study, or why there are none to relocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelocationLookup {
    NotFound,
    MultipleStudies,
    Found {
        study: StudyInstanceUid,
        files: Vec<StudyFile>,
    },
}

/// A copy made on the target medium, to be recorded in place of `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelocatedFile {
    pub file: StudyFile,
    pub new_key: String,
}
