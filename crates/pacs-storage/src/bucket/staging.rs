//! Staging for a bucket: the same local temporary file as a filesystem
//! medium's (written off the async workers, SHA-1 computed on the way, small
//! objects also kept in memory), under the bucket's own staging directory and
//! without fsync: the bytes become durable when the service acknowledges them.
//!
//! The staged object has a type of its own, so that neither kind of medium
//! takes the other's (a filesystem links its staged file into its tree, a
//! bucket uploads it).

use std::path::PathBuf;

use pacs_domain::ports::{BlobRead, IncomingBytes, StagedBlob, StorageError};

use crate::staging::{self, FsStaged};

/// Bytes staged by a bucket, in a local temporary file until uploaded.
pub(crate) struct BucketStaged(pub(crate) FsStaged);

impl std::fmt::Debug for BucketStaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("BucketStaged").field(&self.0).finish()
    }
}

impl StagedBlob for BucketStaged {
    fn size(&self) -> u64 {
        self.0.size()
    }

    fn sha1(&self) -> &str {
        self.0.sha1()
    }

    fn reader(&mut self) -> Result<Box<dyn BlobRead>, StorageError> {
        self.0.reader()
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

pub(crate) async fn stage(
    dir: PathBuf,
    bytes: IncomingBytes<'_>,
) -> Result<BucketStaged, StorageError> {
    staging::stage(dir, false, bytes).await.map(BucketStaged)
}

/// A staged object of a bucket (commit and place take only those).
pub(crate) fn bucket_staged(blob: Box<dyn StagedBlob>) -> Result<BucketStaged, StorageError> {
    blob.into_any()
        .downcast::<BucketStaged>()
        .map(|b| *b)
        .map_err(|_| {
            StorageError::Io(std::io::Error::other(
                "object staged by another medium than this bucket",
            ))
        })
}
