//! Ports: the small traits the use cases need and the adapters implement.
//! No adapter type appears in a signature; each port family has its own error.

mod audit;
mod blob;
mod locks;
mod management;
mod repository;
mod stats;

pub use audit::{AuditLog, AuditRecord};
pub use blob::{
    BlobRead, BlobStore, BoxFuture, ByteRange, ByteStream, CommittedBlob, IncomingBytes,
    LocalBoxFuture, ObjectName, StagedBlob, StorageError,
};
pub use locks::ChangeLocks;
pub use management::{
    CorrectionStore, DeprecationStore, OrderStore, RelocationStore, StudyCounter,
};
pub use repository::{Cause, EventLog, InstanceIndex, QueryIndex, RepositoryError, RetrieveIndex};
pub use stats::{MediumUsage, StorageUsage};
