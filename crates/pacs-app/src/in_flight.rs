//! Changes in progress: a second request on the same data while the first
//! runs is refused ("pending"), instead of queueing behind it. The keys are
//! held in this process and, with several processes on one database, in the
//! database's change locks too, so that the refusal holds across nodes.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use pacs_domain::ports::ChangeLocks;

use crate::error::AppError;

/// Keys of the changes running now.
#[derive(Clone, Default)]
pub struct InFlight {
    keys: Arc<Mutex<HashSet<String>>>,
    shared: Option<Arc<dyn ChangeLocks>>,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

/// Held while a change runs; dropping it releases the key.
pub struct InFlightGuard {
    keys: Arc<Mutex<HashSet<String>>>,
    shared: Option<Arc<dyn ChangeLocks>>,
    key: String,
}

impl std::fmt::Debug for InFlightGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlightGuard")
            .field("key", &self.key)
            .finish()
    }
}

impl InFlight {
    /// Keys held in this process and in `shared`, which every process sees.
    pub fn shared(shared: Arc<dyn ChangeLocks>) -> Self {
        Self {
            keys: Arc::default(),
            shared: Some(shared),
        }
    }

    /// Takes `key`, or `None` when a change on it is already running here or
    /// in another process. Blocking: it may ask the database.
    pub fn try_begin(&self, key: String) -> Result<Option<InFlightGuard>, AppError> {
        if !self.lock_keys().insert(key.clone()) {
            return Ok(None);
        }
        // The in-process set first: a database session's advisory locks are
        // reentrant, so two requests of this process must not both ask it.
        let taken = match &self.shared {
            None => Ok(true),
            Some(shared) => shared.try_lock(&key),
        };
        match taken {
            Ok(true) => Ok(Some(InFlightGuard {
                keys: self.keys.clone(),
                shared: self.shared.clone(),
                key,
            })),
            Ok(false) => {
                self.lock_keys().remove(&key);
                Ok(None)
            }
            Err(e) => {
                self.lock_keys().remove(&key);
                Err(e.into())
            }
        }
    }

    fn lock_keys(&self) -> MutexGuard<'_, HashSet<String>> {
        locked(&self.keys)
    }
}

fn locked(keys: &Mutex<HashSet<String>>) -> MutexGuard<'_, HashSet<String>> {
    keys.lock().unwrap_or_else(|p| p.into_inner())
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.unlock(&self.key);
        }
        locked(&self.keys).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_held_until_released() {
        let f = InFlight::default();
        let g = f.try_begin("a".into()).unwrap().unwrap();
        assert!(f.try_begin("a".into()).unwrap().is_none());
        assert!(f.try_begin("b".into()).unwrap().is_some());
        drop(g);
        assert!(f.try_begin("a".into()).unwrap().is_some());
    }
}
