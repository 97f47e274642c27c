//! Changes in progress: a second request on the same data while the first
//! runs is refused ("pending"), instead of queueing behind it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Keys of the changes running now in this process.
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    keys: Arc<Mutex<HashSet<String>>>,
}

/// Held while a change runs; dropping it releases the key.
#[derive(Debug)]
pub struct InFlightGuard {
    keys: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl InFlight {
    /// Takes `key`, or `None` when a change on it is already running.
    pub fn try_begin(&self, key: String) -> Option<InFlightGuard> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert(key.clone()).then(|| InFlightGuard {
            keys: self.keys.clone(),
            key,
        })
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_held_until_released() {
        let f = InFlight::default();
        let g = f.try_begin("a".into()).unwrap();
        assert!(f.try_begin("a".into()).is_none());
        assert!(f.try_begin("b".into()).is_some());
        drop(g);
        assert!(f.try_begin("a".into()).is_some());
    }
}
