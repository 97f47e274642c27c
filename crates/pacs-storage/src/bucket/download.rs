//! Reading from a bucket: a byte range as one ranged GET whose body is passed
//! on as it arrives (never gathered), and the blocking reader of the decoders,
//! which fetches bounded windows with ranged GETs as it seeks.

use std::io::{self, Read, Seek, SeekFrom};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, header::RANGE};
use pacs_domain::model::MediumName;
use pacs_domain::ports::{BlobRead, ByteRange, ByteStream, StorageError};
use s3::Bucket;
use s3::request::DataStream;

use super::errors::{status_of, storage_error, timed_out};

/// How long a read waits for the service's answer, and then for each piece
/// of its body. A transfer as a whole has no time limit: a slow client may
/// take an hour over a slide.
pub(crate) const IDLE: Duration = Duration::from_secs(60);

/// Bytes fetched at a time by the blocking reader.
const WINDOW: u64 = 2 * 1024 * 1024;

/// The length of the object `key`; a missing one is `NotFound`.
pub(crate) async fn length(
    bucket: &Bucket,
    medium: &MediumName,
    key: &str,
) -> Result<u64, StorageError> {
    let (head, _) = bucket
        .head_object(key)
        .await
        .map_err(|e| storage_error(medium, key, e))?;
    head.content_length
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| StorageError::Io(io::Error::other("the service gave no object length")))
}

/// The `Range` header of `range`, `None` for the whole object.
fn range_header(range: ByteRange) -> Option<HeaderValue> {
    let value = match (range.start, range.len) {
        (0, None) => return None,
        (start, None) => format!("bytes={start}-"),
        (start, Some(len)) => format!("bytes={start}-{}", start.saturating_add(len - 1)),
    };
    Some(HeaderValue::from_str(&value).expect("digits are a valid header value"))
}

fn empty() -> ByteStream {
    Box::pin(futures_util::stream::empty())
}

/// Streams `range` of `key`. A missing key fails before any byte; a range
/// past the end gives no bytes (the service answers 416: the key is then
/// looked up to tell "empty" from "missing").
pub(crate) async fn read(
    bucket: &Bucket,
    medium: &MediumName,
    key: &str,
    range: ByteRange,
) -> Result<ByteStream, StorageError> {
    if range.len == Some(0) {
        length(bucket, medium, key).await?;
        return Ok(empty());
    }
    let mut ranged = bucket.clone();
    // The body may take long; `IDLE` bounds each wait instead.
    ranged.request_timeout = None;
    if let Some(value) = range_header(range) {
        ranged.extra_headers.insert(RANGE, value);
    }
    let answer = match tokio::time::timeout(IDLE, ranged.get_object_stream(key)).await {
        Ok(answer) => answer,
        Err(_) => return Err(timed_out(medium, "GET")),
    };
    match answer {
        Ok(body) => Ok(passed_on(body.bytes, medium.clone())),
        Err(e) if status_of(&e) == Some(416) => {
            length(bucket, medium, key).await?;
            Ok(empty())
        }
        Err(e) => Err(storage_error(medium, key, e)),
    }
}

/// The body as the port's stream: no empty pieces, a stall longer than
/// [`IDLE`] is an error, and the stream ends at its first error.
fn passed_on(body: DataStream, medium: MediumName) -> ByteStream {
    let stream = futures_util::stream::unfold(Some(body), move |body| {
        let medium = medium.clone();
        async move {
            let mut body = body?;
            loop {
                match tokio::time::timeout(IDLE, body.next()).await {
                    Ok(Some(Ok(bytes))) if bytes.is_empty() => {}
                    Ok(Some(Ok(bytes))) => return Some((Ok(bytes), Some(body))),
                    Ok(Some(Err(e))) => return Some((Err(io::Error::other(e)), None)),
                    Ok(None) => return None,
                    Err(_) => {
                        let stalled = io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("bucket {medium}: the body stalled"),
                        );
                        return Some((Err(stalled), None));
                    }
                }
            }
        }
    });
    Box::pin(stream)
}

/// A stored object read through ranged GETs, for the synchronous decoders:
/// one window of at most [`WINDOW`] bytes is held at a time. Blocking: it
/// drives the requests on the runtime it was opened from.
pub(crate) struct BucketReader {
    bucket: Bucket,
    medium: MediumName,
    key: String,
    runtime: tokio::runtime::Handle,
    len: u64,
    pos: u64,
    window: Bytes,
    window_start: u64,
}

impl BucketReader {
    /// Opens `key` (blocking; call it off the async workers).
    pub(crate) fn open(
        bucket: &Bucket,
        medium: &MediumName,
        key: &str,
    ) -> Result<Self, StorageError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| {
            StorageError::Io(io::Error::other(format!(
                "bucket reader needs a runtime: {e}"
            )))
        })?;
        let len = runtime.block_on(length(bucket, medium, key))?;
        Ok(Self {
            bucket: bucket.clone(),
            medium: medium.clone(),
            key: key.to_owned(),
            runtime,
            len,
            pos: 0,
            window: Bytes::new(),
            window_start: 0,
        })
    }

    /// Fetches the window starting at `self.pos`.
    fn fetch(&mut self) -> io::Result<()> {
        let start = self.pos;
        let end = (start + WINDOW).min(self.len) - 1;
        let get = self.bucket.get_object_range(&self.key, start, Some(end));
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(IDLE, get).await })
            .map_err(|_| io::Error::other(timed_out(&self.medium, "ranged GET")))?
            .map_err(|e| io::Error::other(storage_error(&self.medium, &self.key, e)))?;
        let mut bytes = answer.into_bytes();
        let want = (end - start + 1) as usize;
        // A service that ignored the range sent the whole object.
        if bytes.len() as u64 == self.len && want as u64 != self.len {
            bytes = bytes.slice(start as usize..start as usize + want);
        }
        if bytes.len() != want {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "bucket {}: asked {want} bytes, got {}",
                    self.medium,
                    bytes.len()
                ),
            ));
        }
        self.window = bytes;
        self.window_start = start;
        Ok(())
    }
}

impl Read for BucketReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let in_window = self.pos >= self.window_start
            && self.pos < self.window_start + self.window.len() as u64;
        if !in_window {
            self.fetch()?;
        }
        let from = (self.pos - self.window_start) as usize;
        let n = buf.len().min(self.window.len() - from);
        buf[..n].copy_from_slice(&self.window[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BucketReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the object",
            )
        })?;
        Ok(self.pos)
    }
}

impl BlobRead for BucketReader {
    fn len(&self) -> u64 {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_headers() {
        assert_eq!(range_header(ByteRange::ALL), None);
        assert_eq!(range_header(ByteRange::from(7)).unwrap(), "bytes=7-");
        assert_eq!(range_header(ByteRange::new(0, 10)).unwrap(), "bytes=0-9");
        assert_eq!(range_header(ByteRange::new(5, 1)).unwrap(), "bytes=5-5");
    }
}
