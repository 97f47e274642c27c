//! JSON request bodies: read whole (they are small, and bounded), parsed with
//! a 400 that names the problem.

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use pacs_app::ErrorCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Largest JSON body of the management APIs.
pub const MAX_JSON: usize = 1024 * 1024;

/// A JSON request body, read whole up to [`MAX_JSON`] bytes: a larger one (by
/// its declared length or by what arrives) is a JSON 413, a broken one a JSON
/// 400, never actix's plain-text answers.
pub struct JsonBody(pub web::Bytes);

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            body.await
                .map(JsonBody)
                .map_err(|e| match e.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => ApiError::PayloadTooLarge(format!(
                        "a JSON body is limited to {MAX_JSON} bytes"
                    )),
                    _ => ApiError::bad_request(
                        ErrorCode::IncompleteBody,
                        format!("the body could not be read: {e}"),
                    ),
                })
        })
    }
}

impl std::ops::Deref for JsonBody {
    type Target = web::Bytes;

    fn deref(&self) -> &web::Bytes {
        &self.0
    }
}

/// The body as a JSON object; `prefix` starts the message of a 400.
pub fn object(body: &web::Bytes, prefix: &str) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            if let Some(field) = field_with_nul(&map) {
                return Err(ApiError::bad_request(
                    ErrorCode::BadRequest,
                    format!("{prefix}: {field} contains a NUL character"),
                ));
            }
            Ok(map)
        }
        Ok(_) => Err(ApiError::bad_request(
            ErrorCode::BadRequest,
            format!("{prefix}: the body must be a JSON object"),
        )),
        Err(e) => Err(ApiError::bad_request(
            ErrorCode::BadRequest,
            format!("{prefix}: the body is not valid JSON ({e})"),
        )),
    }
}

/// The first field (by name) whose text holds a NUL: no DICOM value may, and
/// PostgreSQL cannot store one.
fn field_with_nul(map: &Map<String, Value>) -> Option<String> {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(has_nul),
            Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    map.iter()
        .find(|(k, v)| k.contains('\0') || has_nul(v))
        .map(|(k, _)| k.escape_debug().to_string())
}

/// The body as a request type; wrong types of fields are a 400 naming them.
pub fn parse<T: DeserializeOwned>(map: &Map<String, Value>, prefix: &str) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(map.clone()))
        .map_err(|e| ApiError::bad_request(ErrorCode::BadRequest, format!("{prefix}: {e}")))
}

/// The fields of `map` that are among `keys` (to echo what was received).
pub fn echo(map: &Map<String, Value>, keys: &[&str]) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Requires `application/json` or `text/json` (with any charset): else 415.
pub fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence == "text/json" {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be text/json or application/json, not {ct:?}"
        )))
    }
}
