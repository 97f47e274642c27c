//! What a use case can fail with. `pacs-api` maps these to HTTP in one place.

use pacs_dicom_ops::DicomError;
use pacs_domain::ids::IdError;
use pacs_domain::ports::{RepositoryError, StorageError};

/// A use case's failure: client mistakes first, then the archive's own troubles.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed input; `code` is a stable machine-readable name.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The request asks for a representation the archive cannot produce.
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed, but the archive cannot do it (e.g. render 12-bit JPEG).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A dependency (database, medium) is down.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; details are logged, not shown.
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        AppError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }
}

impl From<IdError> for AppError {
    fn from(e: IdError) -> Self {
        AppError::invalid("invalid_identifier", e.to_string())
    }
}

impl From<RepositoryError> for AppError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::NotFound(m) => AppError::not_found("not_found", m),
            RepositoryError::Conflict(m) => AppError::conflict("conflict", m),
            RepositoryError::Unavailable(m) => {
                AppError::Unavailable(format!("database unavailable: {m}"))
            }
            RepositoryError::Internal(m) => AppError::Internal(format!("database error: {m}")),
        }
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(k) => {
                AppError::Internal(format!("stored object {k} is missing"))
            }
            StorageError::Unavailable { .. } => AppError::Unavailable(e.to_string()),
            StorageError::Io(m) => AppError::Internal(format!("storage error: {m}")),
            StorageError::Source(m) => AppError::invalid(
                "incomplete_body",
                format!("the body could not be received: {m}"),
            ),
        }
    }
}

impl From<DicomError> for AppError {
    fn from(e: DicomError) -> Self {
        match e {
            DicomError::Io(m) => AppError::Internal(format!("reading DICOM: {m}")),
            DicomError::Encode(m) => AppError::Internal(format!("writing DICOM: {m}")),
            DicomError::CannotRender(m) => AppError::Unprocessable {
                code: "cannot_render",
                message: m,
            },
            DicomError::Metadata(m) => AppError::invalid("invalid_metadata", m),
            DicomError::NotOurSidecar(_) => AppError::invalid("invalid_sidecar", e.to_string()),
            DicomError::Archive(m) => AppError::invalid("invalid_archive", m),
            DicomError::NoMrxs(m) => AppError::invalid("no_mrxs", m),
            other => AppError::invalid("invalid_dicom", other.to_string()),
        }
    }
}
