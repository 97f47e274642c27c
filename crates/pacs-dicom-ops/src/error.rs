//! Errors of DICOM reading and writing.

use pacs_domain::ids::IdError;

/// Why a DICOM object could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DicomError {
    /// The bytes do not start with a 128-byte preamble and `DICM` (PS3.10 §7.1).
    #[error("not a DICOM Part 10 file: {0}")]
    NotPart10(String),
    #[error("invalid File Meta Information: {0}")]
    BadMeta(String),
    #[error("cannot parse the DICOM data set: {0}")]
    Parse(String),
    #[error("mandatory attribute {0} is missing")]
    Missing(&'static str),
    /// A value longer than its VR can carry in Explicit VR (a 16-bit length):
    /// the object could not be written again (corrections, KOS, transcoding).
    #[error("{tag} {keyword} is {bytes} bytes long; a {vr} value holds at most 65,534")]
    ValueTooLong {
        tag: String,
        keyword: String,
        vr: String,
        bytes: usize,
    },
    #[error(transparent)]
    InvalidId(#[from] IdError),
    #[error("I/O error while reading DICOM: {0}")]
    Io(String),
    #[error("cannot encode DICOM: {0}")]
    Encode(String),
    /// The pixel data cannot be decoded (e.g. 12-bit JPEG Extended).
    #[error("cannot render the pixel data: {0}")]
    CannotRender(String),
    /// A slide's metadata names an unknown keyword or an invalid value.
    #[error("invalid metadata: {0}")]
    Metadata(String),
    /// A sidecar that is not one of this archive's pathology objects.
    #[error("the sidecar is not one of this archive's pathology objects: {0}")]
    NotOurSidecar(String),
    /// A MIRAX zip that is unsafe or not a MIRAX slide.
    #[error("{0}")]
    Archive(String),
    /// A MIRAX zip without its `.mrxs` index (the source document's message).
    #[error("{0}")]
    NoMrxs(String),
    #[error("the object has no pixel data")]
    NoPixelData,
    #[error("frame {asked} does not exist (the object has {frames})")]
    NoSuchFrame { asked: u32, frames: u32 },
}

impl From<std::io::Error> for DicomError {
    fn from(e: std::io::Error) -> Self {
        DicomError::Io(e.to_string())
    }
}
