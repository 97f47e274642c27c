//! # pacs-dicom-ops
//!
//! Everything the pacs archive does to DICOM data, sans-IO: readers and byte
//! buffers in, domain values and bytes out. This is the only crate that knows
//! dicom-rs.
//!
//! - [`read_header`]: what the index keeps of a received Part 10 file;
//! - [`rewrite_header`]: the header a retrieval returns after corrections;
//! - [`render_qido`] / [`corrected_metadata`]: DICOM JSON answers;
//! - [`parse_attribute`]: keywords and tags.
//!
//! ```no_run
//! let file = std::fs::File::open("CT_small.dcm").unwrap();
//! let header = pacs_dicom_ops::read_header(file).unwrap();
//! println!("{} in study {}", header.instance.sop_uid, header.study.study_uid);
//! ```

mod bulk;
mod charset;
pub mod commitment;
mod dictionary;
pub mod dimse;
mod error;
pub mod find;
mod frames;
mod json;
mod kos;
mod layout;
mod overrides;
pub mod parse;
mod pathology;
mod render;
mod rewrite;
mod values;
pub mod worklist;

pub use bulk::{BulkPath, read_bulk_value};
pub use dicom_core::Tag;
pub use dictionary::{keyword_of, parse_attribute};
pub use error::DicomError;
pub use frames::read_frame;
pub use json::{
    IncludeFields, QidoOptions, corrected_metadata, json_array, render_qido, tag_key,
    with_bulk_references,
};
pub use kos::{KosInput, KosReference, ReferenceKind, build_kos, write_part10};
pub use layout::{Encoding, PixelLayout, dataset_start, pixel_data_offset, pixel_layout};
pub use parse::read_header;
pub use pathology::{
    MiraxCheck, MiraxLimits, PATHOLOGY_SOP_CLASS, Sidecar, SidecarUids, SlideDescription,
    SlideMetadata, ZipEntry, build_sidecar, check_mirax, read_sidecar, write_stored_zip,
};
pub use render::{
    ImageFormat, RenderSpec, decode_native_frame, decode_native_frames, encode_jpeg, encode_png,
    render_image,
};
pub use rewrite::{RewrittenHeader, rewrite_header};
