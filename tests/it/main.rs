//! Black-box tests of the `pacs` binary: real HTTP, real SQLite and PostgreSQL,
//! real DICOM clients (dicomweb-client), the lab's real test data.
//!
//! PostgreSQL runs when `PACS_TEST_DATABASE_URL` is set; test data comes from
//! `PACS_TEST_DATA` (default /tmp/pacs-data). Outside CI a missing dependency is
//! skipped LOUDLY; in CI (`CI` or `PACS_CI` set) it fails the test.

mod architecture;
mod auth_tenants;
mod cli;
mod corrections;
mod crash;
mod kos;
mod management;
mod ops;
mod pathology;
mod qido;
mod relocation;
mod rendering;
mod stow;
mod support;
