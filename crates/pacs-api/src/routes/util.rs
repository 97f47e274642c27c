//! Small helpers shared by handlers.

use actix_web::HttpRequest;
use actix_web::web;
use pacs_app::ErrorCode;

use crate::error::ApiError;
use crate::media::{MediaRange, parse_accept};

/// Query parameters, percent-decoded (RFC 3986: `%2A` is `*`; `+` is a space as
/// HTML forms and python-requests send it), in order, repeated keys kept.
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    let pairs =
        serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string()).map_err(|e| {
            ApiError::bad_request(
                ErrorCode::BadQueryString,
                format!("malformed query string: {e}"),
            )
        })?;
    // No DICOM value holds a NUL, and PostgreSQL cannot compare with one.
    if let Some((k, _)) = pairs
        .iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(ApiError::bad_request(
            ErrorCode::BadQueryString,
            format!(
                "query parameter {} contains a NUL character",
                k.escape_debug()
            ),
        ));
    }
    Ok(pairs)
}

/// The first value of a query parameter.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Runs blocking work (files, database) off the async workers.
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, pacs_app::AppError> + Send + 'static,
    T: Send + 'static,
{
    Ok(web::block(f).await??)
}

/// A random multipart boundary.
pub fn boundary() -> String {
    crate::auth::generate_key()[..32].to_owned()
}

/// The media ranges of the request's `Accept` header, most preferred first
/// (`crate::media`), with the header as sent; `None` without one.
pub fn accepted(req: &HttpRequest) -> Option<(&str, Vec<MediaRange>)> {
    let accept = req
        .headers()
        .get(actix_web::http::header::ACCEPT)?
        .to_str()
        .ok()?;
    Some((accept, parse_accept(accept)))
}
