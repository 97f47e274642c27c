//! Configuration: a TOML file and `PACS__…` environment overrides (RUNNING.md).
//! Unknown keys are errors that name the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
// Keys of the RUNNING.md contract are accepted and checked now; the S3, DIMSE
// and forward adapters read them when they land.
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub server: ServerSettings,
    #[serde(default)]
    pub database: DatabaseSettings,
    #[serde(default)]
    pub storage: StorageSettings,
    #[serde(default)]
    pub dimse: Option<DimseSettings>,
    #[serde(default)]
    pub pathology: PathologySettings,
    #[serde(default)]
    pub limits: LimitsSettings,
    #[serde(default = "default_tenants")]
    pub tenants: Vec<TenantSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// `host:port`; port 0 picks a free port (the ready line says which).
    pub bind: String,
    /// Largest accepted upload, in bytes.
    pub max_body_bytes: u64,
    /// Time zone of date filters such as `receivedAt` (only UTC for now).
    pub time_zone: String,
    /// Seconds in-flight requests get to finish on SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Directory for the archive's own state (generated key hashes).
    pub data_dir: PathBuf,
    /// HTTP worker threads; 0 means one per CPU.
    pub workers: usize,
    /// The archive's address as clients reach it (`https://pacs.example.org`,
    /// optionally with a path prefix), used in every URL the archive hands out
    /// or stores (RetrieveURL, KOS). Unset: `http://` and the bound address.
    /// Request headers (`Host`, `X-Forwarded-Host`) are never used for it.
    pub public_url: Option<String>,
    /// Browser origins (`https://viewer.example.org`) allowed to call the API
    /// from their pages (CORS); none by default.
    pub cors_origins: Vec<String>,
    /// Serve the OpenAPI document and the Swagger UI without a key.
    pub public_api_docs: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 20 * 1024 * 1024 * 1024,
            time_zone: "UTC".into(),
            shutdown_grace_secs: 30,
            data_dir: PathBuf::from("./data"),
            public_url: None,
            public_api_docs: false,
            workers: 0,
            cors_origins: Vec::new(),
        }
    }
}

/// Bounds on MIRAX zips, checked before anything of an upload is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathologySettings {
    /// Most entries (files and folders) a MIRAX zip may hold.
    pub zip_max_entries: usize,
    /// Most bytes a MIRAX zip may expand to.
    pub zip_max_uncompressed_bytes: u64,
    /// Largest expansion ratio of an entry over 1 MiB (zip bombs).
    pub zip_max_ratio: u64,
}

impl Default for PathologySettings {
    fn default() -> Self {
        let d = pacs_app::pathology::MiraxLimits::default();
        Self {
            zip_max_entries: d.max_entries,
            zip_max_uncompressed_bytes: d.max_uncompressed_bytes,
            zip_max_ratio: d.max_ratio,
        }
    }
}

impl PathologySettings {
    pub fn limits(&self) -> pacs_app::pathology::MiraxLimits {
        pacs_app::pathology::MiraxLimits {
            max_entries: self.zip_max_entries,
            max_uncompressed_bytes: self.zip_max_uncompressed_bytes,
            max_ratio: self.zip_max_ratio,
        }
    }
}

/// What one request may cost (`[limits]`): memory is bounded by these, not by
/// what a client asks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSettings {
    /// Matches in one QIDO answer.
    pub qido_max_results: u32,
    /// Matches in one QIDO answer that carries stored headers (includefield=all).
    pub qido_max_header_results: u32,
    /// Largest frame, in pixels, decoded for rendering.
    pub render_max_pixels: u64,
    /// Largest side of a rendered image.
    pub render_max_side: u32,
}

impl Default for LimitsSettings {
    fn default() -> Self {
        let d = pacs_app::Limits::default();
        Self {
            qido_max_results: d.qido_max_results,
            qido_max_header_results: d.qido_max_header_results,
            render_max_pixels: d.render_max_pixels,
            render_max_side: d.render_max_side,
        }
    }
}

impl LimitsSettings {
    pub fn to_limits(&self) -> pacs_app::Limits {
        pacs_app::Limits {
            qido_max_results: self.qido_max_results,
            qido_max_header_results: self.qido_max_header_results,
            render_max_pixels: self.render_max_pixels,
            render_max_side: self.render_max_side,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://path` or `postgres://user@host:port/db`.
    pub url: String,
    pub pool_size: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/pacs.sqlite".into(),
            pool_size: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// Where new studies are written.
    pub default_medium: String,
    pub media: Vec<MediumSettings>,
    pub buckets: Vec<BucketSettings>,
    /// fsync every stored file and its directory before acknowledging. Only
    /// throwaway test archives turn it off.
    pub fsync: bool,
    /// At start, files no row names are moved to a filesystem medium's
    /// `.orphans/` when last modified this long before the start: longer than any store or
    /// relocation takes on another process sharing the media.
    pub orphan_grace_secs: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            default_medium: "local".into(),
            media: vec![MediumSettings {
                name: "local".into(),
                path: PathBuf::from("./data/archive"),
            }],
            buckets: Vec::new(),
            fsync: true,
            orphan_grace_secs: 24 * 60 * 60,
        }
    }
}

/// A filesystem "physical medium".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediumSettings {
    pub name: String,
    pub path: PathBuf,
}

/// An S3-compatible bucket (a medium like a directory; docs/storage-buckets.md).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketSettings {
    pub name: String,
    pub endpoint: String,
    #[serde(default = "default_region")]
    pub region: String,
    pub bucket: String,
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    #[serde(default = "yes")]
    pub path_style: bool,
    /// Local directory for the bytes being received until they are uploaded
    /// (default: `bucket-staging/<name>` under `server.data_dir`: one node's
    /// own, so that its startup sweep touches nothing of another process).
    #[serde(default)]
    pub staging_dir: Option<PathBuf>,
}

impl BucketSettings {
    /// The storage adapter's settings (credentials left to the environment
    /// when the file has none).
    pub fn to_storage(&self, data_dir: &std::path::Path) -> pacs_storage::BucketSettings {
        pacs_storage::BucketSettings {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            bucket: self.bucket.clone(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            path_style: self.path_style,
            staging_dir: Some(
                self.staging_dir
                    .clone()
                    .unwrap_or_else(|| data_dir.join("bucket-staging").join(&self.name)),
            ),
        }
    }
}

impl std::fmt::Debug for BucketSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketSettings")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The DICOM listener (`[dimse]`; docs/dimse.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimseSettings {
    /// `host:port`; port 0 picks a free port (the ready line says which).
    pub bind: String,
    /// Associations served at once; more are rejected (transient).
    #[serde(default = "default_max_associations")]
    pub max_associations: usize,
    /// Seconds an association may stay silent before it is aborted.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout_secs: u64,
    /// Largest PDU received, in bytes (offered to every peer).
    #[serde(default = "default_max_pdu")]
    pub max_pdu_length: u32,
    /// `"nodes"`: only a tenant's `[[tenants.nodes]]` may call it;
    /// `"any"`: every calling AE title is accepted (and recorded).
    #[serde(default = "default_calling_ae_titles")]
    pub calling_ae_titles: String,
}

impl DimseSettings {
    /// The adapter's settings (checked by `validate`).
    pub fn to_listener(&self) -> pacs_dimse::ListenerSettings {
        pacs_dimse::ListenerSettings {
            bind: self.bind.clone(),
            max_associations: self.max_associations,
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_secs),
            max_pdu_length: self.max_pdu_length,
            calling_ae_policy: if self.calling_ae_titles == "any" {
                pacs_dimse::CallingAePolicy::Any
            } else {
                pacs_dimse::CallingAePolicy::KnownNodes
            },
        }
    }
}

fn default_max_associations() -> usize {
    pacs_dimse::ListenerSettings::new("").max_associations
}

fn default_idle_timeout() -> u64 {
    pacs_dimse::ListenerSettings::new("").idle_timeout.as_secs()
}

fn default_max_pdu() -> u32 {
    pacs_dimse::ListenerSettings::new("").max_pdu_length
}

fn default_calling_ae_titles() -> String {
    "nodes".into()
}

#[derive(Clone, Deserialize)]
// Keys of the RUNNING.md contract are accepted and checked now; the S3, DIMSE
// and forward adapters read them when they land.
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    pub name: String,
    #[serde(default = "default_ae")]
    pub ae_title: String,
    /// Plain key, for development.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Hex SHA-256 of the key, for production.
    #[serde(default)]
    pub api_key_sha256: Option<String>,
    #[serde(default)]
    pub nodes: Vec<NodeSettings>,
    #[serde(default)]
    pub forward: Option<ForwardSettings>,
}

// Keys never reach logs, not even through Debug.
impl std::fmt::Debug for TenantSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantSettings")
            .field("name", &self.name)
            .field("ae_title", &self.ae_title)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Deserialize)]
// Keys of the RUNNING.md contract are accepted and checked now; the S3, DIMSE
// and forward adapters read them when they land.
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct NodeSettings {
    pub ae_title: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub stow_url: Option<String>,
    #[serde(default)]
    pub authorization: Option<String>,
}

impl std::fmt::Debug for NodeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeSettings")
            .field("ae_title", &self.ae_title)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Deserialize)]
// Keys of the RUNNING.md contract are accepted and checked now; the S3, DIMSE
// and forward adapters read them when they land.
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub struct ForwardSettings {
    #[serde(default)]
    pub series_node: Option<String>,
    #[serde(default)]
    pub slides_url: Option<String>,
    #[serde(default)]
    pub slides_authorization: Option<String>,
}

impl std::fmt::Debug for ForwardSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardSettings")
            .field("series_node", &self.series_node)
            .finish_non_exhaustive()
    }
}

fn default_region() -> String {
    "us-east-1".into()
}

fn yes() -> bool {
    true
}

fn default_ae() -> String {
    "PACS".into()
}

fn default_tenants() -> Vec<TenantSettings> {
    vec![TenantSettings {
        name: "default".into(),
        ae_title: default_ae(),
        api_key: None,
        api_key_sha256: None,
        nodes: Vec::new(),
        forward: None,
    }]
}

/// A configuration error, naming the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

impl Settings {
    /// Reads `file` (when given) and the `PACS__SECTION__KEY` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "file {} does not exist",
                    path.display()
                )));
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix("PACS")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let raw = builder.build().map_err(|e| ConfigError(e.to_string()))?;
        let settings: Settings = raw
            .try_deserialize()
            .map_err(|e| ConfigError(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Sections of the contract that this version accepts and checks but does
    /// not act on yet, one operator-facing sentence each: `serve` logs them as
    /// warnings so nobody believes a bucket, a DICOM listener or a forward
    /// target is in use when it is not.
    pub fn unused_sections(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tenants {
            if !t.nodes.is_empty() && self.dimse.is_none() {
                out.push(format!(
                    "[[tenants.nodes]] of tenant {} are configured but [dimse] is not: no DICOM listener accepts them",
                    t.name
                ));
            }
            if t.forward.is_some() {
                out.push(format!(
                    "[tenants.forward] of tenant {} is configured but this version has no forward API yet",
                    t.name
                ));
            }
        }
        out
    }

    /// Checks what serde cannot: names, references, values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        if self.server.bind.parse::<std::net::SocketAddr>().is_err()
            && !self.server.bind.contains(':')
        {
            return err(format!(
                "server.bind: {:?} is not host:port",
                self.server.bind
            ));
        }
        if !self.server.time_zone.eq_ignore_ascii_case("UTC") {
            return err(format!(
                "server.time_zone: only \"UTC\" is supported, not {:?}",
                self.server.time_zone
            ));
        }
        if let Some(url) = &self.server.public_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            let host = rest.map(|r| r.split('/').next().unwrap_or(""));
            if host.is_none_or(str::is_empty)
                || url.contains(['?', '#', ' '])
                || url.chars().any(char::is_control)
            {
                return err(format!(
                    "server.public_url: {url:?} is not an http(s) URL without query or fragment"
                ));
            }
        }
        for origin in &self.server.cors_origins {
            let o = crate::cors::normalize(origin);
            let host = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            if host.is_none_or(|h| h.is_empty() || h.contains(['/', '?', '#', ' ', '*'])) {
                return err(format!(
                    "server.cors_origins: {origin:?} is not an origin (http(s)://host[:port], no path)"
                ));
            }
        }
        if self.database.pool_size == 0 {
            return err("database.pool_size: must be at least 1".into());
        }
        let l = &self.limits;
        for (key, value) in [
            ("limits.qido_max_results", u64::from(l.qido_max_results)),
            (
                "limits.qido_max_header_results",
                u64::from(l.qido_max_header_results),
            ),
            ("limits.render_max_pixels", l.render_max_pixels),
        ] {
            if value == 0 {
                return err(format!("{key}: must be at least 1"));
            }
        }
        if !(16..=65_535).contains(&l.render_max_side) {
            return err(format!(
                "limits.render_max_side: {} is not from 16 to 65535",
                l.render_max_side
            ));
        }
        if let Some(d) = &self.dimse {
            if d.bind.parse::<std::net::SocketAddr>().is_err() && !d.bind.contains(':') {
                return err(format!("dimse.bind: {:?} is not host:port", d.bind));
            }
            if d.max_associations == 0 {
                return err("dimse.max_associations: must be at least 1".into());
            }
            if d.idle_timeout_secs == 0 {
                return err("dimse.idle_timeout_secs: must be at least 1".into());
            }
            // PS3.8 §9.3.1: a PDU carries at least 1024 bytes; dicom-ul's reader
            // takes up to 4 MiB comfortably.
            if !(4096..=4 * 1024 * 1024).contains(&d.max_pdu_length) {
                return err(format!(
                    "dimse.max_pdu_length: {} is not from 4096 to 4194304",
                    d.max_pdu_length
                ));
            }
            if !["nodes", "any"].contains(&d.calling_ae_titles.as_str()) {
                return err(format!(
                    "dimse.calling_ae_titles: {:?} is not \"nodes\" or \"any\"",
                    d.calling_ae_titles
                ));
            }
            // The called AE title selects the tenant.
            let mut aes = std::collections::HashSet::new();
            for t in &self.tenants {
                if !aes.insert(t.ae_title.trim().to_owned()) {
                    return err(format!(
                        "tenants.ae_title: {:?} is used by two tenants; with [dimse] it must select one",
                        t.ae_title
                    ));
                }
                for n in &t.nodes {
                    if let Err(e) = pacs_domain::ids::AeTitle::new(&n.ae_title) {
                        return err(format!("tenants.nodes.ae_title ({}): {e}", t.name));
                    }
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for m in &self.storage.media {
            if pacs_domain::model::MediumName::new(&m.name).is_err() {
                return err(format!(
                    "storage.media.name: {:?} is not a valid medium name",
                    m.name
                ));
            }
            if !names.insert(m.name.clone()) {
                return err(format!(
                    "storage.media.name: {:?} is configured twice",
                    m.name
                ));
            }
        }
        for b in &self.storage.buckets {
            if !names.insert(b.name.clone()) {
                return err(format!(
                    "storage.buckets.name: {:?} is configured twice",
                    b.name
                ));
            }
        }
        let default = &self.storage.default_medium;
        if !self.storage.media.iter().any(|m| &m.name == default)
            && !self.storage.buckets.iter().any(|b| &b.name == default)
        {
            return err(format!(
                "storage.default_medium: {:?} is not one of storage.media or storage.buckets",
                self.storage.default_medium
            ));
        }
        if self.tenants.is_empty() {
            return err("tenants: at least one tenant is needed".into());
        }
        let mut tenant_names = std::collections::HashSet::new();
        for t in &self.tenants {
            if pacs_domain::ids::TenantName::new(&t.name).is_err() {
                return err(format!(
                    "tenants.name: {:?} is not a valid tenant name",
                    t.name
                ));
            }
            if !tenant_names.insert(t.name.clone()) {
                return err(format!("tenants.name: {:?} is configured twice", t.name));
            }
            if let Err(e) = pacs_domain::ids::AeTitle::new(&t.ae_title) {
                return err(format!("tenants.ae_title ({}): {e}", t.name));
            }
            if t.api_key.is_some() && t.api_key_sha256.is_some() {
                return err(format!(
                    "tenants.api_key ({}): give api_key or api_key_sha256, not both",
                    t.name
                ));
            }
            if let Some(h) = &t.api_key_sha256
                && (h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return err(format!(
                    "tenants.api_key_sha256 ({}): must be 64 hex digits",
                    t.name
                ));
            }
            if t.api_key.as_deref() == Some("") {
                return err(format!("tenants.api_key ({}): must not be empty", t.name));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml: &str) -> Result<Settings, ConfigError> {
        let raw = config::Config::builder()
            .add_source(config::File::from_str(toml, config::FileFormat::Toml))
            .build()
            .map_err(|e| ConfigError(e.to_string()))?;
        let s: Settings = raw
            .try_deserialize()
            .map_err(|e| ConfigError(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    #[test]
    fn defaults_are_the_embedded_archive() {
        let s = parse("").unwrap();
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert!(s.database.url.starts_with("sqlite://"));
        assert_eq!(s.tenants[0].name, "default");
    }

    #[test]
    fn cors_origins_are_origins() {
        let s = parse("[server]\ncors_origins = [\"https://viewer.example:8443\"]\n").unwrap();
        assert_eq!(s.server.cors_origins, ["https://viewer.example:8443"]);
        for bad in [
            "*",
            "viewer.example",
            "https://viewer.example/app",
            "https://",
        ] {
            let e = parse(&format!("[server]\ncors_origins = [\"{bad}\"]\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("server.cors_origins"), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = parse("[server]\nbnd = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("bnd"), "{e}");
        let e = parse("[databse]\nurl = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("databse"), "{e}");
    }

    #[test]
    fn bad_references_are_named() {
        let e = parse("[storage]\ndefault_medium = \"nope\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("storage.default_medium"), "{e}");
    }
}
