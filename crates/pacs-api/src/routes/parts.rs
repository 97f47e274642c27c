//! Multipart parts as the byte streams the use cases hand to the storage port:
//! chunks pass straight through as they arrive, counted against a limit, so no
//! part of any size sits in memory.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use pacs_app::{AppError, ErrorCode};

use crate::error::ApiError;

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        ErrorCode::MalformedMultipart,
        format!("malformed multipart body: {e}"),
    )
}

/// Why a part's stream failed, as the answer should say it (the storage port
/// only learns that its source failed).
#[derive(Debug, Default)]
pub struct PartFailure(Option<ApiError>);

impl PartFailure {
    /// The error to answer with: the stream's own, else the use case's.
    pub fn or(&mut self, e: AppError) -> ApiError {
        self.0.take().unwrap_or(ApiError::App(e))
    }
}

/// One part's bytes. `count` adds up the bytes received against `limit`; a
/// malformed body or one over the limit ends the stream with an error, whose
/// answer is kept in `failure`.
#[derive(Debug)]
pub struct PartStream<'a> {
    field: actix_multipart::Field,
    count: &'a mut u64,
    limit: u64,
    failure: &'a mut PartFailure,
}

impl<'a> PartStream<'a> {
    pub fn new(
        field: actix_multipart::Field,
        count: &'a mut u64,
        limit: u64,
        failure: &'a mut PartFailure,
    ) -> Self {
        Self {
            field,
            count,
            limit,
            failure,
        }
    }

    /// As the storage port takes it.
    pub fn boxed(self) -> pacs_domain::ports::IncomingBytes<'a> {
        Box::pin(self)
    }

    fn fail(&mut self, e: ApiError) -> Poll<Option<io::Result<Bytes>>> {
        let message = e.to_string();
        self.failure.0 = Some(e);
        Poll::Ready(Some(Err(io::Error::other(message))))
    }
}

impl Stream for PartStream<'_> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.field).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => this.fail(malformed(e)),
            Poll::Ready(Some(Ok(chunk))) => {
                *this.count += chunk.len() as u64;
                if *this.count > this.limit {
                    let limit = this.limit;
                    return this.fail(ApiError::PayloadTooLarge(format!(
                        "the body exceeds {limit} bytes"
                    )));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
        }
    }
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
            return Err(ApiError::PayloadTooLarge(format!(
                "the {name} part exceeds {limit} bytes"
            )));
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

/// Refuses, before any byte is read, a body whose declared `Content-Length`
/// exceeds `limit` (`server.max_body_bytes`).
pub fn refuse_declared_oversize(req: &actix_web::HttpRequest, limit: u64) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(ApiError::PayloadTooLarge(format!(
            "the body declares {n} bytes; server.max_body_bytes is {limit}"
        ))),
        _ => Ok(()),
    }
}
