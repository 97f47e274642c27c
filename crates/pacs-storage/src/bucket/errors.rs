//! The service's failures as the port's: a missing key is `NotFound`; a
//! service that cannot be reached, refuses our credentials, has no such bucket
//! or fails on its side is `Unavailable`; anything else is `Io`.

use std::io;

use pacs_domain::model::MediumName;
use pacs_domain::ports::{Cause, StorageError};
use s3::error::S3Error;

/// An answer of the service other than 2xx, kept without its body: error
/// documents echo keys and, for signature errors, the access key id.
#[derive(Debug)]
pub(crate) struct ServiceAnswer {
    pub(crate) status: u16,
    /// The S3 error code (`NoSuchKey`, `PreconditionFailed`...), when the body had one.
    pub(crate) code: Option<String>,
}

impl ServiceAnswer {
    fn from_body(status: u16, body: &str) -> Self {
        let code = body
            .split_once("<Code>")
            .and_then(|(_, rest)| rest.split_once("</Code>"))
            .map(|(code, _)| code.trim())
            .filter(|c| {
                !c.is_empty() && c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric())
            })
            .map(str::to_owned);
        Self { status, code }
    }
}

impl std::fmt::Display for ServiceAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the S3 service answered HTTP {}", self.status)?;
        match &self.code {
            Some(code) => write!(f, " ({code})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for ServiceAnswer {}

/// The HTTP status of a failed request, if the service answered.
pub(crate) fn status_of(e: &S3Error) -> Option<u16> {
    match e {
        S3Error::HttpFailWithBody(status, _) => Some(*status),
        _ => None,
    }
}

pub(crate) fn unavailable(medium: &MediumName, cause: impl Into<Cause>) -> StorageError {
    StorageError::Unavailable {
        medium: medium.to_string(),
        cause: cause.into(),
    }
}

/// Maps a failed request about `key` (empty when it concerned no object).
pub(crate) fn storage_error(medium: &MediumName, key: &str, e: S3Error) -> StorageError {
    match e {
        S3Error::HttpFailWithBody(status, body) => {
            let answer = ServiceAnswer::from_body(status, &body);
            let no_bucket = answer.code.as_deref() == Some("NoSuchBucket");
            match status {
                404 if !no_bucket && !key.is_empty() => StorageError::NotFound(key.to_owned()),
                // Unreachable, overloaded, refusing our signature, or the bucket is gone.
                401 | 403 | 404 | 408 | 429 | 500..=599 => unavailable(medium, answer),
                _ => StorageError::Io(io::Error::other(answer)),
            }
        }
        S3Error::Reqwest(_) | S3Error::HttpFail | S3Error::Credentials(_) => unavailable(medium, e),
        S3Error::Io(e) => StorageError::Io(e),
        other => StorageError::Io(io::Error::other(other)),
    }
}

/// A request that got no answer in time.
pub(crate) fn timed_out(medium: &MediumName, what: &str) -> StorageError {
    unavailable(
        medium,
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: no answer in time"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_their_code_and_drop_their_body() {
        let body = "<Error><Code>SignatureDoesNotMatch</Code>\
                    <AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId></Error>";
        let medium = MediumName::new("b").unwrap();
        let e = storage_error(&medium, "k", S3Error::HttpFailWithBody(403, body.into()));
        let StorageError::Unavailable { cause, .. } = e else {
            panic!("403 is Unavailable");
        };
        assert_eq!(
            cause.to_string(),
            "the S3 service answered HTTP 403 (SignatureDoesNotMatch)"
        );
        let missing = storage_error(&medium, "k", S3Error::HttpFailWithBody(404, String::new()));
        assert!(matches!(missing, StorageError::NotFound(k) if k == "k"));
        let no_bucket = "<Error><Code>NoSuchBucket</Code></Error>";
        let gone = storage_error(
            &medium,
            "k",
            S3Error::HttpFailWithBody(404, no_bucket.into()),
        );
        assert!(matches!(gone, StorageError::Unavailable { .. }));
        let odd = storage_error(&medium, "k", S3Error::HttpFailWithBody(400, "x".into()));
        assert!(matches!(odd, StorageError::Io(_)));
    }
}
