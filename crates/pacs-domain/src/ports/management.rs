//! The management ports: counting, deprecation, patient and study corrections,
//! orders. Each method is one transaction that also appends the study events
//! and the audit record of the change.

use crate::ids::{PatientId, StudyInstanceUid, TenantName};
use crate::model::{
    Change, CorrectionOutcome, CountFilter, DeprecationOutcome, MediumName, Order, OrderOutcome,
    PatientAttributes, RelocatedFile, RelocationLookup, SeriesSelector, StudyAttributes, StudyFile,
    StudySelector,
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

/// Hiding data without deleting it, and bringing it back.
pub trait DeprecationStore: Send + Sync {
    /// Hides the live series (with its instances), records who/when/why, and
    /// subtracts it from its study's counters. Files are never touched.
    fn deprecate_series(
        &self,
        tenant: &TenantName,
        series: &SeriesSelector,
        change: &Change,
    ) -> Result<DeprecationOutcome, RepositoryError>;

    /// Hides the live study with every live series; its UIDs become free.
    fn deprecate_study(
        &self,
        tenant: &TenantName,
        study: &StudySelector,
        change: &Change,
    ) -> Result<DeprecationOutcome, RepositoryError>;

    /// Brings back the most recently deprecated series with that selector, unless
    /// live data with its UIDs was stored since (`LiveDataExists`).
    fn recover_series(
        &self,
        tenant: &TenantName,
        series: &SeriesSelector,
        change: &Change,
    ) -> Result<DeprecationOutcome, RepositoryError>;

    /// Brings back the most recently deprecated study with that selector.
    fn recover_study(
        &self,
        tenant: &TenantName,
        study: &StudySelector,
        change: &Change,
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
        change: &Change,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// New demographics for the patient with that ID (issuer when given), and
    /// for the orders of that patient.
    fn update_patient(
        &self,
        tenant: &TenantName,
        patient: &PatientAttributes,
        change: &Change,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// Every study of `source` goes to `target`, created when missing.
    fn merge_patients(
        &self,
        tenant: &TenantName,
        source: &PatientId,
        target: &PatientAttributes,
        change: &Change,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// The study goes to the patient `target` (created when missing).
    fn move_study(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        target: &PatientAttributes,
        change: &Change,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// Every series of `source` goes to the study `target` (created with these
    /// values when missing, for the patient found by ID or created).
    fn reconcile_studies(
        &self,
        tenant: &TenantName,
        source: &StudyInstanceUid,
        target: &StudyAttributes,
        patient: &PatientAttributes,
        change: &Change,
    ) -> Result<CorrectionOutcome, RepositoryError>;

    /// The series of the two studies change places.
    fn swap_studies(
        &self,
        tenant: &TenantName,
        source: &StudyInstanceUid,
        target: &StudyInstanceUid,
        change: &Change,
    ) -> Result<CorrectionOutcome, RepositoryError>;
}

/// Orders (scheduled procedures) kept for the modality worklist.
pub trait OrderStore: Send + Sync {
    /// `Duplicate` when an order with that StudyInstanceUID exists.
    fn create_order(
        &self,
        tenant: &TenantName,
        order: &Order,
        change: &Change,
    ) -> Result<OrderOutcome, RepositoryError>;

    /// `NotFound` when no order has that StudyInstanceUID.
    fn delete_order(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        change: &Change,
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
    /// Records the copies on `target` in one transaction, with the event and the
    /// audit record, and returns the old objects no row refers to any more (a
    /// deprecated row of another study may share one). Fails with `Conflict`,
    /// changing nothing, when a row no longer names the object that was copied.
    fn switch_medium(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        target: &MediumName,
        moved: &[RelocatedFile],
        change: &Change,
    ) -> Result<Vec<StudyFile>, RepositoryError>;
}
