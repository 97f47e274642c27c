//! Typed identifiers, each parsed once at the edge by its only constructor.

mod names;
mod uid;

pub use names::{AeTitle, PatientId, TenantName};
pub use uid::{
    MAX_UID_LEN, SeriesInstanceUid, SopClassUid, SopInstanceUid, StudyInstanceUid,
    TransferSyntaxUid, validate_uid,
};

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} is {len} characters long, at most {max} are allowed")]
    TooLong {
        kind: &'static str,
        max: usize,
        len: usize,
    },
    #[error("{kind} is not valid: {reason}")]
    Invalid {
        kind: &'static str,
        reason: &'static str,
    },
}

impl IdError {
    /// The same error, naming the attribute it was found in.
    pub fn of_kind(self, kind: &'static str) -> Self {
        match self {
            IdError::Empty { .. } => IdError::Empty { kind },
            IdError::TooLong { max, len, .. } => IdError::TooLong { kind, max, len },
            IdError::Invalid { reason, .. } => IdError::Invalid { kind, reason },
        }
    }
}
