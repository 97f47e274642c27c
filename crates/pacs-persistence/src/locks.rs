//! Change locks shared by every process on one PostgreSQL: session-level
//! advisory locks on a connection of their own, so that a node that dies
//! releases its locks with its connection. SQLite is one process's database:
//! there, the in-process set of the use cases is the whole story.

use std::sync::Mutex;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use pacs_domain::ports::{ChangeLocks, RepositoryError};

/// Advisory locks keyed by a 64-bit hash that PostgreSQL computes itself
/// (`hashtextextended`), the same on every node whatever its build.
pub struct PgChangeLocks {
    url: String,
    /// The session holding this process's locks; reopened after a failure
    /// (the locks it held are then gone: see docs/scale-out.md).
    conn: Mutex<Option<PgConnection>>,
}

impl std::fmt::Debug for PgChangeLocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgChangeLocks").finish_non_exhaustive()
    }
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

impl PgChangeLocks {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            conn: Mutex::new(None),
        }
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
    ) -> Result<T, RepositoryError> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let c = PgConnection::establish(&self.url).map_err(RepositoryError::unavailable)?;
            *slot = Some(c);
        }
        let conn = slot.as_mut().expect("connection just opened");
        f(conn).map_err(|e| {
            // A broken session has lost its locks: the next call opens another.
            *slot = None;
            RepositoryError::unavailable(e)
        })
    }
}

impl PgChangeLocks {
    /// Runs the advisory-lock function `call` (try-lock or unlock) on `key`.
    fn advisory(&self, call: &str, key: &str) -> Result<bool, RepositoryError> {
        let sql = format!("SELECT {call}(hashtextextended($1, $2)) AS taken");
        self.with_conn(|c| {
            diesel::sql_query(sql)
                .bind::<Text, _>(key)
                .bind::<BigInt, _>(LOCK_SEED)
                .get_result::<Taken>(c)
                .map(|t| t.taken)
        })
    }
}

impl ChangeLocks for PgChangeLocks {
    fn try_lock(&self, key: &str) -> Result<bool, RepositoryError> {
        self.advisory("pg_try_advisory_lock", key)
    }

    fn unlock(&self, key: &str) {
        if !matches!(self.advisory("pg_advisory_unlock", key), Ok(true)) {
            log::warn!("change lock {key} was not held at release");
        }
    }
}

/// Seed of the key hash: keeps change locks apart from the write lock's
/// fixed key in `connection.rs`.
const LOCK_SEED: i64 = 0x7061_6373;
