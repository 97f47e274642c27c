//! Reading stored files: a byte range as a stream of slices read on the
//! blocking pool (the next slice is read while the last one is sent), and
//! blocking readers for the synchronous decoders.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use bytes::Bytes;
use pacs_domain::ports::{BlobRead, ByteStream};
use tokio::task::JoinHandle;

use crate::slices::Slices;

/// Bytes read at a time.
const SLICE: usize = 1024 * 1024;

/// The first slice of `len` bytes of `file` from `start`, read (blocking) before
/// the stream is handed out, so that a small file needs one trip to the
/// blocking pool; then the rest, one slice ahead of the consumer.
pub(crate) fn range_stream(
    mut file: File,
    start: u64,
    len: u64,
    pool: Slices,
) -> io::Result<ByteStream> {
    if start > 0 {
        file.seek(SeekFrom::Start(start))?;
    }
    let first = read_slice(Next { file, left: len }, &pool)?;
    let state = State {
        pool,
        ready: Some(first),
        pending: None,
    };
    Ok(Box::pin(futures_util::stream::unfold(state, State::next)))
}

/// A file and how many of its bytes are still to be sent.
struct Next {
    file: File,
    left: u64,
}

/// A slice read, and where the following one starts (`None` at the end).
type Read1 = (Bytes, Option<Next>);

struct State {
    pool: Slices,
    ready: Option<Read1>,
    pending: Option<JoinHandle<io::Result<Read1>>>,
}

impl State {
    async fn next(mut self) -> Option<(io::Result<Bytes>, State)> {
        let (bytes, rest) = match self.ready.take() {
            Some(r) => r,
            None => match self.pending.take()?.await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => return Some((Err(e), self)),
                Err(e) => return Some((Err(io::Error::other(e)), self)),
            },
        };
        if let Some(next) = rest {
            let pool = self.pool.clone();
            self.pending = Some(tokio::task::spawn_blocking(move || read_slice(next, &pool)));
        }
        if bytes.is_empty() {
            return None;
        }
        Some((Ok(bytes), self))
    }
}

/// Reads the next slice (blocking).
fn read_slice(mut n: Next, pool: &Slices) -> io::Result<Read1> {
    let want = n.left.min(SLICE as u64) as usize;
    // Always a whole slice, so that a reused buffer is never filled with zeros again.
    let mut buf = pool.take(SLICE);
    let got = fill(&mut n.file, &mut buf[..want])?;
    n.left -= got as u64;
    // A file shorter than expected ends the stream where it ends.
    let more = (got == want && n.left > 0).then_some(n);
    Ok((pool.lend(buf, got), more))
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes read.
/// (`read_to_end` would zero-fill every slice first: a tenth of a download's CPU.)
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A stored file opened for reading.
pub(crate) struct FsReader {
    file: io::BufReader<File>,
    len: u64,
}

impl FsReader {
    pub(crate) fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            file: io::BufReader::with_capacity(128 * 1024, file),
            len,
        })
    }
}

impl Read for FsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for FsReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file.seek(pos)
    }
}

impl BlobRead for FsReader {
    fn len(&self) -> u64 {
        self.len
    }
}

/// Staged bytes kept in memory.
pub(crate) struct MemReader(io::Cursor<Vec<u8>>);

impl MemReader {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self(io::Cursor::new(bytes))
    }
}

impl Read for MemReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Seek for MemReader {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl BlobRead for MemReader {
    fn len(&self) -> u64 {
        self.0.get_ref().len() as u64
    }
}
