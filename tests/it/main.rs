//! Black-box tests of the `pacs` binary: real HTTP, real SQLite and PostgreSQL,
//! real DICOM clients (dicomweb-client), real test data.
//!
//! PostgreSQL is reached through `PACS_TEST_DATABASE_URL`; test data comes from
//! `PACS_TEST_DATA` (default /tmp/pacs-data, made by `tests/data/make-data.sh`).
//! A test whose data or peer is missing fails, naming the command that
//! provides it; `tests/run.sh` provides everything.

mod architecture;
mod auth_tenants;
mod bad_input;
mod buckets;
mod cli;
mod corrections;
mod crash;
mod dicomweb;
mod dimse;
mod hardening;
mod kos;
mod management;
mod ohif;
mod ops;
mod orthanc_client;
mod pathology;
mod qido;
mod relocation;
mod relocation_faults;
mod rendering;
mod scale_out;
mod stow;
mod support;
