//! Connections, the pool, migrations and transactions, for both backends.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use pacs_domain::ports::RepositoryError;

use crate::error::map_err;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// One connection type over both backends; queries are written once.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Opens connections by URL scheme, so a PostgreSQL error is reported as it is
/// (the derived `establish` tries every backend and hides the real message).
#[derive(Debug)]
pub(crate) struct Manager {
    url: String,
    backend: Backend,
}

impl r2d2::ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = diesel::ConnectionError;

    fn connect(&self) -> Result<AnyConnection, Self::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&self.url)?;
                // diesel keeps prepared statements; after five runs PostgreSQL may switch
                // to a generic plan that cannot see the values, and for the count and QIDO
                // filters (an AET list, a date range) that plan is several times slower.
                c.batch_execute("SET plan_cache_mode = force_custom_plan")
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Postgresql(c))
            }
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                let mut c = diesel::SqliteConnection::establish(path)?;
                // WAL lets readers run beside the writer; FULL makes each commit durable
                // before we acknowledge; LIKE is case-sensitive as in PostgreSQL.
                c.batch_execute(
                    "PRAGMA busy_timeout=30000; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
                     PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON; \
                     PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456; \
                     PRAGMA analysis_limit=1000;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(c))
            }
        }
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

pub(crate) type Pooled = r2d2::PooledConnection<Manager>;

/// The archive's database: a connection pool over SQLite or PostgreSQL.
pub struct Database {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// SQLite has one writer; serializing writers in-process avoids lock-upgrade
    /// failures and keeps event ids in commit order. It counts the writes, to
    /// refresh the planner's statistics as tables grow.
    sqlite_writer: Mutex<u64>,
    /// Locks of changes in progress seen by every node (PostgreSQL only).
    change_locks: Option<std::sync::Arc<crate::locks::PgChangeLocks>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects to `url` (`sqlite://path`, a plain path, or `postgres://…`).
    /// The URL is never logged: it may hold a password.
    pub fn connect(url: &str, pool_size: u32) -> Result<Self, RepositoryError> {
        let backend = Backend::of_url(url);
        if backend == Backend::Sqlite {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            if let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        RepositoryError::unavailable(format!(
                            "cannot create the database directory: {e}"
                        ))
                    })?;
                }
            }
        }
        let manager = Manager {
            url: url.to_owned(),
            backend,
        };
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(2))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)
            .map_err(RepositoryError::unavailable)?;
        let change_locks = (backend == Backend::Postgres)
            .then(|| std::sync::Arc::new(crate::locks::PgChangeLocks::new(url)));
        Ok(Self {
            pool,
            backend,
            sqlite_writer: Mutex::new(0),
            change_locks,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The change locks every process on this database sees, or `None` for
    /// SQLite, which one process owns.
    pub fn change_locks(&self) -> Option<std::sync::Arc<dyn pacs_domain::ports::ChangeLocks>> {
        self.change_locks
            .clone()
            .map(|l| l as std::sync::Arc<dyn pacs_domain::ports::ChangeLocks>)
    }

    /// Applies pending migrations; returns how many were applied.
    pub fn migrate(&self) -> Result<usize, RepositoryError> {
        let _w = self.write_guard();
        let mut conn = self.conn()?;
        let applied = match &mut *conn {
            AnyConnection::Postgresql(c) => {
                c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len())
            }
            AnyConnection::Sqlite(c) => {
                c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
            }
        };
        applied.map_err(|e| RepositoryError::internal(format!("migration failed: {e}")))
    }

    pub(crate) fn conn(&self) -> Result<Pooled, RepositoryError> {
        self.pool.get().map_err(RepositoryError::unavailable)
    }

    fn write_guard(&self) -> Option<MutexGuard<'_, u64>> {
        (self.backend == Backend::Sqlite)
            .then(|| self.sqlite_writer.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs `f` in one write transaction, under the write lock (PostgreSQL; see
    /// [`lock_writes`]). A unique-key race with a writer that takes no such lock
    /// (another program) is retried: the retry sees the other writer's rows.
    pub(crate) fn write<T>(
        &self,
        mut f: impl FnMut(&mut AnyConnection) -> Result<T, TxError>,
    ) -> Result<T, RepositoryError> {
        let mut writes = self.write_guard();
        let mut conn = self.conn()?;
        if let Some(n) = writes.as_deref_mut() {
            *n += 1;
            if *n % OPTIMIZE_EVERY == 0 {
                optimize(&mut conn);
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            match conn.transaction(|c| {
                lock_writes(c)?;
                f(c)
            }) {
                Ok(v) => return Ok(v),
                Err(TxError::Db(diesel::result::Error::DatabaseError(kind, info)))
                    if attempt < 5
                        && matches!(
                            kind,
                            diesel::result::DatabaseErrorKind::UniqueViolation
                                | diesel::result::DatabaseErrorKind::SerializationFailure
                        ) =>
                {
                    log::debug!("write transaction retried after: {}", info.message());
                }
                Err(TxError::Db(e)) => return Err(map_err(e)),
                Err(TxError::Rollback) => {
                    return Err(RepositoryError::internal("transaction rolled back"));
                }
            }
        }
    }

    /// Runs `f` on a pooled connection (reads).
    pub(crate) fn read<T>(
        &self,
        f: impl FnOnce(&mut AnyConnection) -> QueryResult<T>,
    ) -> Result<T, RepositoryError> {
        let mut conn = self.conn()?;
        f(&mut conn).map_err(map_err)
    }

    /// Whether the database answers (readiness probe).
    pub fn check(&self) -> Result<(), RepositoryError> {
        self.read(|c| c.batch_execute("SELECT 1"))
    }

    /// Connections of the pool: (in use, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let s = self.pool.state();
        (s.connections - s.idle_connections, s.idle_connections)
    }

    /// The most connections the pool opens.
    pub fn pool_max(&self) -> u32 {
        self.pool.max_size()
    }
}

/// Write transactions between two refreshes of SQLite's planner statistics.
const OPTIMIZE_EVERY: u64 = 64;

/// Lets SQLite refresh the statistics of tables that grew (`PRAGMA optimize`
/// analyzes only those, approximately): without them the planner may scan
/// studies instead of using the patient index. PostgreSQL's autovacuum does this.
fn optimize(conn: &mut AnyConnection) {
    if let AnyConnection::Sqlite(c) = conn
        && let Err(e) = c.batch_execute("PRAGMA optimize")
    {
        log::warn!("PRAGMA optimize failed: {e}");
    }
}

/// Error inside a write transaction (a unique-key race is retried), or the
/// decision to roll back (see [`Database::decide`]).
#[derive(Debug)]
pub(crate) enum TxError {
    Db(diesel::result::Error),
    Rollback,
}

/// What a write transaction decided: keep its changes or undo them, with the
/// value to return either way.
pub(crate) enum Decision<T> {
    Commit(T),
    Rollback(T),
}

impl Database {
    /// Runs `f` in one write transaction that may decide to roll back (a check
    /// that fails after writing began, e.g. a concurrent change won a race).
    pub(crate) fn decide<T>(
        &self,
        mut f: impl FnMut(&mut AnyConnection) -> Result<Decision<T>, TxError>,
    ) -> Result<T, RepositoryError> {
        let mut undone = None;
        let result = self.write(|c| match f(c)? {
            Decision::Commit(t) => Ok(Some(t)),
            Decision::Rollback(t) => {
                undone = Some(t);
                Err(TxError::Rollback)
            }
        });
        match (result, undone) {
            (Ok(Some(t)), _) => Ok(t),
            (Err(_), Some(t)) => Ok(t),
            (Ok(None), _) => Err(RepositoryError::internal("transaction produced nothing")),
            (Err(e), None) => Err(e),
        }
    }
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

/// Takes the write lock (PostgreSQL; held to commit): write transactions run
/// one at a time, as SQLite's single writer does. Concurrent stores of one
/// study then cannot deadlock on its rows or lose an update of its modalities,
/// and event ids are allocated in commit order, so a poller never skips a
/// late-committing event. Files are received, hashed and synced before, outside
/// any transaction: what is serialized is a few statements and the commit.
fn lock_writes(conn: &mut AnyConnection) -> QueryResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        c.batch_execute("SELECT pg_advisory_xact_lock(7460911)")?;
    }
    Ok(())
}
