//! The one place where failures become HTTP answers: use-case errors, the
//! HTTP edge's own refusals (representation, media type, size, range) and
//! the KOS endpoint's vendor shape. Every JSON error is
//! `{"error": "<code>", "message": "<sentence>"}` except KOS's
//! `{"success": false, "errorCode": "<CODE>"}`, as the source document has it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use pacs_app::kos::{KosError, KosErrorCode};
use pacs_app::{AppError, ErrorCode};

use crate::wire::ErrorBody;
use crate::wire::kos::KosResult;

/// A JSON error answer.
fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: code.as_str().to_owned(),
        message: message.to_owned(),
    })
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    /// No API key, or one that is not valid.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// `Accept` asks for a representation this resource does not have.
    #[error("{0}")]
    NotAcceptable(String),
    /// The body's `Content-Type` is not one the endpoint takes.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than `server.max_body_bytes`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A `Range` outside the `length` bytes of the content.
    #[error("the requested range is outside the {length} bytes of the content")]
    RangeNotSatisfiable { length: u64 },
    /// A `createKos` failure, answered in the vendor's shape.
    #[error(transparent)]
    Kos(#[from] KosError),
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::App(AppError::internal_from("a worker thread failed", e))
    }
}

impl ApiError {
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::App(AppError::invalid(code, message))
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::App(e) => match e {
                AppError::Invalid { .. } => StatusCode::BAD_REQUEST,
                AppError::NotFound { .. } => StatusCode::NOT_FOUND,
                AppError::Conflict { .. } => StatusCode::CONFLICT,
                AppError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Kos(e) => match e.code {
                KosErrorCode::StudyNotFound => StatusCode::NOT_FOUND,
                KosErrorCode::MalformedJson => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn code(&self) -> ErrorCode {
        match self {
            ApiError::App(e) => e.code(),
            ApiError::Unauthorized(_) => ErrorCode::Unauthorized,
            ApiError::NotAcceptable(_) => ErrorCode::NotAcceptable,
            ApiError::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            ApiError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            ApiError::RangeNotSatisfiable { .. } => ErrorCode::RangeNotSatisfiable,
            ApiError::Kos(_) => ErrorCode::InternalError,
        }
    }
}

/// `e` and its causes, outermost first, for the log.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status();
        // The full cause is logged once, here; the client gets no internals.
        if status.is_server_error() {
            log::error!("{status}: {}", chain(self));
        }
        match self {
            ApiError::Kos(e) => HttpResponse::build(status).json(KosResult {
                success: false,
                sop_instance_uid: None,
                error_code: Some(e.code.as_str()),
            }),
            ApiError::RangeNotSatisfiable { length } => {
                let mut resp = error_response(status, self.code(), &self.to_string());
                if let Ok(v) = header::HeaderValue::from_str(&format!("bytes */{length}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                resp
            }
            ApiError::App(AppError::Internal { .. }) => error_response(
                status,
                self.code(),
                "an unexpected error occurred; it was logged",
            ),
            _ => error_response(status, self.code(), &self.to_string()),
        }
    }
}

/// JSON errors for actix's own extractor failures (bad query strings, paths).
pub fn extractor_error(err: impl std::fmt::Display) -> actix_web::Error {
    let resp = error_response(
        StatusCode::BAD_REQUEST,
        ErrorCode::BadRequest,
        &err.to_string(),
    );
    actix_web::error::InternalError::from_response(err.to_string(), resp).into()
}
