//! API keys: which tenant a request acts for. Keys are compared as SHA-256
//! digests in constant time and never logged.

use std::path::Path;

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use pacs_app::Tenant;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// A tenant with the digest of its key.
#[derive(Debug, Clone)]
pub struct KeyedTenant {
    pub tenant: Tenant,
    digest: [u8; 32],
}

/// The tenants requests may act for.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    tenants: Vec<KeyedTenant>,
}

pub fn sha256(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// A new random key: 32 bytes, hex.
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Keyring {
    pub fn add(&mut self, tenant: Tenant, digest: [u8; 32]) {
        self.tenants.push(KeyedTenant { tenant, digest });
    }

    /// The tenant whose key is `presented`. Every digest is compared, so the time
    /// taken does not depend on which (if any) matches.
    pub fn tenant_for(&self, presented: &str) -> Option<&Tenant> {
        let digest = sha256(presented);
        let mut found = None;
        for t in &self.tenants {
            if bool::from(t.digest.ct_eq(&digest)) && found.is_none() {
                found = Some(&t.tenant);
            }
        }
        found
    }
}

/// Parses a hex SHA-256 digest.
pub fn parse_digest(hex_digest: &str) -> Option<[u8; 32]> {
    let bytes = hex::decode(hex_digest).ok()?;
    bytes.try_into().ok()
}

/// The digest of a tenant's generated key, kept in `data_dir`; generated (and
/// printed once) when missing.
pub fn generated_key_digest(
    data_dir: &Path,
    tenant: &str,
) -> std::io::Result<([u8; 32], Option<String>)> {
    let path = data_dir.join(format!("{tenant}.api-key.sha256"));
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(d) = parse_digest(text.trim())
    {
        return Ok((d, None));
    }
    std::fs::create_dir_all(data_dir)?;
    let key = generate_key();
    let digest = sha256(&key);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{}\n", hex::encode(digest)))?;
    std::fs::rename(&tmp, &path)?;
    Ok((digest, Some(key)))
}

/// Whether the API description and its viewer need no key
/// (`server.public_api_docs`; the contract names only the probes and metrics).
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicDocs(pub bool);

/// Paths that need no key: probes and metrics (outside the web context), and
/// the API description with its viewer when configured so.
fn is_public(path: &str, docs: PublicDocs) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
        || (docs.0 && crate::openapi::is_doc_path(path))
}

/// The key of the one `Authorization` header: `Bearer <key>` (the scheme in
/// any case) or the bare key. Several headers present no key: which one would
/// count is for no intermediary to decide.
fn presented_key(req: &ServiceRequest) -> Option<&str> {
    let mut headers = req
        .headers()
        .get_all(actix_web::http::header::AUTHORIZATION);
    let value = headers.next()?.to_str().ok()?.trim();
    if headers.next().is_some() {
        return None;
    }
    match value.split_once(' ') {
        Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => Some(key.trim()),
        _ => Some(value),
    }
}

/// Middleware: resolves the tenant from `Authorization` before anything else
/// (the body is not read), or answers 401.
pub async fn require_key(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let docs = req
        .app_data::<web::Data<PublicDocs>>()
        .map(|d| *d.get_ref())
        .unwrap_or_default();
    if is_public(req.path(), docs) {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let keyring = req.app_data::<web::Data<Keyring>>().cloned();
    let presented = presented_key(&req);
    let tenant = match (keyring, presented) {
        (Some(k), Some(p)) if !p.is_empty() => k.tenant_for(p).cloned(),
        _ => None,
    };
    match tenant {
        Some(t) => {
            req.extensions_mut().insert(t);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
        None => {
            let message = if presented.is_none() {
                "exactly one Authorization header with an API key is required"
            } else {
                "the API key is not valid"
            };
            let resp = ApiError::Unauthorized(message).error_response();
            Ok(req.into_response(resp))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacs_domain::ids::{AeTitle, TenantName};

    #[test]
    fn keys_select_their_tenant() {
        let mut ring = Keyring::default();
        for (name, key) in [("a", "key-a"), ("b", "key-b")] {
            let t = Tenant {
                name: TenantName::new(name).unwrap(),
                ae_title: AeTitle::new("PACS").unwrap(),
            };
            ring.add(t, sha256(key));
        }
        assert_eq!(ring.tenant_for("key-b").unwrap().name.as_str(), "b");
        assert!(ring.tenant_for("key-c").is_none());
        assert!(ring.tenant_for("").is_none());
    }
}
