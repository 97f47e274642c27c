//! Streaming one multipart part into a staging writer, in 512 KiB slices
//! written off the async workers, so no part of any size sits in memory.

use std::io::Write;

use futures_util::TryStreamExt;
use pacs_app::AppError;
use pacs_domain::ports::{BlobWriter, StagedBlob};

use crate::error::ApiError;

const SLICE: usize = 512 * 1024;

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        "malformed_multipart",
        format!("malformed multipart body: {e}"),
    )
}

/// The first buffer of a part; it grows as the part does.
const FIRST_CAPACITY: usize = 64 * 1024;

/// Room for one slice plus the chunk that completes it, so slices never regrow.
const SLICE_CAPACITY: usize = SLICE + 128 * 1024;

/// Writes slices on a blocking thread while the next ones are received.
struct SliceWriter {
    tx: tokio::sync::mpsc::Sender<Vec<u8>>,
    /// Written slices come back to be filled again: a part of any size cycles
    /// through the same few buffers, so the allocator never sees the churn (with
    /// transparent huge pages, fresh buffers kept whole 2 MiB pages resident).
    spent: std::sync::mpsc::Receiver<Vec<u8>>,
    done: tokio::task::JoinHandle<std::io::Result<Box<dyn BlobWriter>>>,
}

impl SliceWriter {
    fn start(mut writer: Box<dyn BlobWriter>) -> Self {
        // Two slices queued at most: memory stays bounded whatever the part's size.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
        let (spent_tx, spent) = std::sync::mpsc::channel::<Vec<u8>>();
        let done = tokio::task::spawn_blocking(move || {
            while let Some(mut slice) = rx.blocking_recv() {
                writer.write_all(&slice)?;
                slice.clear();
                // The receiving side may have finished already: the slice is dropped.
                let _ = spent_tx.send(slice);
            }
            Ok(writer)
        });
        Self { tx, spent, done }
    }

    /// An empty slice to fill: a written one when there is one, else a new one.
    fn empty_slice(&self, first_chunk: usize) -> Vec<u8> {
        self.spent
            .try_recv()
            .ok()
            .filter(|s| s.capacity() >= first_chunk)
            .unwrap_or_else(|| Vec::with_capacity(SLICE_CAPACITY.max(first_chunk)))
    }

    /// Waits for every queued slice to be written and returns the writer.
    async fn finish(self) -> Result<Box<dyn BlobWriter>, ApiError> {
        drop(self.tx);
        self.done
            .await
            .map_err(|e| ApiError(AppError::Internal(format!("staging writer stopped: {e}"))))?
            .map_err(|e| ApiError(AppError::Internal(format!("staging write failed: {e}"))))
    }
}

/// Streams `field` into `writer`; returns it with the bytes not yet written.
/// `total` counts the request's bytes against `max_bytes`. Receiving and
/// writing overlap: while one slice is written (and hashed), the next arrives.
pub async fn stream_part(
    writer: Box<dyn BlobWriter>,
    mut field: actix_multipart::Field,
    total: &mut u64,
    max_bytes: u64,
) -> Result<(Box<dyn BlobWriter>, Vec<u8>), ApiError> {
    // The writer moves to a thread with the first full slice; small parts stay here.
    let mut idle = Some(writer);
    let mut writing: Option<SliceWriter> = None;
    let mut buf: Vec<u8> = Vec::new();
    let received: Result<(), ApiError> = async {
        while let Some(chunk) = field.try_next().await.map_err(malformed)? {
            *total += chunk.len() as u64;
            if *total > max_bytes {
                return Err(ApiError(AppError::PayloadTooLarge(format!(
                    "the body exceeds {max_bytes} bytes"
                ))));
            }
            if buf.capacity() == 0 {
                // Most parts (a DICOM instance) are far smaller than a slice: the
                // first buffer grows with the part, later ones are full slices.
                buf = match &writing {
                    Some(w) => w.empty_slice(chunk.len()),
                    None => Vec::with_capacity(chunk.len().max(FIRST_CAPACITY)),
                };
            }
            buf.extend_from_slice(&chunk);
            if buf.len() >= SLICE {
                let slice = std::mem::take(&mut buf);
                let w = match (&mut writing, idle.take()) {
                    (Some(w), _) => w,
                    (None, Some(first)) => writing.insert(SliceWriter::start(first)),
                    (None, None) => unreachable!("the writer is idle or writing"),
                };
                // A closed channel means the writer failed: its error comes from `finish`.
                if w.tx.send(slice).await.is_err() {
                    break;
                }
            }
        }
        Ok(())
    }
    .await;
    let writer = match (writing, idle) {
        (Some(w), _) => w.finish().await?,
        (None, Some(w)) => w,
        (None, None) => unreachable!("the writer is idle or writing"),
    };
    received?;
    Ok((writer, buf))
}

/// Writes the last bytes and ends the staged object (blocking: it syncs).
pub fn finish_part(
    mut writer: Box<dyn BlobWriter>,
    rest: &[u8],
) -> Result<Box<dyn StagedBlob>, AppError> {
    writer
        .write_all(rest)
        .map_err(|e| AppError::Internal(format!("staging write failed: {e}")))?;
    Ok(writer.finish()?)
}

/// Reads a small part (JSON, a hash) into memory, refusing more than `limit` bytes.
pub async fn read_small(
    mut field: actix_multipart::Field,
    limit: usize,
    name: &str,
) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(malformed)? {
        if buf.len() + chunk.len() > limit {
            return Err(ApiError(AppError::PayloadTooLarge(format!(
                "the {name} part exceeds {limit} bytes"
            ))));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

/// The next part, or a 400 for a malformed body.
pub async fn next_part(
    multipart: &mut actix_multipart::Multipart,
) -> Result<Option<actix_multipart::Field>, ApiError> {
    multipart.try_next().await.map_err(malformed)
}
