//! Reusable read buffers. A slice lent out as a `Bytes` chunk comes back when the
//! consumer drops it, to be filled again, so transfers of any size and number
//! cycle through the same few buffers: no allocation and no zero-filling per
//! object (fresh buffers each time also kept whole huge pages of the heap
//! resident). A medium shares one pool among its reads; `pacs-api` has one per
//! zip it writes.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// Idle buffers kept for reuse; more are freed when they come back.
const MAX_IDLE: usize = 16;

/// A pool of buffers; clones share it.
#[derive(Debug, Clone, Default)]
pub struct Slices {
    idle: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Slices {
    pub fn new() -> Self {
        Self::default()
    }

    fn reused(&self) -> Option<Vec<u8>> {
        self.idle.lock().ok().and_then(|mut idle| idle.pop())
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
            home: self.clone(),
        })
    }

    fn give_back(&self, buf: Vec<u8>) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(buf);
        }
    }
}

struct Lent {
    buf: Vec<u8>,
    len: usize,
    home: Slices,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        self.home.give_back(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_slice_is_reused_without_a_new_allocation() {
        let pool = Slices::new();
        let buf = pool.take(1024);
        let address = buf.as_ptr();
        let chunk = pool.lend(buf, 10);
        assert_eq!(chunk.len(), 10);
        drop(chunk);
        let again = pool.take(512);
        assert_eq!(again.as_ptr(), address, "the same buffer comes back");
        assert_eq!(again.len(), 1024, "it keeps its initialized length");
    }

    #[test]
    fn idle_slices_are_bounded() {
        let pool = Slices::new();
        let chunks: Vec<Bytes> = (0..MAX_IDLE + 4)
            .map(|_| pool.lend(pool.take(8), 8))
            .collect();
        drop(chunks);
        assert_eq!(pool.idle.lock().unwrap().len(), MAX_IDLE);
    }
}
