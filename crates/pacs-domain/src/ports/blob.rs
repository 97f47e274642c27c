//! The blob store port: where the bytes of stored objects live.
//!
//! Asynchronous and stream-based, in the spirit of pict-rs's `Store`: a medium
//! stages a stream of bytes, commits staged objects under content-addressed
//! keys, and reads a byte range of a stored object as a stream. A filesystem
//! and an object store (S3: stage locally, multipart-upload on commit, ranged
//! GETs on read) fit the same trait.
//!
//! The trait is held as `dyn BlobStore` (media are chosen by name at run
//! time), so its methods return boxed futures written by hand rather than
//! `async fn`: `async fn` in traits is not dyn-compatible, and the
//! `async-trait` macro would generate the same boxes behind a proc macro.
//! One allocation per call is nothing next to the I/O it stands for.

use std::future::Future;
use std::io::{self, Read, Seek};
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;

use crate::ids::TenantName;
use crate::model::{MediumKind, MediumName};
use crate::ports::Cause;

/// Why a blob-store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {0} not found on the medium")]
    NotFound(String),
    #[error("storage I/O error")]
    Io(#[from] io::Error),
    /// The stream of bytes given to [`BlobStore::stage`] failed (a client
    /// that went away, a malformed body): nothing was staged.
    #[error("the bytes to store could not be received")]
    Source(#[source] io::Error),
    #[error("storage medium {medium} is unavailable")]
    Unavailable {
        medium: String,
        #[source]
        cause: Cause,
    },
}

/// A boxed future that may move between threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed future that stays on its thread: staging consumes the body of a
/// request, which a single-threaded HTTP server does not hand to other threads.
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Bytes read from a medium.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// Bytes given to a medium to stage (a request body need not be `Send`).
pub type IncomingBytes<'a> = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + 'a>>;

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

/// Bytes `start..start + len` of an object (`len` `None`: to its end). A
/// range reaching past the end is cut at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub start: u64,
    pub len: Option<u64>,
}

impl ByteRange {
    /// The whole object.
    pub const ALL: ByteRange = ByteRange {
        start: 0,
        len: None,
    };

    /// From `start` to the end.
    pub fn from(start: u64) -> Self {
        Self { start, len: None }
    }

    /// `len` bytes from `start`.
    pub fn new(start: u64, len: u64) -> Self {
        Self {
            start,
            len: Some(len),
        }
    }

    /// The bytes of an object of `size` bytes this range covers.
    pub fn within(&self, size: u64) -> u64 {
        let left = size.saturating_sub(self.start);
        self.len.map_or(left, |n| n.min(left))
    }
}

/// A readable stored object, for the synchronous decoders (blocking).
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

/// Staged bytes, not yet visible under a key: local to this process on every
/// kind of medium, so that they can be parsed before their key is known.
/// Dropping it discards them.
pub trait StagedBlob: Send + std::fmt::Debug {
    fn size(&self) -> u64;
    /// SHA-1 of the bytes, lower-case hex.
    fn sha1(&self) -> &str;
    /// Reads the staged bytes (blocking: call it where blocking is allowed).
    /// The first reader may be served from memory, and gives that memory back.
    fn reader(&mut self) -> Result<Box<dyn BlobRead>, StorageError>;
    /// For the medium that staged it (see [`BlobStore::commit`]).
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send>;
}

/// A storage medium: a filesystem "physical medium" or an S3 bucket.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &MediumName;

    /// A filesystem medium or a bucket.
    fn kind(&self) -> MediumKind;

    /// Stages `bytes`, hashing them on the way; memory stays bounded whatever
    /// their length. A failing stream is [`StorageError::Source`].
    fn stage<'a>(
        &'a self,
        bytes: IncomingBytes<'a>,
    ) -> LocalBoxFuture<'a, Result<Box<dyn StagedBlob>, StorageError>>;

    /// Places objects staged by this medium under the keys derived from their
    /// names, atomically and durably: their bytes, then their names, are on
    /// stable storage when it completes (callers record keys only after that).
    /// MUST NOT overwrite an existing object: where a key exists, the staged bytes
    /// are dropped and `created` is false. On error nothing it created is left.
    fn commit(
        &self,
        items: Vec<(Box<dyn StagedBlob>, ObjectName)>,
    ) -> BoxFuture<'_, Result<Vec<CommittedBlob>, StorageError>>;

    /// Places one staged object under `key` as given: a copy of another medium's
    /// object keeps its key (relocation). Same guarantees as [`BlobStore::commit`].
    fn place<'a>(
        &'a self,
        blob: Box<dyn StagedBlob>,
        key: &'a str,
    ) -> BoxFuture<'a, Result<CommittedBlob, StorageError>>;

    /// Streams `range` of a stored object. Unknown key: `NotFound`, before any
    /// byte is streamed.
    fn read<'a>(
        &'a self,
        key: &'a str,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>>;

    /// The length of a stored object. Unknown key: `NotFound`.
    fn len<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, StorageError>>;

    /// Removes a stored object (only for objects no row refers to). Removing
    /// what is not there succeeds.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>>;

    /// Whether the medium is reachable and writable (readiness probe).
    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>>;

    /// Opens a stored object for the synchronous decoders (frames, rendering,
    /// rewritten headers, zips), which seek: blocking, so call it only where
    /// blocking is allowed. A filesystem hands its file; an object store
    /// would read ranges. Unknown key: `NotFound`.
    fn blocking_reader(&self, key: &str) -> Result<Box<dyn BlobRead>, StorageError>;
}
