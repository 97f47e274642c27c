//! C-FIND identifiers (PS3.4 C.4.1): the keys of a request, and a match of the
//! index written as a response identifier with exactly the keys asked for.
//!
//! A match is rendered by the same code as a QIDO-RS answer (DICOM JSON) and
//! turned into a data set by dicom-json, so both services return the same
//! values.

use std::collections::BTreeSet;

use dicom_core::dictionary::DataDictionary;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntax;
use dicom_transfer_syntax_registry::entries::{
    EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN,
};
use pacs_domain::model::{QueryLevel, QueryMatch};
use serde_json::Value;

use crate::error::DicomError;
use crate::json::{IncludeFields, QidoOptions, render_match};

/// Most bytes a C-FIND identifier may have.
pub const MAX_IDENTIFIER_BYTES: usize = 1024 * 1024;

/// The keys of a C-FIND request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindKeys {
    /// Query/Retrieve Level (0008,0052), trimmed (`PATIENT`, `STUDY`...).
    pub level: Option<String>,
    /// Every other key with its value as text (multiple values joined by `\`);
    /// empty for universal matching (and for sequences: returned, not matched).
    pub keys: Vec<(Tag, String)>,
    /// The keys in the first item of each sequence key (worklist queries
    /// match inside the Scheduled Procedure Step Sequence).
    pub items: Vec<(Tag, Vec<(Tag, String)>)>,
}

fn text_of(element: &dicom_object::mem::InMemElement) -> String {
    element
        .to_str()
        .map(|s| s.trim_matches(['\0', ' ']).to_owned())
        .unwrap_or_default()
}

/// The transfer syntax of an identifier and whether its VR is explicit:
/// queries travel in Implicit or Explicit VR Little Endian.
pub(crate) fn transfer_syntax(uid: &str) -> Result<(TransferSyntax, bool), DicomError> {
    match uid.trim_end_matches(['\0', ' ']) {
        "1.2.840.10008.1.2" => Ok((IMPLICIT_VR_LITTLE_ENDIAN.erased(), false)),
        "1.2.840.10008.1.2.1" => Ok((EXPLICIT_VR_LITTLE_ENDIAN.erased(), true)),
        other => Err(DicomError::Parse(format!(
            "identifier: transfer syntax {other} is not accepted for queries"
        ))),
    }
}

/// Checks that no element of a data set declares more bytes than remain
/// (descending into sequences and items), so that parsing cannot allocate
/// what was never sent. `explicit`: Explicit VR; little endian only.
pub(crate) fn check_lengths(bytes: &[u8], explicit: bool) -> Result<(), DicomError> {
    let bad = |m: String| Err(DicomError::Parse(format!("identifier: {m}")));
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut at = 0usize;
    while at < bytes.len() {
        if at + 8 > bytes.len() {
            return bad(format!("truncated element header at byte {at}"));
        }
        let tag = Tag(u16_at(at), u16_at(at + 2));
        if tag.group() == 0xFFFE {
            // Item and delimiters: enter items, whatever their length.
            at += 8;
            continue;
        }
        let (len, head, sequence) = if explicit {
            let vr = &bytes[at + 4..at + 6];
            if [
                &b"OB"[..],
                b"OW",
                b"OF",
                b"OD",
                b"OL",
                b"OV",
                b"SQ",
                b"UC",
                b"UN",
                b"UR",
                b"UT",
                b"SV",
                b"UV",
            ]
            .contains(&vr)
            {
                if at + 12 > bytes.len() {
                    return bad(format!("truncated element header at byte {at}"));
                }
                (u32_at(at + 8), 12, vr == b"SQ")
            } else {
                (u32::from(u16_at(at + 6)), 8, false)
            }
        } else {
            let sq = StandardDataDictionary
                .by_tag(tag)
                .is_some_and(|e| e.vr.relaxed() == VR::SQ);
            (u32_at(at + 4), 8, sq)
        };
        at += head;
        if len == u32::MAX || sequence {
            // Undefined length, or a sequence: its items are checked in turn.
            continue;
        }
        if len as usize > bytes.len() - at {
            return bad(format!(
                "element {tag} declares {len} bytes where {} remain",
                bytes.len() - at
            ));
        }
        at += len as usize;
    }
    Ok(())
}

/// Reads the identifier of a C-FIND request, received in `ts_uid`.
pub fn read_identifier(bytes: &[u8], ts_uid: &str) -> Result<FindKeys, DicomError> {
    if bytes.len() > MAX_IDENTIFIER_BYTES {
        return Err(DicomError::Parse(format!(
            "identifier: {} bytes is more than a query holds",
            bytes.len()
        )));
    }
    let (ts, explicit) = transfer_syntax(ts_uid)?;
    check_lengths(bytes, explicit)?;
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &ts)
        .map_err(|e| DicomError::Parse(format!("identifier: {e}")))?;
    let mut level = None;
    let mut keys = Vec::new();
    let mut items = Vec::new();
    for element in obj.iter() {
        let tag = element.header().tag;
        if tag == tags::SPECIFIC_CHARACTER_SET {
            continue;
        }
        let value = if element.vr() == VR::SQ {
            let inner = element
                .items()
                .and_then(|i| i.first())
                .map(|item| {
                    item.iter()
                        .filter(|e| e.vr() != VR::SQ)
                        .map(|e| (e.header().tag, text_of(e)))
                        .collect()
                })
                .unwrap_or_default();
            items.push((tag, inner));
            String::new()
        } else {
            text_of(element)
        };
        if tag == tags::QUERY_RETRIEVE_LEVEL {
            level = Some(value);
        } else {
            keys.push((tag, value));
        }
    }
    Ok(FindKeys { level, keys, items })
}

/// What a C-FIND response identifier carries besides the match.
#[derive(Debug, Clone)]
pub struct FindAnswer<'a> {
    pub level: QueryLevel,
    /// The request's keys: only these are returned (and the level's unique key).
    pub requested: &'a [Tag],
    /// Retrieve AE Title (0008,0054): this archive's AE title for the tenant.
    pub retrieve_ae: &'a str,
    /// The presentation context's transfer syntax.
    pub transfer_syntax: &'a str,
}

fn level_name(level: QueryLevel) -> &'static str {
    match level {
        QueryLevel::Patient => "PATIENT",
        QueryLevel::Study => "STUDY",
        QueryLevel::Series => "SERIES",
        QueryLevel::Instance => "IMAGE",
    }
}

fn unique_key(level: QueryLevel) -> Tag {
    match level {
        QueryLevel::Patient => tags::PATIENT_ID,
        QueryLevel::Study => tags::STUDY_INSTANCE_UID,
        QueryLevel::Series => tags::SERIES_INSTANCE_UID,
        QueryLevel::Instance => tags::SOP_INSTANCE_UID,
    }
}

/// The response identifier of one match, encoded in the context's transfer syntax.
pub fn write_identifier(m: &QueryMatch, a: &FindAnswer<'_>) -> Result<Vec<u8>, DicomError> {
    let (ts, _) = transfer_syntax(a.transfer_syntax)?;
    let mut wanted: BTreeSet<Tag> = a.requested.iter().copied().collect();
    wanted.insert(unique_key(a.level));
    wanted.remove(&tags::QUERY_RETRIEVE_LEVEL);
    wanted.remove(&tags::SPECIFIC_CHARACTER_SET);
    wanted.remove(&tags::RETRIEVE_AE_TITLE);
    let include = IncludeFields::Tags(wanted.iter().copied().collect());
    let opts = QidoOptions {
        level: a.level,
        include: &include,
        retrieve_base: "",
    };
    let mut json = match render_match(m, &opts) {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    json.retain(|key, _| {
        u32::from_str_radix(key, 16)
            .is_ok_and(|t| wanted.contains(&Tag((t >> 16) as u16, (t & 0xFFFF) as u16)))
    });
    let mut obj: InMemDicomObject = dicom_json::from_value(Value::Object(json))
        .map_err(|e| DicomError::Encode(format!("identifier: {e}")))?;
    // Empty values for the keys the archive has no value for (PS3.4 C.4.1.1.3.2).
    for tag in &wanted {
        if obj.get(*tag).is_none()
            && let Some(entry) = StandardDataDictionary.by_tag(*tag)
        {
            let vr = entry.vr.relaxed();
            let empty = if vr == VR::SQ {
                continue;
            } else {
                PrimitiveValue::Empty
            };
            obj.put(DataElement::new(*tag, vr, empty));
        }
    }
    // JSON text is Unicode: the identifier says UTF-8.
    obj.put(DataElement::new(
        tags::SPECIFIC_CHARACTER_SET,
        VR::CS,
        PrimitiveValue::from("ISO_IR 192"),
    ));
    obj.put(DataElement::new(
        tags::QUERY_RETRIEVE_LEVEL,
        VR::CS,
        PrimitiveValue::from(level_name(a.level)),
    ));
    obj.put(DataElement::new(
        tags::RETRIEVE_AE_TITLE,
        VR::AE,
        PrimitiveValue::from(a.retrieve_ae),
    ));
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, &ts)
        .map_err(|e| DicomError::Encode(format!("identifier: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPLICIT: &str = "1.2.840.10008.1.2";

    fn identifier(elements: Vec<DataElement<InMemDicomObject>>) -> Vec<u8> {
        let obj = InMemDicomObject::from_element_iter(elements);
        let mut out = Vec::new();
        obj.write_dataset_with_ts(&mut out, &transfer_syntax(IMPLICIT).unwrap().0)
            .unwrap();
        out
    }

    #[test]
    fn keys_are_read_with_their_level() {
        let bytes = identifier(vec![
            DataElement::new(
                tags::QUERY_RETRIEVE_LEVEL,
                VR::CS,
                PrimitiveValue::from("STUDY"),
            ),
            DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("DOE*")),
            DataElement::new(tags::STUDY_INSTANCE_UID, VR::UI, PrimitiveValue::Empty),
        ]);
        let keys = read_identifier(&bytes, IMPLICIT).unwrap();
        assert_eq!(keys.level.as_deref(), Some("STUDY"));
        assert_eq!(
            keys.keys,
            vec![
                (tags::PATIENT_NAME, "DOE*".to_owned()),
                (tags::STUDY_INSTANCE_UID, String::new())
            ]
        );
    }

    #[test]
    fn a_lying_length_is_refused_before_parsing() {
        let mut bytes = identifier(vec![DataElement::new(
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            PrimitiveValue::from("STUDY"),
        )]);
        bytes.extend_from_slice(&[0x10, 0x00, 0x10, 0x00, 0x98, 0x98, 0x98, 0x98, b'A', b'B']);
        let e = read_identifier(&bytes, IMPLICIT).unwrap_err().to_string();
        assert!(e.contains("declares"), "{e}");
    }
}
