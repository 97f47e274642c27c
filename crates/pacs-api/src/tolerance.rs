//! What clients send that the routes do not spell: a trailing slash
//! (`/studies/`) and `HEAD` where `GET` is routed. Both are rewritten before
//! routing, so every route, its metrics label and its checks stay as they are.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, Uri};
use actix_web::middleware::Next;
use bytes::Bytes;

/// Rewrites `HEAD` to `GET` and drops one or more trailing slashes; a HEAD
/// answer keeps the GET answer's headers (its length included) and sends no
/// body, without reading the content (actix writes no body for a HEAD request).
pub async fn tolerate(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(uri) = without_trailing_slash(req.uri()) {
        req.match_info_mut().get_mut().update(&uri);
        req.head_mut().uri = uri;
    }
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let res = next.call(req).await?;
    Ok(res.map_body(|_, body| {
        if head {
            HeadBody(body.size()).boxed()
        } else {
            body.boxed()
        }
    }))
}

/// `uri` without its trailing slashes, when it has some (the root `/` and
/// the Swagger UI's own `swagger-ui/` are left alone).
fn without_trailing_slash(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if path.len() <= 1 || !path.ends_with('/') || crate::openapi::is_doc_path(path) {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let path_and_query = match uri.query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    Uri::from_parts(parts).ok()
}

/// The body of a HEAD answer: the size the GET answer would have, no bytes.
struct HeadBody(BodySize);

impl MessageBody for HeadBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        self.0
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trimmed(s: &str) -> Option<String> {
        without_trailing_slash(&s.parse().unwrap()).map(|u| u.to_string())
    }

    #[test]
    fn trailing_slashes_go_and_the_query_stays() {
        assert_eq!(
            trimmed("/o3-dpacs-wado/dicomweb/PACS/studies/?limit=1").as_deref(),
            Some("/o3-dpacs-wado/dicomweb/PACS/studies?limit=1")
        );
        assert_eq!(
            trimmed("/o3-dpacs-wado/qido/PACS/studies//").as_deref(),
            Some("/o3-dpacs-wado/qido/PACS/studies")
        );
        assert_eq!(trimmed("/o3-dpacs-wado/qido/PACS/studies"), None);
        assert_eq!(trimmed("/"), None);
        assert_eq!(trimmed("/o3-dpacs-wado/swagger-ui/"), None);
    }
}
