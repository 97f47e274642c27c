//! # pacs-storage
//!
//! Blob-store adapters of the pacs archive: filesystem "physical media" and S3
//! buckets. This is the only crate that knows paths and object keys.
//!
//! Every write is staged, then committed: made durable and placed under a key
//! derived from what the object is and a digest of its content, so that a
//! stored object is never rewritten:
//!
//! ```
//! use std::io::Write;
//! use pacs_domain::ids::TenantName;
//! use pacs_domain::model::MediumName;
//! use pacs_domain::ports::{BlobStore, ObjectName};
//! use pacs_storage::FsMedium;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let medium = FsMedium::open(MediumName::new("local").unwrap(), dir.path(), true).unwrap();
//! let mut w = medium.begin().unwrap();
//! w.write_all(b"DICM").unwrap();
//! let staged = w.finish().unwrap();
//! let name = ObjectName {
//!     tenant: TenantName::new("default").unwrap(),
//!     groups: vec!["1.2.3".into()],
//!     name: "1.2.3.4".into(),
//!     sha1: staged.sha1().to_owned(),
//! };
//! let blob = medium.commit(vec![(staged, name)]).unwrap().remove(0);
//! assert!(blob.created);
//! assert_eq!(medium.open(&blob.key).unwrap().len(), 4);
//! ```

mod fs;
mod keys;

pub use fs::{FsMedium, clean_staging};
