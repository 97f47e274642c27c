//! Reading element values of a data set: text without its padding, integers,
//! the number of frames.

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// Text of an element, trimmed of padding; `None` when absent or empty.
/// (`get`, not `element_opt`: the latter builds an error, with a captured
/// backtrace, for every absent attribute.)
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let elem = obj.get(tag)?;
    // An attribute sent with VR UN (explicit VR files of unknown dictionaries)
    // holds its text as raw bytes.
    let value = if elem.vr() == VR::UN {
        std::borrow::Cow::Owned(String::from_utf8_lossy(&elem.to_bytes().ok()?).into_owned())
    } else {
        elem.to_str().ok()?
    };
    let trimmed = value.trim_matches(|c: char| c == ' ' || c == '\0');
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

pub(crate) fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i32> {
    let elem = obj.get(tag)?;
    elem.to_int::<i32>()
        .ok()
        .or_else(|| elem.to_str().ok()?.trim().parse().ok())
}

/// Number of Frames; 1 when absent or not positive (a single-frame image).
pub(crate) fn frame_count(obj: &InMemDicomObject) -> u32 {
    int(obj, tags::NUMBER_OF_FRAMES)
        .filter(|n| *n > 0)
        .unwrap_or(1) as u32
}
