//! Digital pathology: slides uploaded as the scanner wrote them, each kept
//! beside a DICOM object that describes it (indexed like any instance), and
//! the whole slide of a barcode.

mod uids;
mod upload;
mod whole_slide;

pub use pacs_dicom_ops::MiraxLimits;
pub use pacs_dicom_ops::SlideDescription;
pub use uids::derived_uid;
pub use upload::{SlideStored, SlideUpload};
pub use whole_slide::{WholeSlide, find_whole_slide, write_instances_zip};
