//! The repository contract, run against every backend: SQLite always, and
//! PostgreSQL when `PACS_TEST_DATABASE_URL` names an admin connection (CI sets
//! it; elsewhere its absence is reported loudly).

mod contract;
mod events;
mod locks;
mod management;
mod support;
