//! # pacs-domain
//!
//! The domain model of the pacs archive: the DICOM information model (patient,
//! study, series, instance), typed identifiers that are valid by construction, and
//! the ports (traits) through which use cases reach databases and storage.
//!
//! The crate does no I/O and depends on no database, web, DICOM or cloud library,
//! so other tools can reuse it as it is.
//!
//! ```
//! use pacs_domain::ids::{AeTitle, StudyInstanceUid};
//!
//! let study = StudyInstanceUid::new("1.2.840.113619.2.55.3").unwrap();
//! assert_eq!(study.as_str(), "1.2.840.113619.2.55.3");
//! // A leading zero in a component is not a valid UID (PS3.5 §9.1).
//! assert!(StudyInstanceUid::new("1.2.03").is_err());
//! // AE titles are at most 16 characters, padding is not significant.
//! assert_eq!(AeTitle::new(" STORESCU ").unwrap().as_str(), "STORESCU");
//! ```

pub mod ids;
pub mod model;
pub mod ports;
