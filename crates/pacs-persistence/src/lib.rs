//! # pacs-persistence
//!
//! The diesel adapter of the pacs index ports, one code path over SQLite (the
//! embedded default, bundled) and PostgreSQL, with r2d2 pooling and migrations
//! embedded from `migrations/sqlite` and `migrations/postgres`. This is the only
//! crate that knows diesel.
//!
//! ```
//! use pacs_domain::ids::TenantName;
//! use pacs_domain::ports::EventLog;
//! use pacs_persistence::Database;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let db = Database::connect(&format!("sqlite://{}/pacs.sqlite", dir.path().display()), 4).unwrap();
//! db.migrate().unwrap();
//! let events = db.read_after(&TenantName::new("default").unwrap(), 0, 100).unwrap();
//! assert!(events.is_empty());
//! ```

mod audit;
mod connection;
mod corrections;
mod count;
mod counters;
mod deprecation;
mod error;
mod events;
mod files;
mod ingest;
mod inserts;
mod journal;
mod locks;
mod lookup;
mod orders;
mod query;
mod relocation;
mod retrieve;
mod rows;
mod schema;
mod stats;
mod time;

pub use connection::{Backend, Database};
