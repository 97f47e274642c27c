//! Writing the database's current values into a header at retrieval time.

use std::io::{Read, Seek};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use pacs_domain::model::{PatientAttributes, StudyAttributes};

use crate::charset::normalize_code_extensions;
use crate::error::DicomError;
use crate::layout::Encoding;
use crate::overrides::OVERRIDES;
use crate::parse::{open_header, open_whole, transfer_syntax_of};
use crate::values::text;

/// A corrected header and where the rest of the stored bytes resume.
#[derive(Debug)]
pub struct RewrittenHeader {
    /// Preamble, File Meta and the corrected data set up to Pixel Data (or the
    /// whole corrected object when `resume_at` is `None`).
    pub bytes: Vec<u8>,
    /// Offset in the stored file from which the bytes after `bytes` are copied
    /// unchanged (the Pixel Data element), or `None` when `bytes` is everything.
    pub resume_at: Option<u64>,
}

fn apply(obj: &mut InMemDicomObject, patient: &PatientAttributes, study: &StudyAttributes) {
    let mut non_ascii = false;
    for (tag, vr, get) in OVERRIDES.iter() {
        match get(patient, study) {
            Some(v) => {
                non_ascii |= !v.is_ascii();
                obj.put(DataElement::new(*tag, *vr, PrimitiveValue::from(v)));
            }
            None => {
                if obj.get(*tag).is_some() {
                    obj.put(DataElement::new(*tag, *vr, PrimitiveValue::Empty));
                }
            }
        }
    }
    // A corrected value the declared character set cannot hold: switch the object
    // to UTF-8; the writer re-encodes every text value accordingly.
    let charset = text(obj, tags::SPECIFIC_CHARACTER_SET).unwrap_or_default();
    if non_ascii && charset != "ISO_IR 192" {
        obj.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from("ISO_IR 192"),
        ));
    }
}

/// Builds the header a retrieval returns for a stored object whose patient or
/// study values were corrected in the database. The stored file is not changed.
///
/// With a known Pixel Data offset and a non-deflated transfer syntax only the
/// header is re-encoded and the caller copies the pixel data from the file;
/// otherwise the whole object is re-encoded in memory (deflated or pixel-less
/// objects, which are small).
pub fn rewrite_header<R: Read + Seek>(
    mut r: R,
    pixel_data_offset: Option<u64>,
    patient: &PatientAttributes,
    study: &StudyAttributes,
) -> Result<RewrittenHeader, DicomError> {
    let mut file = open_header(&mut r)?;
    let ts = transfer_syntax_of(&file);
    let splice = pixel_data_offset.filter(|_| Encoding::of_transfer_syntax(&ts).is_some());
    if splice.is_none() {
        file = open_whole(&mut r, 64 * 1024)?;
        normalize_code_extensions(&mut file);
    }
    apply(&mut file, patient, study);
    let mut bytes = Vec::with_capacity(16 * 1024);
    file.write_all(&mut bytes)
        .map_err(|e| DicomError::Encode(e.to_string()))?;
    Ok(RewrittenHeader {
        bytes,
        resume_at: splice,
    })
}
