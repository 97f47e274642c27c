//! The one place where failures become HTTP answers:
//! `{"error": "<code>", "message": "<sentence>"}` with the matching status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use pacs_app::AppError;

use crate::wire::ErrorBody;

/// A JSON error answer.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: code.to_owned(),
        message: message.to_owned(),
    })
}

/// Wraps use-case errors (and a few HTTP-level ones) for actix.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError(AppError::Internal(format!("worker thread failed: {e}")))
    }
}

impl ApiError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError(AppError::invalid(code, message))
    }

    fn parts(&self) -> (StatusCode, &str) {
        match &self.0 {
            AppError::Invalid { code, .. } => (StatusCode::BAD_REQUEST, code),
            AppError::NotFound { code, .. } => (StatusCode::NOT_FOUND, code),
            AppError::Conflict { code, .. } => (StatusCode::CONFLICT, code),
            AppError::NotAcceptable(_) => (StatusCode::NOT_ACCEPTABLE, "not_acceptable"),
            AppError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            AppError::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            AppError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, code) = self.parts();
        // The full cause is logged once, here; the client gets no internals.
        let message = match &self.0 {
            AppError::Internal(detail) => {
                log::error!("internal error: {detail}");
                "an unexpected error occurred; it was logged".to_owned()
            }
            AppError::Unavailable(detail) => {
                log::warn!("dependency unavailable: {detail}");
                self.0.to_string()
            }
            other => other.to_string(),
        };
        error_response(status, code, &message)
    }
}

/// JSON errors for actix's own extractor failures (bad query strings, paths).
pub fn extractor_error(err: impl std::fmt::Display) -> actix_web::Error {
    let resp = error_response(StatusCode::BAD_REQUEST, "bad_request", &err.to_string());
    actix_web::error::InternalError::from_response(err.to_string(), resp).into()
}
