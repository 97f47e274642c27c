//! Attribute names: DICOM keywords and tags (dicom-dictionary-std).

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;

/// The tag named by a keyword (`PatientName`) or by 8 hex digits (`00100010`).
pub fn parse_attribute(name: &str) -> Option<Tag> {
    let name = name.trim();
    if name.len() == 8 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        let n = u32::from_str_radix(name, 16).ok()?;
        return Some(Tag((n >> 16) as u16, (n & 0xFFFF) as u16));
    }
    StandardDataDictionary.by_name(name).map(|e| e.tag())
}

/// The keyword of a tag, when the standard dictionary knows it.
pub fn keyword_of(tag: Tag) -> Option<&'static str> {
    StandardDataDictionary.by_tag(tag).map(|e| e.alias())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_hex_tags() {
        assert_eq!(parse_attribute("PatientName"), Some(Tag(0x0010, 0x0010)));
        assert_eq!(parse_attribute("0020000D"), Some(Tag(0x0020, 0x000D)));
        assert_eq!(parse_attribute("NoSuchKeyword"), None);
        assert_eq!(keyword_of(Tag(0x0008, 0x0018)), Some("SOPInstanceUID"));
    }
}
