//! # pacs-app
//!
//! The use cases of the pacs archive, written against the ports of
//! `pacs-domain`: storing instances, searching, retrieving, reading events,
//! counting, deprecating, correcting patients and studies, orders.
//! Business rules live here, not in HTTP handlers; every function takes the
//! tenant it acts for and the [`Ports`] it needs.
//!
//! Use cases that touch the storage media are async (the blob-store port
//! streams) and run their synchronous steps on tokio's blocking pool; the
//! others are blocking: call them from a thread that may block.

mod blocking;
pub mod commitment;
mod context;
pub mod corrections;
pub mod count;
pub mod deprecation;
mod error;
pub mod events;
pub mod fields;
pub mod frames;
mod in_flight;
pub mod ingest;
mod journal;
pub mod kos;
mod limits;
pub mod orders;
pub mod pathology;
pub mod relocation;
mod renderer;
pub mod rendering;
pub mod retrieve;
pub mod search;
pub mod study_instances;
pub mod worklist;

pub use context::{Media, Ports, Tenant};
pub use error::{AppError, ErrorCode};
pub use in_flight::InFlight;
pub use limits::Limits;
