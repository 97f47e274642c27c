//! What handlers share.

use pacs_app::Ports;

/// Shared by every handler (cheap to clone: everything inside is `Arc`).
#[derive(Debug, Clone)]
pub struct AppState {
    pub ports: Ports,
    /// Largest accepted upload, in bytes.
    pub max_body_bytes: u64,
    /// Bounds on MIRAX zips (entries, expanded size).
    pub mirax_limits: pacs_app::pathology::MiraxLimits,
    /// Readiness probes of dependencies that are not storage media.
    pub database: std::sync::Arc<pacs_persistence::Database>,
}
