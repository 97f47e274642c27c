//! Reusable read buffers. A slice lent out as a `Bytes` chunk comes back when the
//! consumer drops it, to be filled again, so a transfer of any size cycles
//! through the same few buffers (fresh buffers each time kept whole huge pages
//! of the heap resident). Shared by the media's reads and the zips `pacs-api`
//! writes.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// The buffers of one stream.
#[derive(Debug, Clone)]
pub struct Slices {
    home: mpsc::Sender<Vec<u8>>,
    returned: Arc<Mutex<mpsc::Receiver<Vec<u8>>>>,
}

impl Default for Slices {
    fn default() -> Self {
        Self::new()
    }
}

impl Slices {
    pub fn new() -> Self {
        let (home, returned) = mpsc::channel();
        Self {
            home,
            returned: Arc::new(Mutex::new(returned)),
        }
    }

    fn reused(&self) -> Option<Vec<u8>> {
        self.returned.lock().ok().and_then(|r| r.try_recv().ok())
    }

    /// A slice of at least `len` initialized bytes to read into (initialized
    /// once, then reused as it is).
    pub fn take(&self, len: usize) -> Vec<u8> {
        let mut buf = self.reused().unwrap_or_default();
        if buf.len() < len {
            buf.resize(len, 0);
        }
        buf
    }

    /// An empty slice with room for `capacity` bytes, to append to.
    pub fn take_empty(&self, capacity: usize) -> Vec<u8> {
        let mut buf = self
            .reused()
            .unwrap_or_else(|| Vec::with_capacity(capacity));
        buf.clear();
        buf
    }

    /// The first `len` bytes of `buf`, as a chunk that gives `buf` back when dropped.
    pub fn lend(&self, buf: Vec<u8>, len: usize) -> Bytes {
        Bytes::from_owner(Lent {
            buf,
            len,
            home: self.home.clone(),
        })
    }
}

struct Lent {
    buf: Vec<u8>,
    len: usize,
    home: mpsc::Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        // The consumer may outlive the stream: then the buffer is freed here.
        let _ = self.home.send(std::mem::take(&mut self.buf));
    }
}
