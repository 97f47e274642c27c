//! Bulk data values (PS3.18 §8.7.3.3.2): what WADO-RS metadata leaves out and
//! points at with a `BulkDataURI`, read back from the stored object.

use std::io::{Read, Seek};

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use dicom_object::InMemDicomObject;

use crate::error::DicomError;
use crate::parse::open_header;

/// Where a bulk value sits: through these sequences (tag, item from 0), then
/// the attribute `tag` of the last item (or of the data set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPath {
    pub sequences: Vec<(Tag, usize)>,
    pub tag: Tag,
}

/// The value a [`BulkPath`] names in a stored object, as little-endian bytes
/// (what a bulk data part carries); `None` when the object has none there.
/// Only values before Pixel Data: the header is read up to it, never the
/// pixel data itself (that is read frame by frame).
pub fn read_bulk_value<R: Read + Seek>(
    mut r: R,
    path: &BulkPath,
) -> Result<Option<Vec<u8>>, DicomError> {
    let first = path.sequences.first().map_or(path.tag, |(t, _)| *t);
    if first >= tags::PIXEL_DATA {
        return Ok(None);
    }
    let obj = open_header(&mut r)?;
    let mut set: &InMemDicomObject = &obj;
    for (seq, n) in &path.sequences {
        let Some(item) = set
            .element(*seq)
            .ok()
            .and_then(|e| e.items())
            .and_then(|items| items.get(*n))
        else {
            return Ok(None);
        };
        set = item;
    }
    let Ok(element) = set.element(path.tag) else {
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
        let path = BulkPath {
            sequences: Vec::new(),
            tag: tags::PIXEL_DATA,
        };
        assert!(matches!(read_bulk_value(empty, &path), Ok(None)));
    }
}
