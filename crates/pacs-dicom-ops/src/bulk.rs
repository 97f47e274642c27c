//! Bulk data values (PS3.18 §8.7.3.3.2): what WADO-RS metadata leaves out and
//! points at with a `BulkDataURI`, read back from the stored object.

use std::io::{Read, Seek};

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use crate::error::DicomError;
use crate::parse::open_header;

/// The value of top-level attribute `tag` of a stored object as little-endian
/// bytes (what a bulk data part carries), `None` when the object has none.
/// Only attributes before Pixel Data: the header is read up to it, never the
/// pixel data itself (that is read frame by frame).
pub fn read_bulk_value<R: Read + Seek>(mut r: R, tag: Tag) -> Result<Option<Vec<u8>>, DicomError> {
    if tag >= tags::PIXEL_DATA {
        return Ok(None);
    }
    let obj = open_header(&mut r)?;
    let Ok(element) = obj.element(tag) else {
        return Ok(None);
    };
    // Primitive values hold numbers in the machine's order: little endian on
    // every target this archive is built for.
    Ok(element.value().to_bytes().ok().map(|b| b.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_data_and_later_tags_are_not_read_here() {
        let empty = std::io::Cursor::new(Vec::new());
        assert!(matches!(read_bulk_value(empty, tags::PIXEL_DATA), Ok(None)));
    }
}
