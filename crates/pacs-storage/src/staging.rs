//! Staging a stream of bytes into a temporary file of a filesystem medium.
//!
//! Chunks are gathered into slices; each full slice is written (and hashed) on
//! a blocking thread while the next one is gathered, so receiving and writing
//! overlap and at most two slices are in memory whatever the object's size.

use std::io::{self, Write};
use std::path::PathBuf;

use pacs_domain::ports::{BlobRead, IncomingBytes, StagedBlob, StorageError};
use sha1::{Digest, Sha1};
use tokio::task::JoinHandle;

use crate::reading::{FsReader, MemReader};

/// Bytes gathered before a write.
const SLICE: usize = 512 * 1024;

/// Room for one slice plus the chunk that completes it, so slices never regrow.
const SLICE_CAPACITY: usize = SLICE + 128 * 1024;

/// The first buffer of an object; it grows as the object does (most objects, a
/// DICOM instance, are far smaller than a slice).
const FIRST_CAPACITY: usize = 64 * 1024;

/// Objects up to this size are also kept in memory while staged, so that
/// parsing them does not read the file back.
const KEEP_IN_MEMORY: usize = 1024 * 1024;

/// Slices at least this large are hashed on a second thread while they are
/// written: hashing and copying into the page cache then overlap.
const PARALLEL_HASH: usize = 256 * 1024;

/// Stages `bytes` in `dir` (blocking writes run on tokio's blocking pool).
pub(crate) async fn stage(
    dir: PathBuf,
    fsync: bool,
    mut bytes: IncomingBytes<'_>,
) -> Result<FsStaged, StorageError> {
    let mut writer = Writing::Idle(None);
    let mut buf: Vec<u8> = Vec::new();
    // Written slices come back to be filled again: an object of any size
    // cycles through the same two buffers (fresh buffers each time kept whole
    // huge pages of the heap resident).
    let mut spare: Option<Vec<u8>> = None;
    while let Some(chunk) = std::future::poll_fn(|cx| bytes.as_mut().poll_next(cx)).await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                // A failing source leaves nothing: the slice being written
                // ends first, then the temporary file goes with its writer.
                drop(writer.ready().await);
                return Err(StorageError::Source(e));
            }
        };
        if buf.capacity() == 0 {
            buf = match spare.take() {
                Some(s) if s.capacity() >= chunk.len() => s,
                _ if writer.started() => Vec::with_capacity(SLICE_CAPACITY.max(chunk.len())),
                _ => Vec::with_capacity(chunk.len().max(FIRST_CAPACITY)),
            };
        }
        buf.extend_from_slice(&chunk);
        if buf.len() >= SLICE {
            let (w, returned) = writer.ready().await?;
            spare = returned;
            writer = Writing::Busy(write_slice(w, dir.clone(), fsync, std::mem::take(&mut buf)));
        }
    }
    let (w, _) = writer.ready().await?;
    let w = write_slice(w, dir, fsync, buf)
        .await
        .map_err(join_error)??
        .0;
    Ok(w.finish())
}

fn join_error(e: tokio::task::JoinError) -> StorageError {
    StorageError::Io(io::Error::other(format!("staging write stopped: {e}")))
}

/// The writer between slices: idle (not created yet, or between writes) or
/// busy writing one slice.
enum Writing {
    Idle(Option<FsWriter>),
    Busy(JoinHandle<io::Result<(FsWriter, Vec<u8>)>>),
}

impl Writing {
    fn started(&self) -> bool {
        !matches!(self, Writing::Idle(None))
    }

    /// Waits for the slice being written; returns the writer and that slice, emptied.
    async fn ready(self) -> Result<(Option<FsWriter>, Option<Vec<u8>>), StorageError> {
        match self {
            Writing::Idle(w) => Ok((w, None)),
            Writing::Busy(h) => {
                let (w, slice) = h.await.map_err(join_error)??;
                Ok((Some(w), Some(slice)))
            }
        }
    }
}

/// Writes one slice on the blocking pool, creating the staging file first
/// when `writer` is `None`.
fn write_slice(
    writer: Option<FsWriter>,
    dir: PathBuf,
    fsync: bool,
    mut slice: Vec<u8>,
) -> JoinHandle<io::Result<(FsWriter, Vec<u8>)>> {
    tokio::task::spawn_blocking(move || {
        let mut w = match writer {
            Some(w) => w,
            None => FsWriter::create(&dir, fsync)?,
        };
        w.write(&slice)?;
        slice.clear();
        Ok((w, slice))
    })
}

/// A staging file being written.
struct FsWriter {
    file: tempfile::NamedTempFile,
    hasher: Sha1,
    written: u64,
    copy: Option<Vec<u8>>,
    fsync: bool,
}

impl FsWriter {
    fn create(dir: &std::path::Path, fsync: bool) -> io::Result<Self> {
        Ok(Self {
            file: tempfile::Builder::new().prefix("in-").tempfile_in(dir)?,
            hasher: Sha1::new(),
            written: 0,
            copy: Some(Vec::new()),
            fsync,
        })
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        if buf.len() >= PARALLEL_HASH {
            let (hasher, file) = (&mut self.hasher, &mut self.file);
            std::thread::scope(|s| {
                let hashing = s.spawn(|| hasher.update(buf));
                let written = file.write_all(buf);
                hashing
                    .join()
                    .map_err(|_| io::Error::other("hashing thread panicked"))?;
                written
            })?;
        } else {
            self.file.write_all(buf)?;
            self.hasher.update(buf);
        }
        self.written += buf.len() as u64;
        // Keeps the bytes while the object is small.
        match &mut self.copy {
            Some(c) if c.len() + buf.len() <= KEEP_IN_MEMORY => c.extend_from_slice(buf),
            _ => self.copy = None,
        }
        Ok(())
    }

    fn finish(self) -> FsStaged {
        FsStaged {
            file: self.file,
            copy: self.copy,
            size: self.written,
            sha1: hex::encode(self.hasher.finalize()),
            fsync: self.fsync,
        }
    }
}

/// An object staged by a filesystem medium.
pub(crate) struct FsStaged {
    pub(crate) file: tempfile::NamedTempFile,
    copy: Option<Vec<u8>>,
    size: u64,
    sha1: String,
    pub(crate) fsync: bool,
}

impl std::fmt::Debug for FsStaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsStaged")
            .field("size", &self.size)
            .field("sha1", &self.sha1)
            .finish()
    }
}

impl StagedBlob for FsStaged {
    fn size(&self) -> u64 {
        self.size
    }

    fn sha1(&self) -> &str {
        &self.sha1
    }

    fn reader(&mut self) -> Result<Box<dyn BlobRead>, StorageError> {
        match self.copy.take() {
            Some(bytes) => Ok(Box::new(MemReader::new(bytes))),
            None => Ok(Box::new(FsReader::new(self.file.reopen()?)?)),
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}
