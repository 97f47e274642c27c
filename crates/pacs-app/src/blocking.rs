//! Running the synchronous parts of a use case (the database ports, the DICOM
//! decoders) off the async workers, on tokio's blocking pool: the use cases
//! that touch the storage port are async, the rest of their work is not.

use crate::error::AppError;

/// Runs `f` where blocking is allowed and waits for it.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, AppError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal_from("a blocking step stopped", e))?
}
