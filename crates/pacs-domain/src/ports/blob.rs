//! The blob store port: where the bytes of stored objects live.

use std::io::{Read, Seek, Write};

use crate::ids::TenantName;
use crate::model::MediumName;

/// Why a blob-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {0} not found on the medium")]
    NotFound(String),
    #[error("storage I/O error: {0}")]
    Io(String),
    #[error("storage medium {medium} is unavailable: {reason}")]
    Unavailable { medium: String, reason: String },
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        StorageError::Io(e.to_string())
    }
}

/// What a stored object is, from which the medium derives its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    pub tenant: TenantName,
    /// Path-like grouping, outermost first (study UID, series UID...).
    pub groups: Vec<String>,
    /// The object's own name (SOP Instance UID, slide file name...).
    pub name: String,
    /// SHA-1 of the content: objects with other content get other keys, so a
    /// stored object is never overwritten.
    pub sha1: String,
}

/// A readable stored object.
pub trait BlobRead: Read + Seek + Send {
    /// Total length in bytes.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A blob that was committed under its final key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedBlob {
    pub key: String,
    /// False when an object with this key (hence this content) already existed.
    pub created: bool,
}

/// Bytes being written to a medium's staging area. Dropping it discards them.
pub trait BlobWriter: Write + Send {
    /// Bytes written so far.
    fn written(&self) -> u64;
    /// Ends the object and returns its size and SHA-1. The bytes become durable
    /// when [`BlobStore::commit`] places them.
    fn finish(self: Box<Self>) -> Result<Box<dyn StagedBlob>, StorageError>;
}

/// Staged bytes, not yet visible under a key. Dropping it discards them.
pub trait StagedBlob: Send + std::fmt::Debug {
    fn size(&self) -> u64;
    /// SHA-1 of the bytes, lower-case hex.
    fn sha1(&self) -> &str;
    /// Reads the staged bytes (to parse them before deciding where they go). The
    /// first reader may be served from memory, and gives that memory back.
    fn reader(&mut self) -> Result<Box<dyn BlobRead>, StorageError>;
    /// For the medium that staged it (see [`BlobStore::commit`]).
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send>;
}

/// A storage medium: a filesystem "physical medium" or an S3 bucket.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &MediumName;
    /// Starts a new object in the staging area.
    fn begin(&self) -> Result<Box<dyn BlobWriter>, StorageError>;
    /// Places objects staged by this medium under the keys derived from their
    /// names, atomically and durably: their bytes, then their names, are on
    /// stable storage when it returns (callers record keys only after that).
    /// MUST NOT overwrite an existing object: where a key exists, the staged bytes
    /// are dropped and `created` is false. On error nothing it created is left.
    fn commit(
        &self,
        items: Vec<(Box<dyn StagedBlob>, ObjectName)>,
    ) -> Result<Vec<CommittedBlob>, StorageError>;
    /// Places one staged object under `key` as given: a copy of another medium's
    /// object keeps its key (relocation). Same guarantees as [`BlobStore::commit`].
    fn place(&self, blob: Box<dyn StagedBlob>, key: &str) -> Result<CommittedBlob, StorageError>;
    /// Opens a stored object. Unknown key: `NotFound`.
    fn open(&self, key: &str) -> Result<Box<dyn BlobRead>, StorageError>;
    /// Removes a stored object (only for objects no row refers to).
    fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// Whether the medium is reachable and writable (readiness probe).
    fn check(&self) -> Result<(), StorageError>;
}
