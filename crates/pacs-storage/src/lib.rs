//! # pacs-storage
//!
//! Blob-store adapters of the pacs archive: filesystem "physical media"
//! ([`FsMedium`]) and S3-compatible buckets ([`S3Bucket`], `bucket/`). This is
//! the only crate that knows paths and object keys; both kinds of media use the
//! same keys (`keys.rs`), so an object has the same name on disk and in a bucket.
//!
//! Every write is staged, then committed: made durable and placed under a key
//! derived from what the object is and a digest of its content, so that a
//! stored object is never rewritten:
//!
//! ```
//! use futures_util::StreamExt;
//! use pacs_domain::ids::TenantName;
//! use pacs_domain::model::MediumName;
//! use pacs_domain::ports::{BlobStore, ByteRange, ObjectName};
//! use pacs_storage::FsMedium;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let medium = FsMedium::open(MediumName::new("local").unwrap(), dir.path(), true).unwrap();
//! let body = futures_util::stream::iter([Ok(bytes::Bytes::from_static(b"DICM"))]);
//! let staged = medium.stage(Box::pin(body)).await.unwrap();
//! let name = ObjectName {
//!     tenant: TenantName::new("default").unwrap(),
//!     groups: vec!["1.2.3".into()],
//!     name: "1.2.3.4".into(),
//!     sha1: staged.sha1().to_owned(),
//! };
//! let blob = medium.commit(vec![(staged, name)]).await.unwrap().remove(0);
//! assert!(blob.created);
//! assert_eq!(medium.len(&blob.key).await.unwrap(), 4);
//! let mut read = medium.read(&blob.key, ByteRange::new(1, 2)).await.unwrap();
//! assert_eq!(&read.next().await.unwrap().unwrap()[..], b"IC");
//! # });
//! ```

mod bucket;
mod fs;
mod keys;
mod orphans;
mod reading;
pub mod slices;
mod staging;

pub use bucket::{BucketSettings, S3Bucket};
pub use fs::{FsMedium, clean_staging};
pub use orphans::{Referenced, sweep_orphans};
