//! The audit log's read side: operators ask who changed what, when, for which
//! tenant. The write side is part of each change's transaction (`model::Journal`).

use std::time::SystemTime;

use crate::ids::TenantName;
use crate::model::NewAuditRecord;
use crate::ports::RepositoryError;

/// One recorded change made through the management APIs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log (all tenants share one sequence).
    pub id: i64,
    pub tenant: TenantName,
    pub record: NewAuditRecord,
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
