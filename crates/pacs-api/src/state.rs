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
    /// `scheme://host[:port][/prefix]` of every URL handed out or stored: from
    /// `server.public_url`, else the bound address.
    pub public_url: String,
    /// Open DIMSE associations, when the DICOM listener runs (a metric).
    pub dimse_associations: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

impl AppState {
    /// The WADO-RS root of tenant `ae` as clients reach it; never from request
    /// headers, so a client cannot make the archive store or send a foreign host.
    pub fn wado_rs_root(&self, ae: &impl std::fmt::Display) -> String {
        format!("{}/o3-dpacs-wado/wado-rs/{ae}", self.public_url)
    }

    /// The one DICOMweb root of tenant `ae` (QIDO, WADO and STOW under one base).
    pub fn dicomweb_root(&self, ae: &impl std::fmt::Display) -> String {
        format!("{}/o3-dpacs-wado/dicomweb/{ae}", self.public_url)
    }
}
