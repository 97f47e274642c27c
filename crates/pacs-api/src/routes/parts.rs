//! Streaming one multipart part into a staging writer, in 1 MiB slices
//! written off the async workers, so no part of any size sits in memory.

use std::io::Write;

use actix_web::web;
use futures_util::TryStreamExt;
use pacs_app::AppError;
use pacs_domain::ports::{BlobWriter, StagedBlob};

use crate::error::ApiError;

const SLICE: usize = 1024 * 1024;

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        "malformed_multipart",
        format!("malformed multipart body: {e}"),
    )
}

/// Streams `field` into `writer`; returns it with the bytes not yet written.
/// `total` counts the request's bytes against `max_bytes`.
pub async fn stream_part(
    mut writer: Box<dyn BlobWriter>,
    mut field: actix_multipart::Field,
    total: &mut u64,
    max_bytes: u64,
) -> Result<(Box<dyn BlobWriter>, Vec<u8>), ApiError> {
    let mut buf: Vec<u8> = Vec::new();
    while let Some(chunk) = field.try_next().await.map_err(malformed)? {
        *total += chunk.len() as u64;
        if *total > max_bytes {
            return Err(ApiError(AppError::PayloadTooLarge(format!(
                "the body exceeds {max_bytes} bytes"
            ))));
        }
        buf.extend_from_slice(&chunk);
        if buf.len() >= SLICE {
            let slice = std::mem::take(&mut buf);
            writer = web::block(move || writer.write_all(&slice).map(|_| writer))
                .await?
                .map_err(|e| ApiError(AppError::Internal(format!("staging write failed: {e}"))))?;
        }
    }
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
