//! S3-compatible buckets as storage media, through rust-s3.
//!
//! A bucket stages an incoming stream the way a filesystem medium does, into
//! a local temporary file hashed on the way (`staging.rs`): the bytes can be
//! parsed before their key is known, and a request that fails leaves nothing
//! in the bucket. `commit` uploads each staged file under the key a
//! filesystem would use for it (`keys.rs`), in one PUT or as a multipart
//! upload with a bounded number of parts in memory, and never replaces an
//! object (`upload.rs`). Reads are ranged GETs passed on as they arrive; the
//! decoders' blocking reader fetches bounded windows (`download.rs`). The
//! service's failures map onto the port's errors in `errors.rs`; the
//! configuration and the client are in `settings.rs`.

mod download;
mod errors;
mod settings;
mod staging;
mod upload;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use pacs_domain::model::{MediumKind, MediumName};
use pacs_domain::ports::{
    BlobRead, BlobStore, BoxFuture, ByteRange, ByteStream, CommittedBlob, IncomingBytes,
    LocalBoxFuture, ObjectName, StagedBlob, StorageError,
};
use s3::Bucket;

pub use settings::BucketSettings;

use crate::keys::{check_key, key_for};
use download::BucketReader;
use errors::{storage_error, timed_out, unavailable};
use staging::bucket_staged;
use upload::Uploads;

const STAGING: &str = ".staging";

/// Where `check` writes to prove the bucket writable (outside every tenant's keys).
const PROBE: &str = ".pacs-probe";

/// How long `check` (the readiness probe) waits for the service.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// An S3-compatible bucket used as a storage medium.
pub struct S3Bucket {
    name: MediumName,
    bucket: Box<Bucket>,
    staging_root: PathBuf,
}

/// Names the bucket, never its credentials.
impl std::fmt::Debug for S3Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Bucket")
            .field("name", &self.name)
            .field("url", &self.bucket.url())
            .field("staging_root", &self.staging_root)
            .finish()
    }
}

impl S3Bucket {
    /// A bucket medium from its settings. Sends no request (the service may
    /// come up later: `check` tells); fails when the settings cannot work
    /// (no credentials anywhere, no bucket name, a staging directory that
    /// cannot be created) with `Unavailable`. The bucket must exist.
    pub fn connect(name: MediumName, settings: BucketSettings) -> Result<Self, StorageError> {
        let bucket = settings.client(&name)?;
        let staging_root = settings.staging_root(&name);
        std::fs::create_dir_all(staging_root.join(STAGING))
            .map_err(|e| unavailable(&name, format!("staging directory: {e}")))?;
        Ok(Self {
            name,
            bucket,
            staging_root,
        })
    }

    /// The local directory whose `.staging` holds the bytes being received
    /// (for `clean_staging` at startup).
    pub fn staging_root(&self) -> &Path {
        &self.staging_root
    }

    /// The bucket's base URL (path-style `http://host/bucket` or virtual-host
    /// `http://bucket.host`).
    pub fn url(&self) -> String {
        self.bucket.url()
    }

    fn uploads(&self) -> Uploads<'_> {
        Uploads {
            bucket: &self.bucket,
            medium: &self.name,
        }
    }

    /// Removes the objects a failed commit created (best effort).
    async fn remove_created(&self, committed: &[CommittedBlob]) {
        for c in committed.iter().filter(|c| c.created) {
            let _ = self.bucket.delete_object(&c.key).await;
        }
    }

    /// The local half of `check`: the staging directory takes a file.
    async fn check_staging(&self) -> Result<(), StorageError> {
        let staging = self.staging_root.join(STAGING);
        let name = self.name.clone();
        blocking(move || {
            let mut probe = tempfile::Builder::new()
                .prefix("probe-")
                .tempfile_in(&staging)
                .map_err(|e| unavailable(&name, format!("staging directory: {e}")))?;
            probe
                .write_all(b"ok")
                .map_err(|e| unavailable(&name, format!("staging directory: {e}")))?;
            Ok(())
        })
        .await
    }
}

impl BlobStore for S3Bucket {
    fn name(&self) -> &MediumName {
        &self.name
    }

    fn kind(&self) -> MediumKind {
        MediumKind::Bucket
    }

    fn stage<'a>(
        &'a self,
        bytes: IncomingBytes<'a>,
    ) -> LocalBoxFuture<'a, Result<Box<dyn StagedBlob>, StorageError>> {
        Box::pin(async move {
            let staged = staging::stage(self.staging_root.join(STAGING), bytes).await?;
            Ok(Box::new(staged) as Box<dyn StagedBlob>)
        })
    }

    fn commit(
        &self,
        items: Vec<(Box<dyn StagedBlob>, ObjectName)>,
    ) -> BoxFuture<'_, Result<Vec<CommittedBlob>, StorageError>> {
        Box::pin(async move {
            // Objects staged elsewhere are refused before anything is sent.
            let staged = items
                .into_iter()
                .map(|(blob, name)| Ok((bucket_staged(blob)?, key_for(&name))))
                .collect::<Result<Vec<_>, StorageError>>()?;
            let mut committed = Vec::with_capacity(staged.len());
            for (blob, key) in staged {
                match self.uploads().put_new(blob, &key).await {
                    Ok(created) => committed.push(CommittedBlob { key, created }),
                    Err(e) => {
                        self.remove_created(&committed).await;
                        return Err(e);
                    }
                }
            }
            Ok(committed)
        })
    }

    fn place<'a>(
        &'a self,
        blob: Box<dyn StagedBlob>,
        key: &'a str,
    ) -> BoxFuture<'a, Result<CommittedBlob, StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            let blob = bucket_staged(blob)?;
            let created = self.uploads().put_new(blob, key).await?;
            Ok(CommittedBlob {
                key: key.to_owned(),
                created,
            })
        })
    }

    fn read<'a>(
        &'a self,
        key: &'a str,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            download::read(&self.bucket, &self.name, key, range).await
        })
    }

    fn len<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            download::length(&self.bucket, &self.name, key).await
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            check_key(key)?;
            match self.bucket.delete_object(key).await {
                Ok(_) => Ok(()),
                // S3 answers 204 for a missing key; some services answer 404.
                Err(e) => match storage_error(&self.name, key, e) {
                    StorageError::NotFound(_) => Ok(()),
                    other => Err(other),
                },
            }
        })
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        Box::pin(async move {
            self.check_staging().await?;
            let put = self.bucket.put_object(PROBE, b"ok");
            match tokio::time::timeout(CHECK_TIMEOUT, put).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(match storage_error(&self.name, "", e) {
                    e @ StorageError::Unavailable { .. } => e,
                    other => unavailable(&self.name, other),
                }),
                Err(_) => Err(timed_out(&self.name, "PUT probe")),
            }
        })
    }

    fn blocking_reader(&self, key: &str) -> Result<Box<dyn BlobRead>, StorageError> {
        check_key(key)?;
        Ok(Box::new(BucketReader::open(&self.bucket, &self.name, key)?))
    }
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Io(io::Error::other(format!("storage task stopped: {e}"))))?
}
