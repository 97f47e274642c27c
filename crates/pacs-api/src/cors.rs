//! CORS for the browser origins of `server.cors_origins` (a viewer served from
//! another origin, such as OHIF). actix-cors answers the preflight before the
//! key is checked (browsers send no `Authorization` on a preflight) and adds
//! `Access-Control-Allow-Origin` to every answer to an allowed origin, errors
//! and 401s included, so the page can read them. Other origins get nothing:
//! no CORS header, and their requests are answered as without CORS.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web;

/// The browser origins allowed to call the API, as browsers send them.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// `origins` as configured (checked by `Settings::validate`), in the form
    /// of the `Origin` header: lower case, no trailing slash.
    pub fn new(origins: &[String]) -> Self {
        Self(origins.iter().map(|o| normalize(o)).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn allows(&self, origin: &[u8]) -> bool {
        self.0.iter().any(|o| o.as_bytes() == origin)
    }
}

/// An origin as a browser's `Origin` header spells it.
pub fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// The CORS middleware for `origins`. Headers exposed are those a DICOMweb
/// client reads beyond the CORS-safelisted ones: QIDO's `Warning`, the
/// `Content-Disposition` of downloads, ranges, and the length of HEAD answers.
pub fn cors(origins: &AllowedOrigins) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_any_header()
        .expose_headers([
            header::WARNING,
            header::CONTENT_DISPOSITION,
            header::CONTENT_LOCATION,
            header::CONTENT_RANGE,
            header::ACCEPT_RANGES,
            header::CONTENT_LENGTH,
        ])
        .max_age(3600)
        // Another origin's request is served as without CORS, not refused:
        // curl and same-origin proxies send an Origin too.
        .block_on_origin_mismatch(false);
    for o in &origins.0 {
        cors = cors.allowed_origin(o);
    }
    cors
}

/// Lets a preflight from an origin that is not allowed pass as a plain
/// `OPTIONS` request (which the API answers like any unrouted request, with a
/// JSON error): actix-cors would answer it with a text 400 of its own.
pub async fn foreign_preflight(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::OPTIONS {
        let allowed = req
            .app_data::<web::Data<AllowedOrigins>>()
            .is_some_and(|a| {
                req.headers()
                    .get(header::ORIGIN)
                    .is_some_and(|o| a.allows(o.as_bytes()))
            });
        if !allowed {
            req.headers_mut()
                .remove(header::ACCESS_CONTROL_REQUEST_METHOD);
        }
    }
    next.call(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_compared_as_browsers_send_them() {
        let a = AllowedOrigins::new(&["HTTPS://Viewer.Example:8443/".to_owned()]);
        assert!(a.allows(b"https://viewer.example:8443"));
        assert!(!a.allows(b"https://viewer.example"));
        assert!(!a.allows(b"https://other.example:8443"));
    }
}
