//! What a use case can fail with, and every machine-readable error code the
//! archive answers with. `pacs-api` maps both to HTTP in one place.

use pacs_dicom_ops::DicomError;
use pacs_domain::ids::IdError;
use pacs_domain::ports::{Cause, RepositoryError, StorageError};

/// Declares [`ErrorCode`] with its wire text, so the list exists once.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $text:literal,)*) => {
        /// The stable name of a failure, sent as `"error"` in every JSON error.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, for the API description.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }
        }
    };
}

error_codes! {
    // Requests the HTTP edge refuses before a use case runs.
    /// A request that is malformed as HTTP (path, header, body framing).
    BadRequest = "bad_request",
    /// The query string cannot be parsed.
    BadQueryString = "bad_query_string",
    /// No valid API key.
    Unauthorized = "unauthorized",
    /// The representation asked for in `Accept` cannot be produced.
    NotAcceptable = "not_acceptable",
    /// The body's `Content-Type` is not one the endpoint takes.
    UnsupportedMediaType = "unsupported_media_type",
    /// The body is larger than `server.max_body_bytes`.
    PayloadTooLarge = "payload_too_large",
    /// A byte range outside the content.
    RangeNotSatisfiable = "range_not_satisfiable",
    /// A multipart body without a boundary, or not multipart at all.
    NotMultipart = "not_multipart",
    /// A multipart body whose framing is broken.
    MalformedMultipart = "malformed_multipart",
    /// A multipart body without any part.
    NoParts = "no_parts",
    /// A part the endpoint does not know.
    UnknownPart = "unknown_part",
    /// A part whose headers or content are unusable.
    InvalidPart = "invalid_part",
    /// The body stopped before its end.
    IncompleteBody = "incomplete_body",

    // Invalid input.
    InvalidIdentifier = "invalid_identifier",
    InvalidParameter = "invalid_parameter",
    MissingParameter = "missing_parameter",
    InvalidField = "invalid_field",
    MissingField = "missing_field",
    InvalidQuery = "invalid_query",
    InvalidFrameList = "invalid_frame_list",
    InvalidCallingAet = "invalid_calling_aet",
    InvalidDicom = "invalid_dicom",
    InvalidMetadata = "invalid_metadata",
    InvalidSidecar = "invalid_sidecar",
    InvalidArchive = "invalid_archive",
    /// A slide archive without its `.mrxs` index.
    NoMrxs = "no_mrxs",
    MissingBarcode = "missing_barcode",
    /// A pathology upload whose length differs from the declared one.
    FileLengthMismatch = "file_length_mismatch",
    /// A pathology upload whose SHA-1 differs from the declared one.
    FileHashMismatch = "file_hash_mismatch",
    NoWholeSlide = "no_whole_slide",
    SeveralWholeSlides = "several_whole_slides",
    MultipleStudies = "multiple_studies",
    MultipleSeries = "multiple_series",
    MultiplePatients = "multiple_patients",
    MultipleSourcePatients = "multiple_source_patients",
    MultipleTargetPatients = "multiple_target_patients",
    PatientMismatch = "patient_mismatch",

    // A pathology upload's parts.
    ConflictingParts = "conflicting_parts",
    DuplicatePart = "duplicate_part",
    EmptyFile = "empty_file",
    InvalidFileHash = "invalid_file_hash",
    InvalidFileLength = "invalid_file_length",
    InvalidFileName = "invalid_file_name",
    MissingFileName = "missing_file_name",
    MissingPart = "missing_part",
    WrongSlideType = "wrong_slide_type",

    // Absent.
    NotFound = "not_found",
    PatientNotFound = "patient_not_found",
    SourcePatientNotFound = "source_patient_not_found",
    StudyNotFound = "study_not_found",
    SeriesNotFound = "series_not_found",
    OrderNotFound = "order_not_found",
    MediumNotFound = "medium_not_found",
    NoStudyForSource = "no_study_for_source",
    NoSuchFrame = "no_such_frame",
    NoPixelData = "no_pixel_data",

    // In conflict with what the archive holds.
    Conflict = "conflict",
    PatientExists = "patient_exists",
    OrderExists = "order_exists",
    /// Another slide carries the barcode.
    BarcodeInUse = "barcode_in_use",
    SlideConflict = "slide_conflict",
    LiveDataExists = "live_data_exists",
    DeprecationPending = "deprecation_pending",
    RelocationPending = "relocation_pending",
    /// A study in a bucket asked to go to another bucket.
    RelocationNotSupported = "relocation_not_supported",
    /// The bucket named does not exist or cannot be loaded.
    BucketError = "bucket_error",
    /// A relocation failed; the study stays where it was.
    SystemError = "system_error",

    // Well-formed, but beyond what the archive can do.
    CannotRender = "cannot_render",
    ImageTooLarge = "image_too_large",

    // The archive's own troubles.
    Unavailable = "unavailable",
    InternalError = "internal_error",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A use case's failure: client mistakes first, then the archive's own
/// troubles, whose cause is kept for the log and never shown to clients.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed input.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    #[error("{message}")]
    NotFound { code: ErrorCode, message: String },
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    /// Well-formed, but the archive cannot do it (e.g. render 12-bit JPEG).
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    /// A dependency (database, medium) is down.
    #[error("{message}")]
    Unavailable {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// A bug or an unexpected failure; details are logged, not shown.
    #[error("{message}")]
    Internal {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl AppError {
    pub fn invalid(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// An unexpected failure described by `message` alone.
    pub fn internal(message: impl Into<String>) -> Self {
        AppError::Internal {
            message: message.into(),
            cause: None,
        }
    }

    /// An unexpected failure with the error that caused it.
    pub fn internal_from(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        AppError::Internal {
            message: message.into(),
            cause: Some(Box::new(cause)),
        }
    }

    /// The code clients receive.
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Invalid { code, .. }
            | AppError::NotFound { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Unprocessable { code, .. } => *code,
            AppError::Unavailable { .. } => ErrorCode::Unavailable,
            AppError::Internal { .. } => ErrorCode::InternalError,
        }
    }

    /// The port or parser error of type `E` this failure came from, if any.
    pub fn caused_by<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            AppError::Unavailable { cause, .. } | AppError::Internal { cause, .. } => {
                cause.as_deref().and_then(|c| c.downcast_ref::<E>())
            }
            _ => None,
        }
    }
}

impl From<IdError> for AppError {
    fn from(e: IdError) -> Self {
        AppError::invalid(ErrorCode::InvalidIdentifier, e.to_string())
    }
}

impl From<RepositoryError> for AppError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::NotFound(m) => AppError::not_found(ErrorCode::NotFound, m),
            RepositoryError::Conflict(m) => AppError::conflict(ErrorCode::Conflict, m),
            RepositoryError::Unavailable(_) => AppError::Unavailable {
                message: "the database is unavailable".into(),
                cause: Some(Box::new(e)),
            },
            RepositoryError::Internal(_) => AppError::internal_from("database error", e),
        }
    }
}

impl From<StorageError> for AppError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(ref k) => {
                AppError::internal_from(format!("stored object {k} is missing"), e)
            }
            StorageError::Unavailable { ref medium, .. } => AppError::Unavailable {
                message: format!("storage medium {medium} is unavailable"),
                cause: Some(Box::new(e)),
            },
            StorageError::Io(_) => AppError::internal_from("storage error", e),
            StorageError::Source(ref m) => AppError::invalid(
                ErrorCode::IncompleteBody,
                format!("the body could not be received: {m}"),
            ),
        }
    }
}

impl From<DicomError> for AppError {
    fn from(e: DicomError) -> Self {
        match e {
            DicomError::Io(_) => AppError::internal_from("reading DICOM", e),
            DicomError::Encode(_) => AppError::internal_from("writing DICOM", e),
            DicomError::CannotRender(m) => AppError::Unprocessable {
                code: ErrorCode::CannotRender,
                message: m,
            },
            DicomError::Metadata(m) => AppError::invalid(ErrorCode::InvalidMetadata, m),
            DicomError::NotOurSidecar(_) => {
                AppError::invalid(ErrorCode::InvalidSidecar, e.to_string())
            }
            DicomError::Archive(m) => AppError::invalid(ErrorCode::InvalidArchive, m),
            DicomError::NoMrxs(m) => AppError::invalid(ErrorCode::NoMrxs, m),
            other => AppError::invalid(ErrorCode::InvalidDicom, other.to_string()),
        }
    }
}

/// The codes of `POST /studies/createKos`, whose answers keep the source
/// document's own shape and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KosErrorCode {
    StudyNotFound,
    MalformedJson,
    InternalIoError,
    InternalSqlError,
    InternalDicomError,
    InternalGenericError,
}

impl KosErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            KosErrorCode::StudyNotFound => "STUDY_NOT_FOUND",
            KosErrorCode::MalformedJson => "MALFORMED_JSON",
            KosErrorCode::InternalIoError => "INTERNAL_IO_ERROR",
            KosErrorCode::InternalSqlError => "INTERNAL_SQL_ERROR",
            KosErrorCode::InternalDicomError => "INTERNAL_DICOM_ERROR",
            KosErrorCode::InternalGenericError => "INTERNAL_GENERIC_ERROR",
        }
    }
}
