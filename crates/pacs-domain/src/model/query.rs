//! The query model behind QIDO-RS: levels, matching keys, matchers and matches.

use super::{InstanceAttributes, PatientAttributes, SeriesAttributes, StudyAttributes};
use crate::ids::{SeriesInstanceUid, StudyInstanceUid};

/// Level of the information model a query returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLevel {
    Patient,
    Study,
    Series,
    Instance,
}

/// Attributes the index can match on (PS3.18 Table 10.6.1-5 and a few more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryKey {
    PatientId,
    IssuerOfPatientId,
    PatientName,
    PatientBirthDate,
    PatientSex,
    StudyInstanceUid,
    StudyDate,
    StudyTime,
    AccessionNumber,
    StudyId,
    StudyDescription,
    ReferringPhysicianName,
    ModalitiesInStudy,
    SeriesInstanceUid,
    Modality,
    SeriesNumber,
    SeriesDescription,
    BodyPartExamined,
    StationName,
    PerformedProcedureStepStartDate,
    PerformedProcedureStepStartTime,
    SopInstanceUid,
    SopClassUid,
    InstanceNumber,
    ContainerIdentifier,
}

impl QueryKey {
    /// The lowest level at which this key is an attribute.
    pub fn level(self) -> QueryLevel {
        use QueryKey::*;
        match self {
            PatientId | IssuerOfPatientId | PatientName | PatientBirthDate | PatientSex => {
                QueryLevel::Patient
            }
            StudyInstanceUid
            | StudyDate
            | StudyTime
            | AccessionNumber
            | StudyId
            | StudyDescription
            | ReferringPhysicianName
            | ModalitiesInStudy => QueryLevel::Study,
            SeriesInstanceUid
            | Modality
            | SeriesNumber
            | SeriesDescription
            | BodyPartExamined
            | StationName
            | PerformedProcedureStepStartDate
            | PerformedProcedureStepStartTime => QueryLevel::Series,
            SopInstanceUid | SopClassUid | InstanceNumber | ContainerIdentifier => {
                QueryLevel::Instance
            }
        }
    }
}

/// How a key's value is matched (PS3.4 C.2.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// Single value matching. Person names match without regard to case.
    Exact(String),
    /// `*` (any run) and `?` (one character) wildcards.
    Wildcard(String),
    /// UID list matching: any of the values.
    List(Vec<String>),
    /// Range matching of dates and times, both ends inclusive, either open.
    Range {
        from: Option<String>,
        to: Option<String>,
    },
}

/// Restriction of a query to one study or one series (the nested QIDO paths).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryScope {
    pub study: Option<StudyInstanceUid>,
    pub series: Option<SeriesInstanceUid>,
}

/// A query, parsed and validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub level: QueryLevel,
    pub scope: QueryScope,
    pub filters: Vec<(QueryKey, Matcher)>,
    pub limit: Option<u32>,
    pub offset: u32,
    /// Whether the client pages through results (gave `limit` or `offset`):
    /// results then come in a stable order (of reception). Otherwise the order
    /// is whatever the index finds fastest.
    pub paged: bool,
    /// Whether matches must carry a stored header (for `includefield` of
    /// attributes the index has no column for).
    pub with_header: bool,
}

/// Counters of a study, over its live series and instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudyStats {
    pub modalities: Vec<String>,
    pub num_series: i64,
    pub num_instances: i64,
    pub size_bytes: i64,
}

/// Counters of a series, over its live instances.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeriesStats {
    pub num_instances: i64,
    pub calling_aet: String,
}

/// One match: the matched entity with every level above it.
#[derive(Debug, Clone)]
pub struct QueryMatch {
    pub patient: PatientAttributes,
    /// Number of live studies of the patient (patient-level queries).
    pub patient_num_studies: i64,
    pub study: Option<(StudyAttributes, StudyStats)>,
    pub series: Option<(SeriesAttributes, SeriesStats)>,
    pub instance: Option<InstanceAttributes>,
    /// The stored header (DICOM JSON) of the instance, or of one instance of the
    /// matched series or study, when the query asked for it.
    pub header_json: Option<String>,
}
