//! The index ports: what the database keeps and answers.

use crate::ids::{SeriesInstanceUid, SopInstanceUid, StudyInstanceUid, TenantName};
use crate::model::{
    BlobLocation, NewInstance, Query, QueryMatch, StoreOutcome, StorePolicy, StoredInstance,
    StudyEvent,
};

/// The underlying failure a port error carries, kept for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a repository operation failed. The database's own error stays the
/// `source`, so whoever logs it sees the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("database unavailable")]
    Unavailable(#[source] Cause),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database error")]
    Internal(#[source] Cause),
}

impl RepositoryError {
    pub fn internal(cause: impl Into<Cause>) -> Self {
        RepositoryError::Internal(cause.into())
    }

    pub fn unavailable(cause: impl Into<Cause>) -> Self {
        RepositoryError::Unavailable(cause.into())
    }
}

/// Indexing of received instances.
pub trait InstanceIndex: Send + Sync {
    /// Indexes `batch` in one transaction, with the journal `policy` builds from
    /// what indexing did, and returns one outcome per instance, in order. Contract:
    /// - an existing live SOP Instance UID with the same SHA-1 MUST give `AlreadyStored`
    ///   and change nothing;
    /// - an existing live SOP Instance UID with other content MUST give `Conflict`;
    /// - a live series UID that belongs to another study MUST give `Conflict`;
    /// - patient and study rows are created when missing; existing ones are not changed
    ///   (the database is the truth for their values);
    /// - with `policy.unique_barcodes`, an instance whose Container Identifier another
    ///   live instance carries MUST give `BarcodeTaken`.
    fn store(
        &self,
        tenant: &TenantName,
        batch: &[NewInstance],
        policy: &StorePolicy<'_>,
    ) -> Result<Vec<StoreOutcome>, RepositoryError>;

    /// The stored bytes of the live instance `sop`, if any.
    fn find_live(
        &self,
        tenant: &TenantName,
        sop: &SopInstanceUid,
    ) -> Result<Option<BlobLocation>, RepositoryError>;
}

/// Answers queries from the index alone, never from files.
pub trait QueryIndex: Send + Sync {
    /// Matches of `query` among the tenant's live data, in a stable order
    /// (most recent studies first), after `offset`, at most `limit`.
    fn query(&self, tenant: &TenantName, query: &Query)
    -> Result<Vec<QueryMatch>, RepositoryError>;
}

/// Finds what retrieval streams.
pub trait RetrieveIndex: Send + Sync {
    /// The live instances of a study, optionally of one series or one instance,
    /// ordered by series then instance number, with their stored headers when
    /// `with_headers`. Empty when nothing matches.
    fn locate(
        &self,
        tenant: &TenantName,
        study: &StudyInstanceUid,
        series: Option<&SeriesInstanceUid>,
        sop: Option<&SopInstanceUid>,
        with_headers: bool,
    ) -> Result<Vec<StoredInstance>, RepositoryError>;

    /// The live instances of a series (by its UID alone), by instance number then
    /// SOP Instance UID.
    fn locate_series(
        &self,
        tenant: &TenantName,
        series: &SeriesInstanceUid,
    ) -> Result<Vec<StoredInstance>, RepositoryError>;

    /// The live instances whose Container Identifier is `barcode` (slides).
    fn locate_by_container(
        &self,
        tenant: &TenantName,
        barcode: &str,
    ) -> Result<Vec<StoredInstance>, RepositoryError>;

    /// One live instance by SOP Instance UID alone (WADO-URI, preview).
    fn locate_instance(
        &self,
        tenant: &TenantName,
        sop: &SopInstanceUid,
    ) -> Result<Option<StoredInstance>, RepositoryError>;
}

/// The tenant's study event log.
pub trait EventLog: Send + Sync {
    /// Events with id greater than `after`, ascending, at most `limit`. Ids are
    /// per tenant and MUST be 1, 2, 3… without gaps. A reader that always passes
    /// the last id it saw MUST never miss nor repeat an event, even while writers
    /// commit concurrently.
    fn read_after(
        &self,
        tenant: &TenantName,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StudyEvent>, RepositoryError>;
}
