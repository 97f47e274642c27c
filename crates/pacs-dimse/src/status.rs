//! The one place where failures become DIMSE statuses (PS3.7 Annex C, PS3.4
//! B.2.3), as `pacs-api/src/error.rs` is for HTTP. Server-side causes are
//! logged here once and never sent to the peer.

use pacs_app::AppError;

pub(crate) const SUCCESS: u16 = 0x0000;
/// Pending: a C-FIND match follows.
pub(crate) const PENDING: u16 = 0xFF00;
/// Refused: SOP Class not supported (a context accepted for a service we do not give).
pub(crate) const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
/// Unrecognized operation.
pub(crate) const UNRECOGNIZED_OPERATION: u16 = 0x0211;
/// Sub-operations complete, one or more failed (C-GET, C-MOVE).
pub(crate) const SUB_OPERATIONS_FAILED: u16 = 0xB000;
/// Refused: Move Destination unknown.
pub(crate) const MOVE_DESTINATION_UNKNOWN: u16 = 0xA801;
/// Processing failure.
pub(crate) const PROCESSING_FAILURE: u16 = 0x0110;
/// Refused: Out of Resources (the database or the medium is unavailable: try later).
pub(crate) const OUT_OF_RESOURCES: u16 = 0xA700;
/// Error: Cannot understand.
pub(crate) const CANNOT_UNDERSTAND: u16 = 0xC000;

/// A status and the Error Comment that explains it to the peer.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub status: u16,
    pub comment: Option<String>,
}

impl Outcome {
    pub fn success() -> Self {
        Self {
            status: SUCCESS,
            comment: None,
        }
    }

    pub fn failure(status: u16, comment: impl Into<String>) -> Self {
        Self {
            status,
            comment: Some(comment.into()),
        }
    }
}

impl From<AppError> for Outcome {
    fn from(e: AppError) -> Self {
        match &e {
            AppError::Invalid { .. }
            | AppError::NotFound { .. }
            | AppError::Conflict { .. }
            | AppError::Unprocessable { .. } => Outcome::failure(CANNOT_UNDERSTAND, e.to_string()),
            AppError::Unavailable { .. } => {
                log::error!("DIMSE request failed: {}", chain(&e));
                Outcome::failure(
                    OUT_OF_RESOURCES,
                    "the archive is unavailable, try again later",
                )
            }
            AppError::Internal { .. } => {
                log::error!("DIMSE request failed: {}", chain(&e));
                Outcome::failure(PROCESSING_FAILURE, "internal error")
            }
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
