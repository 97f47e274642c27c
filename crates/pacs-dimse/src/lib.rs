//! # pacs-dimse
//!
//! The archive's DICOM network adapter: a listener speaking the DICOM upper
//! layer protocol (dicom-ul) that answers DIMSE services by calling the same
//! use cases of `pacs-app` as HTTP does. It depends on `pacs-app`,
//! `pacs-domain` and `pacs-dicom-ops` (which encodes command sets and data
//! sets), never on the HTTP adapter; `pacs serve` starts it when `[dimse]`
//! is configured.
//!
//! ```no_run
//! # fn run(ports: pacs_app::Ports, directory: pacs_dimse::Directory) -> std::io::Result<()> {
//! let listener = pacs_dimse::start(pacs_dimse::ListenerSettings::new("127.0.0.1:11112"), ports, directory)?;
//! println!("DICOM listener on {}", listener.local_addr());
//! listener.stop(std::time::Duration::from_secs(10));
//! # Ok(()) }
//! ```
//!
//! Threads and runtimes (docs/dimse.md): the accept loop runs on a thread of
//! its own, and every association on a thread of its own with a
//! current-thread tokio runtime, since the ingest use case's futures are not
//! `Send`. P-DATA is always written here as whole PDUs, never through
//! dicom-ul's P-DATA writer, which needs a multi-threaded runtime.

mod access;
mod association;
mod commit;
mod directory;
mod find;
mod get;
mod link;
mod listener;
mod moves;
mod settings;
mod status;
mod store;

pub use directory::{Directory, Node, TenantNodes};
pub use listener::{Listener, start};
pub use settings::{CallingAePolicy, ListenerSettings};
