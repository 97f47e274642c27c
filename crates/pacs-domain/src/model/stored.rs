//! What the archive keeps of a stored object and where its bytes are.

use std::time::SystemTime;

use super::{InstanceHeader, PatientAttributes, StudyAttributes};
use crate::ids::{
    AeTitle, SeriesInstanceUid, SopClassUid, SopInstanceUid, StudyInstanceUid, TransferSyntaxUid,
};

/// What a storage medium is: the relocation API names the two apart
/// (`physicalMediumName`, `bucketName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediumKind {
    /// A directory on a filesystem (a "physical medium").
    Filesystem,
    /// An S3-compatible bucket.
    Bucket,
}

/// Name of a storage medium (a filesystem "physical medium" or an S3 bucket).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediumName(String);

impl MediumName {
    pub fn new(raw: &str) -> Result<Self, crate::ids::IdError> {
        crate::ids::TenantName::new(raw)
            .map(|t| Self(t.as_str().to_owned()))
            .map_err(|e| e.of_kind("medium name"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MediumName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a stored object's bytes live, with what the archive verified of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobLocation {
    pub medium: MediumName,
    /// Medium-relative key (a relative path or an object key); never rewritten.
    pub key: String,
    pub size: u64,
    /// SHA-1 of the bytes, lower-case hex.
    pub sha1: String,
}

/// An instance ready to be indexed: its header, its stored bytes, who sent it.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub header: InstanceHeader,
    pub blob: BlobLocation,
    pub calling_aet: AeTitle,
    pub received_at: SystemTime,
    /// The slide file of a pathology object, stored beside it.
    pub slide: Option<super::SlideFile>,
}

/// What indexing one instance did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOutcome {
    /// A new live instance.
    Stored,
    /// The same SOP Instance UID with the same content was already stored.
    AlreadyStored,
    /// Refused; the text says why (e.g. same SOP Instance UID, other content).
    Conflict(String),
    /// Refused by [`super::StorePolicy::admit`]; the text says why.
    NotAdmitted(String),
    /// Refused by [`super::StorePolicy::unique_barcodes`]: the instance `holder`
    /// already carries this Container Identifier.
    BarcodeTaken {
        barcode: String,
        holder: crate::ids::SopInstanceUid,
    },
}

impl StoreOutcome {
    /// Why the instance was refused, if it was.
    pub fn refusal(&self) -> Option<String> {
        match self {
            StoreOutcome::Stored | StoreOutcome::AlreadyStored => None,
            StoreOutcome::Conflict(why) | StoreOutcome::NotAdmitted(why) => Some(why.clone()),
            StoreOutcome::BarcodeTaken { barcode, holder } => Some(format!(
                "ContainerIdentifier {barcode} already identifies another slide (SOP Instance \
                 UID {holder})"
            )),
        }
    }
}

/// A stored, live instance as retrieval needs it: its location and the current
/// patient and study values of the database.
#[derive(Debug, Clone)]
pub struct StoredInstance {
    pub study_uid: StudyInstanceUid,
    pub series_uid: SeriesInstanceUid,
    pub sop_uid: SopInstanceUid,
    pub sop_class: SopClassUid,
    pub transfer_syntax: TransferSyntaxUid,
    pub instance_number: Option<i32>,
    pub number_of_frames: Option<i32>,
    pub rows: Option<i32>,
    pub columns: Option<i32>,
    /// Image Type values joined by `\` (e.g. `…\THUMBNAIL` for a slide's thumbnail).
    pub image_type: Option<String>,
    pub total_pixel_matrix_rows: Option<i32>,
    pub total_pixel_matrix_columns: Option<i32>,
    pub frame_index: Option<super::FrameIndex>,
    pub container_identifier: Option<String>,
    /// The slide file, for pathology objects uploaded as scanner files.
    pub slide: Option<super::SlideFile>,
    pub blob: BlobLocation,
    /// `header_fingerprint` of the database's patient and study values when the
    /// instance was stored.
    pub ingest_fingerprint: String,
    pub pixel_data_offset: Option<u64>,
    pub patient: PatientAttributes,
    pub study: StudyAttributes,
    /// The stored header as DICOM JSON, when asked for (WADO-RS metadata).
    pub header_json: Option<String>,
}

impl StoredInstance {
    /// True while no patient or study value of this instance was corrected since
    /// it was stored: the stored file is then returned exactly as received.
    pub fn uncorrected(&self) -> bool {
        self.ingest_fingerprint == super::header_fingerprint(&self.patient, &self.study)
    }
}
