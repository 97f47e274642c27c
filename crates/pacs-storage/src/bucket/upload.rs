//! Uploading a staged file under its key, never over an existing object.
//!
//! A HEAD first: an object already there (hence the same content, keys carry
//! a digest) costs no upload. Then the write itself is conditional
//! (`If-None-Match: *`, on the PUT or on the completion of a multipart
//! upload), so that of two concurrent commits of one key exactly one creates
//! it; a service that ignores the condition leaves the HEAD as the guard.
//!
//! Objects up to one part go in one PUT. Larger ones are a multipart upload
//! read from the staged file part by part: at most [`IN_FLIGHT`] parts are
//! read or sent at once, so memory stays bounded whatever the object's size
//! (rust-s3 copies a part into its request body: each part in flight costs
//! twice its size). A failed or abandoned multipart upload is aborted, so no
//! parts are left behind.

use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use http::{HeaderMap, HeaderValue, header::IF_NONE_MATCH};
use pacs_domain::model::MediumName;
use pacs_domain::ports::{StagedBlob, StorageError};
use s3::Bucket;
use s3::error::S3Error;
use s3::serde_types::Part;

use super::blocking;
use super::errors::{status_of, storage_error};
use super::staging::BucketStaged;

/// Part size of multipart uploads; objects up to this size go in one PUT.
/// S3's smallest part: with two in flight, each costing twice its size, a
/// 2 GiB slide's upload stays under 64 MiB of RSS (8 MiB parts took 70 MiB).
const PART: u64 = 5 * 1024 * 1024;

/// S3 takes at most this many parts: larger objects get larger parts.
const MAX_PARTS: u64 = 10_000;

/// Parts read or sent at once (each costs twice its size in memory).
pub(crate) const IN_FLIGHT: usize = 1;

const CONTENT_TYPE: &str = "application/octet-stream";

/// The size of each part of an object of `size` bytes (a whole number of MiB).
pub(crate) fn part_size(size: u64) -> u64 {
    const MIB: u64 = 1024 * 1024;
    PART.max(size.div_ceil(MAX_PARTS).next_multiple_of(MIB))
}

/// Headers that make a write fail when the key exists.
fn if_none_match() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
    headers
}

/// How a conditional write ended.
enum Written {
    Created,
    /// The condition failed: an object has the key.
    Existed,
}

/// Uploads of one bucket.
pub(crate) struct Uploads<'a> {
    pub(crate) bucket: &'a Bucket,
    pub(crate) medium: &'a MediumName,
}

impl Uploads<'_> {
    fn fail(&self, key: &str, e: S3Error) -> StorageError {
        storage_error(self.medium, key, e)
    }

    /// Whether an object has `key`.
    pub(crate) async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match self.bucket.head_object(key).await {
            Ok(_) => Ok(true),
            Err(e) => match self.fail(key, e) {
                StorageError::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Puts `staged` under `key` unless an object has it; true when it created it.
    /// The staged bytes are gone when it returns, whatever happened.
    pub(crate) async fn put_new(
        &self,
        staged: BucketStaged,
        key: &str,
    ) -> Result<bool, StorageError> {
        if self.exists(key).await? {
            return Ok(false);
        }
        let size = staged.size();
        let written = if size <= PART {
            self.put_whole(staged, key).await?
        } else {
            self.put_parts(staged, key, size).await?
        };
        match written {
            Written::Created => Ok(true),
            Written::Existed => Ok(false),
        }
    }

    /// What a refused conditional write means: 412, the key exists; 409, a
    /// concurrent write of the key was under way (it exists if that one won).
    async fn refused(&self, key: &str, e: S3Error) -> Result<Written, StorageError> {
        match status_of(&e) {
            Some(412) => Ok(Written::Existed),
            Some(409) => {
                if self.exists(key).await? {
                    Ok(Written::Existed)
                } else {
                    Err(self.fail(key, e))
                }
            }
            _ => Err(self.fail(key, e)),
        }
    }

    async fn put_whole(
        &self,
        mut staged: BucketStaged,
        key: &str,
    ) -> Result<Written, StorageError> {
        let size = staged.size() as usize;
        let bytes = blocking(move || {
            let mut bytes = Vec::with_capacity(size);
            staged.reader()?.read_to_end(&mut bytes)?;
            Ok(bytes)
        })
        .await?;
        let put = self
            .bucket
            .put_object_with_content_type_and_headers(
                key,
                &bytes,
                CONTENT_TYPE,
                Some(if_none_match()),
            )
            .await;
        match put {
            Ok(_) => Ok(Written::Created),
            Err(e) => self.refused(key, e).await,
        }
    }

    async fn put_parts(
        &self,
        staged: BucketStaged,
        key: &str,
        size: u64,
    ) -> Result<Written, StorageError> {
        let upload = self
            .bucket
            .initiate_multipart_upload(key, CONTENT_TYPE)
            .await
            .map_err(|e| self.fail(key, e))?;
        // Aborts the upload if this future is dropped or fails before the end.
        let mut guard = AbortOnDrop {
            bucket: Some(self.bucket.clone()),
            key: key.to_owned(),
            upload_id: upload.upload_id.clone(),
        };
        let file = Arc::new(staged.0.file.reopen()?);
        let part = part_size(size);
        let upload_id = upload.upload_id.as_str();
        let parts: Vec<Part> = futures_util::stream::iter(0..size.div_ceil(part))
            .map(|i| {
                let file = Arc::clone(&file);
                async move {
                    let offset = i * part;
                    let len = part.min(size - offset) as usize;
                    let chunk = blocking(move || {
                        let mut chunk = vec![0; len];
                        file.read_exact_at(&mut chunk, offset)?;
                        Ok(chunk)
                    })
                    .await?;
                    let number = u32::try_from(i + 1).expect("at most MAX_PARTS parts");
                    self.bucket
                        .put_multipart_chunk(chunk, key, number, upload_id, CONTENT_TYPE)
                        .await
                        .map_err(|e| self.fail(key, e))
                }
            })
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        drop(file);
        drop(staged);
        let mut conditional = self.bucket.clone();
        conditional.extra_headers.extend(if_none_match());
        match conditional
            .complete_multipart_upload(key, upload_id, parts)
            .await
        {
            Ok(_) => {
                guard.disarm();
                Ok(Written::Created)
            }
            // The guard aborts the upload: its parts are not kept.
            Err(e) => self.refused(key, e).await,
        }
    }
}

/// Aborts a multipart upload unless disarmed: on an error, or when the commit
/// is dropped half-way (a client gone), no parts stay in the bucket.
struct AbortOnDrop {
    bucket: Option<Bucket>,
    key: String,
    upload_id: String,
}

impl AbortOnDrop {
    fn disarm(&mut self) {
        self.bucket = None;
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(bucket) = self.bucket.take() else {
            return;
        };
        let (key, upload_id) = (
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.upload_id),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                // Best effort: a bucket lifecycle rule removes what this misses.
                let _ = bucket.abort_upload(&key, &upload_id).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_grow_to_stay_within_the_part_limit() {
        assert_eq!(part_size(0), PART);
        assert_eq!(part_size(64 * 1024 * 1024), PART);
        assert_eq!(part_size(MAX_PARTS * PART), PART);
        let huge = 200 * 1024 * 1024 * 1024_u64;
        let p = part_size(huge);
        assert!(
            huge.div_ceil(p) <= MAX_PARTS && p.is_multiple_of(1024 * 1024),
            "{p}"
        );
    }
}
