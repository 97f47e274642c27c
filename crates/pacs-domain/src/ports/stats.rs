//! What the archive holds, for monitoring: counts without patient data.

use crate::ports::RepositoryError;

/// Instances and bytes on one storage medium, split by visibility.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediumUsage {
    /// The medium's configured name.
    pub medium: String,
    /// Live (visible) instances and their stored bytes.
    pub live_instances: u64,
    pub live_bytes: u64,
    /// Deprecated instances: hidden, but still on the medium.
    pub deprecated_instances: u64,
    pub deprecated_bytes: u64,
}

/// Storage usage as the index records it.
pub trait StorageUsage: Send + Sync {
    /// One entry per medium that holds at least one instance, every tenant
    /// together. Answered by the database (an aggregate over the instances);
    /// no file is read.
    fn usage_by_medium(&self) -> Result<Vec<MediumUsage>, RepositoryError>;
}
