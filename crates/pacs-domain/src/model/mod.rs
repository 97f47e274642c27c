//! Entities and value types of the archive.

mod attributes;
mod events;
mod frames;
mod journal;
mod management;
mod query;
mod slide;
mod stored;

pub use attributes::{
    InstanceAttributes, InstanceHeader, PatientAttributes, SeriesAttributes, StudyAttributes,
    header_fingerprint,
};
pub use events::{EventType, NewEvent, StudyEvent};
pub use frames::FrameIndex;
pub use journal::{
    Corrected, Deprecated, Indexed, Journal, NewAuditRecord, PatientKey, Recorder, StorePolicy,
    StudyOwner, StudyRef,
};
pub use management::{
    Change, CorrectionOutcome, CountFilter, DeprecationAction, DeprecationOutcome,
    DeprecationTarget, Order, OrderOutcome, PatientRecord, RelocatedFile, RelocationLookup,
    SeriesSelector, StudyFile, StudySelector,
};
pub use query::{
    Matcher, Query, QueryKey, QueryLevel, QueryMatch, QueryScope, SeriesStats, StudyStats,
};
pub use slide::{SlideFacts, SlideFile, SlideKind, SpecimenHierarchy, SpecimenLevel};
pub use stored::{BlobLocation, MediumKind, MediumName, NewInstance, StoreOutcome, StoredInstance};
