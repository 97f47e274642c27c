//! The renderer every request shares: at most so many decodes at once, and a
//! memory cache of rendered images bounded by bytes.

use std::sync::{Arc, Condvar, Mutex};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// One rendered image: of which object, frame and rendering parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub tenant: String,
    pub sop: String,
    /// Stored object (a re-stored instance renders anew).
    pub sha1: String,
    pub frame: u32,
    pub width: u32,
    pub height: u32,
    pub window: Option<(u64, u64)>,
    pub quality: u8,
    pub format: pacs_dicom_ops::ImageFormat,
}

#[derive(Debug, Clone)]
pub(crate) struct ByBytes;

impl Weighter<CacheKey, Arc<Vec<u8>>> for ByBytes {
    fn weight(&self, _key: &CacheKey, val: &Arc<Vec<u8>>) -> u64 {
        val.len() as u64 + 128
    }
}

/// A counting semaphore: at most `max` decodes at once.
#[derive(Debug)]
pub(crate) struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

pub(crate) struct Slot<'a>(&'a Slots);

impl Slots {
    pub(crate) fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// The renderer shared by every request.
#[derive(Clone)]
pub struct Rendering {
    pub(crate) cache: Arc<Cache<CacheKey, Arc<Vec<u8>>, ByBytes>>,
    pub(crate) slots: Arc<Slots>,
}

impl std::fmt::Debug for Rendering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendering")
            .field("cached_bytes", &self.cache.weight())
            .finish()
    }
}

impl Rendering {
    /// `cache_bytes` of rendered JPEGs kept; `decodes` decodes at once.
    pub fn new(cache_bytes: u64, decodes: usize) -> Self {
        Self {
            cache: Arc::new(Cache::with_weighter(4096, cache_bytes.max(1), ByBytes)),
            slots: Arc::new(Slots {
                free: Mutex::new(decodes.max(1)),
                freed: Condvar::new(),
            }),
        }
    }
}

impl Default for Rendering {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Self::new(64 * 1024 * 1024, cpus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_limit_concurrency() {
        let slots = Arc::new(Slots {
            free: Mutex::new(1),
            freed: Condvar::new(),
        });
        let first = slots.take();
        let s2 = slots.clone();
        let t = std::thread::spawn(move || {
            let _second = s2.take();
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!t.is_finished(), "a second decode waits for the first");
        drop(first);
        t.join().unwrap();
    }
}
