//! # pacs-app
//!
//! The use cases of the pacs archive, written against the ports of
//! `pacs-domain`: storing instances, searching, retrieving, reading events.
//! Business rules live here, not in HTTP handlers; every function takes the
//! tenant it acts for and the [`Ports`] it needs.
//!
//! Use cases that touch files or the database are blocking: call them from a
//! thread that may block.

mod context;
mod error;
pub mod events;
pub mod ingest;
pub mod retrieve;
pub mod search;

pub use context::{Media, Ports, Tenant};
pub use error::AppError;
