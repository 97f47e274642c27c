//! The audit log's read side: operators ask who changed what, when, for which
//! tenant. The write side is part of each management port's transaction.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::ids::TenantName;
use crate::ports::RepositoryError;

/// One recorded change made through the management APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log (all tenants share one sequence).
    pub id: i64,
    pub tenant: String,
    /// Who: the request's `author`, `userName` (with `operatorName`), or the API
    /// that made the change when the source document names nobody.
    pub actor: String,
    /// What: e.g. `SERIES_DEPRECATED`, `PATIENTS_MERGED`, `ORDER_CREATED`.
    pub action: String,
    pub study_uid: Option<String>,
    pub series_uid: Option<String>,
    /// Patient data: callers decide whether to show it.
    pub patient_id: Option<String>,
    /// The change's parameters (reason, source and target identifiers…).
    pub details: BTreeMap<String, String>,
    pub occurred_at: SystemTime,
}

/// Reading the audit log.
pub trait AuditLog: Send + Sync {
    /// Records with id greater than `after`, ascending, at most `limit`; of one
    /// tenant, or of every tenant when `tenant` is `None`.
    fn audit_after(
        &self,
        tenant: Option<&TenantName>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, RepositoryError>;
}
