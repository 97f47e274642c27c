//! What a bucket medium is configured with, and the rust-s3 client built from it.

use std::path::PathBuf;

use pacs_domain::model::MediumName;
use pacs_domain::ports::StorageError;
use s3::creds::Credentials;
use s3::{Bucket, Region};

use super::errors::unavailable;

/// One `[[storage.buckets]]` entry: where the bucket is and how to sign for it.
#[derive(Clone, Default)]
pub struct BucketSettings {
    /// The service's base URL (`http://127.0.0.1:9000`); empty for AWS itself,
    /// whose endpoint follows from `region`.
    pub endpoint: String,
    /// The signing region (`us-east-1` when empty).
    pub region: String,
    /// The bucket's name.
    pub bucket: String,
    /// The access key id; `None` (with `secret_key` `None`): from the
    /// environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`).
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// `http://host/bucket/key` (most self-hosted services) rather than
    /// `http://bucket.host/key` (AWS's default).
    pub path_style: bool,
    /// Local directory whose `.staging` subdirectory holds the bytes being
    /// received until they are uploaded (room for the largest object in
    /// flight). `None`: `pacs-bucket-<medium>` in the system's temporary
    /// directory. `clean_staging` sweeps it at startup like a filesystem
    /// medium's root.
    pub staging_dir: Option<PathBuf>,
}

/// Never prints the keys.
impl std::fmt::Debug for BucketSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let credentials = match (&self.access_key, &self.secret_key) {
            (Some(_), Some(_)) => "configured",
            (None, None) => "from the environment",
            _ => "incomplete",
        };
        f.debug_struct("BucketSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("credentials", &credentials)
            .field("path_style", &self.path_style)
            .field("staging_dir", &self.staging_dir)
            .finish()
    }
}

/// An empty value in the configuration means "not given".
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

impl BucketSettings {
    pub(crate) fn region(&self) -> Result<Region, String> {
        let name = if self.region.is_empty() {
            "us-east-1"
        } else {
            self.region.as_str()
        };
        if self.endpoint.is_empty() {
            name.parse::<Region>()
                .map_err(|e| format!("region {name}: {e}"))
        } else {
            Ok(Region::Custom {
                region: name.to_owned(),
                endpoint: self.endpoint.trim_end_matches('/').to_owned(),
            })
        }
    }

    /// From the configuration when both keys are there, else from the
    /// standard AWS environment variables. The error names no key.
    pub(crate) fn credentials(&self) -> Result<Credentials, String> {
        match (given(&self.access_key), given(&self.secret_key)) {
            (Some(access), Some(secret)) => {
                Credentials::new(Some(access), Some(secret), None, None, None)
                    .map_err(|_| "the configured keys were refused".to_owned())
            }
            (None, None) => Credentials::from_env().map_err(|_| {
                "no access_key/secret_key configured, and AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY are not both set"
                    .to_owned()
            }),
            _ => Err("access_key and secret_key go together: one is missing".to_owned()),
        }
    }

    /// The rust-s3 client of this bucket.
    pub(crate) fn client(&self, medium: &MediumName) -> Result<Box<Bucket>, StorageError> {
        let fail = |why: String| unavailable(medium, why);
        if self.bucket.is_empty() {
            return Err(fail("no bucket name".to_owned()));
        }
        let region = self.region().map_err(fail)?;
        let credentials = self.credentials().map_err(fail)?;
        let bucket =
            Bucket::new(&self.bucket, region, credentials).map_err(|e| unavailable(medium, e))?;
        Ok(if self.path_style {
            bucket.with_path_style()
        } else {
            bucket
        })
    }

    pub(crate) fn staging_root(&self, medium: &MediumName) -> PathBuf {
        self.staging_dir.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("pacs-bucket-{}", medium.as_str()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BucketSettings {
        BucketSettings {
            endpoint: "http://127.0.0.1:9000/".into(),
            region: String::new(),
            bucket: "pacs".into(),
            access_key: Some("AKIDEXAMPLE".into()),
            secret_key: Some("wJalrXUtnFEMI".into()),
            path_style: true,
            staging_dir: None,
        }
    }

    #[test]
    fn debug_output_names_no_key() {
        let shown = format!("{:?}", settings());
        assert!(!shown.contains("AKIDEXAMPLE") && !shown.contains("wJalrXUtnFEMI"));
        assert!(shown.contains("configured"), "{shown}");
    }

    #[test]
    fn both_styles_address_the_bucket() {
        let medium = MediumName::new("b1").unwrap();
        let path = settings().client(&medium).unwrap();
        assert_eq!(path.url(), "http://127.0.0.1:9000/pacs");
        let host = BucketSettings {
            path_style: false,
            ..settings()
        }
        .client(&medium)
        .unwrap();
        assert_eq!(host.url(), "http://pacs.127.0.0.1:9000");
        // AWS itself: the endpoint follows from the region.
        let aws = BucketSettings {
            endpoint: String::new(),
            region: "eu-central-1".into(),
            path_style: false,
            ..settings()
        }
        .client(&medium)
        .unwrap();
        assert_eq!(aws.url(), "https://pacs.s3.eu-central-1.amazonaws.com");
    }

    #[test]
    fn one_key_without_the_other_is_refused() {
        let medium = MediumName::new("b1").unwrap();
        let half = BucketSettings {
            secret_key: None,
            ..settings()
        };
        let err = half.client(&medium).unwrap_err();
        assert!(matches!(err, StorageError::Unavailable { .. }));
        let empty = BucketSettings {
            bucket: String::new(),
            ..settings()
        };
        assert!(empty.client(&medium).is_err());
    }
}
