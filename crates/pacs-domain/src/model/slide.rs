//! Slides stored as the scanner wrote them (pathology): the file, and what
//! kind of file it is.

use super::BlobLocation;

/// What a stored slide file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlideKind {
    /// One file (.svs, .ndpi, .tiff, …), returned as stored.
    File,
    /// A zip of a MIRAX `.mrxs` index and its data folder, returned as stored.
    Mirax,
}

impl SlideKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SlideKind::File => "file",
            SlideKind::Mirax => "mirax",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "file" => Some(SlideKind::File),
            "mirax" => Some(SlideKind::Mirax),
            _ => None,
        }
    }
}

/// A slide file kept beside its generated DICOM object ("sidecar").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlideFile {
    pub kind: SlideKind,
    pub blob: BlobLocation,
    /// The name it is downloaded under (the uploaded file's name).
    pub name: String,
}

/// One level of a slide's specimen hierarchy, as the sender describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecimenLevel {
    pub identifier: Option<String>,
    pub alias: Option<String>,
    pub procedure: Option<String>,
    pub body_site: Option<String>,
    /// The stain's code (slides), in the sender's own coding scheme.
    pub stain_code: Option<String>,
}

/// Where a slide comes from: the specimen taken from the patient, the block
/// cut from it, and the slide cut from the block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecimenHierarchy {
    pub specimen: Option<SpecimenLevel>,
    pub block: Option<SpecimenLevel>,
    pub slide: Option<SpecimenLevel>,
}

/// What the archive knows of an uploaded slide file once it is staged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlideFacts {
    pub kind: SlideKind,
    /// The uploaded file's name (ReferencedFileID, Content-Disposition).
    pub file_name: String,
    pub size: u64,
    /// SHA-1 of the whole file, lower-case hex.
    pub sha1: String,
}
