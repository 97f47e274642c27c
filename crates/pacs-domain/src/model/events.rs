//! Study events: the append-only log hospital systems poll (`GET /studyEvents`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::ids::{PatientId, SeriesInstanceUid, StudyInstanceUid};

/// Kind of change an event records (also the action of its audit record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    StudyCreated,
    InstanceStored,
    SeriesDeprecated,
    StudyDeprecated,
    SeriesRecovered,
    StudyRecovered,
    StudyMoved,
    PatientsMerged,
    StudyReconciled,
    StudyAvailable,
    StudiesSwapped,
    StudyRelocated,
    KosStored,
    OrderCreated,
    OrderDeleted,
    PatientCreated,
    PatientUpdated,
    ForwardQueued,
    ForwardSucceeded,
    ForwardFailed,
}

impl EventType {
    pub const ALL: [EventType; 20] = [
        EventType::StudyCreated,
        EventType::InstanceStored,
        EventType::SeriesDeprecated,
        EventType::StudyDeprecated,
        EventType::SeriesRecovered,
        EventType::StudyRecovered,
        EventType::StudyMoved,
        EventType::PatientsMerged,
        EventType::StudyReconciled,
        EventType::StudyAvailable,
        EventType::StudiesSwapped,
        EventType::StudyRelocated,
        EventType::KosStored,
        EventType::OrderCreated,
        EventType::OrderDeleted,
        EventType::PatientCreated,
        EventType::PatientUpdated,
        EventType::ForwardQueued,
        EventType::ForwardSucceeded,
        EventType::ForwardFailed,
    ];

    /// The stable name clients see in `eventType`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::StudyCreated => "STUDY_CREATED",
            EventType::InstanceStored => "INSTANCE_STORED",
            EventType::SeriesDeprecated => "SERIES_DEPRECATED",
            EventType::StudyDeprecated => "STUDY_DEPRECATED",
            EventType::SeriesRecovered => "SERIES_RECOVERED",
            EventType::StudyRecovered => "STUDY_RECOVERED",
            EventType::StudyMoved => "STUDY_MOVED",
            EventType::PatientsMerged => "PATIENTS_MERGED",
            EventType::StudyReconciled => "STUDY_RECONCILED",
            EventType::StudyAvailable => "STUDY_AVAILABLE",
            EventType::StudiesSwapped => "STUDIES_SWAPPED",
            EventType::StudyRelocated => "STUDY_RELOCATED",
            EventType::KosStored => "KOS_STORED",
            EventType::OrderCreated => "ORDER_CREATED",
            EventType::OrderDeleted => "ORDER_DELETED",
            EventType::PatientCreated => "PATIENT_CREATED",
            EventType::PatientUpdated => "PATIENT_UPDATED",
            EventType::ForwardQueued => "FORWARD_QUEUED",
            EventType::ForwardSucceeded => "FORWARD_SUCCEEDED",
            EventType::ForwardFailed => "FORWARD_FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// An event to append, in the same transaction as the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub event_type: EventType,
    pub study_uid: Option<StudyInstanceUid>,
    pub series_uid: Option<SeriesInstanceUid>,
    pub patient_id: Option<PatientId>,
    pub accession_number: Option<String>,
    pub details: BTreeMap<String, String>,
}

impl NewEvent {
    pub fn new(event_type: EventType) -> Self {
        Self {
            event_type,
            study_uid: None,
            series_uid: None,
            patient_id: None,
            accession_number: None,
            details: BTreeMap::new(),
        }
    }

    pub fn detail(mut self, key: &str, value: impl Into<String>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// An appended event, with its position in the tenant's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudyEvent {
    /// The tenant's own sequence: 1, 2, 3… without gaps, so it tells nothing
    /// of other tenants. A reader polling with the last id it saw misses nothing.
    pub id: i64,
    pub event: NewEvent,
    pub occurred_at: SystemTime,
}
