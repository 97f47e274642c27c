//! The management ports: counting, deprecation, patient and study corrections,
//! orders, relocation. Each change is one transaction that also writes the
//! journal (study events, audit record) its caller builds from what it found.

use crate::ids::{PatientId, StudyInstanceUid, TenantName};
use crate::model::{
    Change, Corrected, CorrectionOutcome, CountFilter, Deprecated, DeprecationAction,
    DeprecationOutcome, DeprecationTarget, MediumName, Order, OrderOutcome, PatientAttributes,
    Recorder, RelocatedFile, RelocationLookup, StudyAttributes, StudyFile, StudyRef, StudySelector,
};
use crate::ports::RepositoryError;

/// `GET /studies/count`.
pub trait StudyCounter: Send + Sync {
    /// Live studies with at least one live series that match `filter`, counted
    /// by the database in one indexed query.
    fn count_studies(
        &self,
        tenant: &TenantName,
        filter: &CountFilter,
    ) -> Result<u64, RepositoryError>;
}

/// Hiding data without deleting it, and bringing it back. Files are never touched.
pub trait DeprecationStore: Send + Sync {
    /// Deprecate: hides the live series or study (a study with every live
    /// series, its UIDs becoming free), with a record of who/when/why, and
    /// recomputes the study's counters. Recover: brings back the most recently
    /// deprecated series or study with that selector, unless live data with its
    /// UIDs was stored since (`LiveDataExists`). Writes `journal`'s records in
    /// the same transaction.
    fn change_deprecation(
        &self,
        tenant: &TenantName,
        action: DeprecationAction,
        target: &DeprecationTarget,
        change: &Change,
        journal: Recorder<'_, Deprecated>,
    ) -> Result<DeprecationOutcome, RepositoryError>;
}

/// Patient and study corrections. None of them touches a stored file: the
/// database is the truth and retrieval writes it into returned headers.
pub trait CorrectionStore: Send + Sync {
    /// A new patient; `PatientExists` when the ID and issuer are taken.
    fn create_patient(
        &self,
        tenant: &TenantName,
        patient: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// New demographics for the patient with that ID (issuer when given), and
    /// for the orders of that patient.
    fn update_patient(
        &self,
        tenant: &TenantName,
        patient: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// Every study of `source` goes to `target`, created when missing.
    fn merge_patients(
        &self,
        tenant: &TenantName,
        source: &PatientId,
        target: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// The study goes to the patient `target` (created when missing).
    fn move_study(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        target: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// Every series of `source` goes to the study `target` (created with these
    /// values when missing, for the patient found by ID or created).
    fn reconcile_studies(
        &self,
        tenant: &TenantName,
        source: &StudyInstanceUid,
        target: &StudyAttributes,
        patient: &PatientAttributes,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// The series of the two studies change places.
    fn swap_studies(
        &self,
        tenant: &TenantName,
        source: &StudyInstanceUid,
        target: &StudyInstanceUid,
        journal: Recorder<'_, Corrected>,
    ) -> Result<CorrectionOutcome, RepositoryError>;
}

/// Orders (scheduled procedures) kept for the modality worklist.
pub trait OrderStore: Send + Sync {
    /// `Duplicate` when an order with that StudyInstanceUID exists.
    fn create_order(
        &self,
        tenant: &TenantName,
        order: &Order,
        journal: Recorder<'_, Order>,
    ) -> Result<OrderOutcome, RepositoryError>;

    /// The tenant's orders (the modality worklist), at most `limit`, the
    /// earliest scheduled first.
    fn list_orders(&self, tenant: &TenantName, limit: u32) -> Result<Vec<Order>, RepositoryError>;

    /// `NotFound` when no order has that StudyInstanceUID.
    fn delete_order(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        journal: Recorder<'_, Order>,
    ) -> Result<OrderOutcome, RepositoryError>;
}

/// Moving a study's stored objects to another medium (`POST /studies/relocation`).
pub trait RelocationStore: Send + Sync {
    /// Every stored object of the live study (its deprecated series included: they
    /// stay with the study).
    fn study_files(
        &self,
        tenant: &TenantName,
        study: &StudySelector,
    ) -> Result<RelocationLookup, RepositoryError>;
    /// Records the copies on `target` in one transaction, with `journal`'s
    /// records, and returns the old objects no row refers to any more (a
    /// deprecated row of another study may share one). Fails with `Conflict`,
    /// changing nothing, when a row no longer names the object that was copied.
    fn switch_medium(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        target: &MediumName,
        moved: &[RelocatedFile],
        journal: Recorder<'_, StudyRef>,
    ) -> Result<Vec<StudyFile>, RepositoryError>;
}
