//! Maps diesel errors into the ports' error type, keeping diesel's error as
//! the cause.

use diesel::result::{DatabaseErrorKind, Error};
use pacs_domain::ports::RepositoryError;

pub(crate) fn map_err(e: Error) -> RepositoryError {
    match &e {
        Error::NotFound => RepositoryError::NotFound("no such row".into()),
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            RepositoryError::Conflict(info.message().to_owned())
        }
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
            RepositoryError::unavailable(e)
        }
        _ => RepositoryError::internal(e),
    }
}
