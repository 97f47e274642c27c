//! Locks on changes in progress that every process of the archive sees: with
//! several nodes on one database, "a change of this study is running" must
//! hold across them, not only inside one process.

use super::RepositoryError;

/// Named locks shared by the processes of one archive. A lock is held until
/// released or until its holder's process ends (a killed node frees its locks).
pub trait ChangeLocks: Send + Sync {
    /// Takes `key`; `Ok(false)` when another process holds it.
    fn try_lock(&self, key: &str) -> Result<bool, RepositoryError>;
    /// Releases `key`, taken by this process.
    fn unlock(&self, key: &str);
}
