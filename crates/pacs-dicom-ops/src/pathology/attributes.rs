//! The `attributes` of a slide's metadata: DICOM keywords to values, `A/B`
//! nesting B in (the one item of) sequence A. Every keyword must be in the
//! standard dictionary and every value valid for its VR; an error names the
//! attribute path.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::{C, DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::InMemDicomObject;
use serde_json::{Map, Value};

use crate::error::DicomError;

fn bad(path: &str, why: impl std::fmt::Display) -> DicomError {
    DicomError::Metadata(format!("attribute {path}: {why}"))
}

/// The tag and VR of a keyword.
fn lookup(keyword: &str, path: &str) -> Result<(Tag, VR), DicomError> {
    let entry = StandardDataDictionary
        .by_name(keyword)
        .ok_or_else(|| bad(path, format!("{keyword:?} is not a DICOM keyword")))?;
    Ok((entry.tag(), entry.vr().relaxed()))
}

/// Builds a data set from `attributes`.
pub(crate) fn dataset_from_attributes(
    attributes: &Map<String, Value>,
) -> Result<InMemDicomObject, DicomError> {
    let mut obj = InMemDicomObject::new_empty();
    for (path, value) in attributes {
        let steps: Vec<&str> = path.split('/').map(str::trim).collect();
        if steps.iter().any(|s| s.is_empty()) {
            return Err(bad(path, "empty keyword in the path"));
        }
        put_path(&mut obj, &steps, value, path)?;
    }
    Ok(obj)
}

/// Puts `value` at `steps` below `obj`, creating single-item sequences on the way.
fn put_path(
    obj: &mut InMemDicomObject,
    steps: &[&str],
    value: &Value,
    path: &str,
) -> Result<(), DicomError> {
    let (tag, vr) = lookup(steps[0], path)?;
    if steps.len() == 1 {
        if obj.get(tag).is_some() {
            return Err(bad(path, "given twice"));
        }
        obj.put(element(tag, vr, value, path)?);
        return Ok(());
    }
    if vr != VR::SQ {
        return Err(bad(
            path,
            format!(
                "{} is not a sequence, nothing can be nested in it",
                steps[0]
            ),
        ));
    }
    let mut item = match obj.take(tag) {
        Some(existing) => {
            let mut items: Vec<InMemDicomObject> =
                existing.items().map(|i| i.to_vec()).unwrap_or_default();
            if items.len() > 1 {
                return Err(bad(path, format!("{} already has several items", steps[0])));
            }
            items.pop().unwrap_or_else(InMemDicomObject::new_empty)
        }
        None => InMemDicomObject::new_empty(),
    };
    put_path(&mut item, &steps[1..], value, path)?;
    obj.put(DataElement::new(
        tag,
        VR::SQ,
        DataSetSequence::from(vec![item]),
    ));
    Ok(())
}

/// One element from a JSON value: a string, a number, an array of them
/// (multiple values), null (empty), or for a sequence an array of objects.
fn element(
    tag: Tag,
    vr: VR,
    value: &Value,
    path: &str,
) -> Result<DataElement<InMemDicomObject>, DicomError> {
    if vr == VR::SQ {
        let items = match value {
            Value::Null => Vec::new(),
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::Object(map) => dataset_from_attributes(map),
                    _ => Err(bad(path, "a sequence's items must be JSON objects")),
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(bad(
                    path,
                    "a sequence takes an array of objects, or nested keywords (Sequence/Keyword)",
                ));
            }
        };
        return Ok(DataElement::new(tag, vr, DataSetSequence::from(items)));
    }
    let values: Vec<&Value> = match value {
        Value::Null => Vec::new(),
        Value::Array(vs) => vs.iter().collect(),
        other => vec![other],
    };
    let texts: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(bad(path, "values must be strings or numbers")),
        })
        .collect::<Result<_, _>>()?;
    Ok(DataElement::new(tag, vr, primitive(vr, texts, path)?))
}

fn parsed<T: std::str::FromStr>(texts: &[String], vr: VR, path: &str) -> Result<C<T>, DicomError> {
    texts
        .iter()
        .map(|t| {
            t.trim()
                .parse::<T>()
                .map_err(|_| bad(path, format!("{t:?} is not a valid {vr:?} value")))
        })
        .collect()
}

fn primitive(vr: VR, texts: Vec<String>, path: &str) -> Result<PrimitiveValue, DicomError> {
    if texts.is_empty() {
        return Ok(PrimitiveValue::Empty);
    }
    Ok(match vr {
        VR::US => PrimitiveValue::U16(parsed(&texts, vr, path)?),
        VR::UL => PrimitiveValue::U32(parsed(&texts, vr, path)?),
        VR::UV => PrimitiveValue::U64(parsed(&texts, vr, path)?),
        VR::SS => PrimitiveValue::I16(parsed(&texts, vr, path)?),
        VR::SL => PrimitiveValue::I32(parsed(&texts, vr, path)?),
        VR::SV => PrimitiveValue::I64(parsed(&texts, vr, path)?),
        VR::FL => PrimitiveValue::F32(parsed(&texts, vr, path)?),
        VR::FD => PrimitiveValue::F64(parsed(&texts, vr, path)?),
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN | VR::AT => {
            return Err(bad(
                path,
                format!("binary attributes (VR {vr:?}) cannot be given in metadata"),
            ));
        }
        _ => {
            let single_valued = matches!(vr, VR::LT | VR::ST | VR::UT | VR::UR);
            if single_valued && texts.len() > 1 {
                return Err(bad(path, format!("VR {vr:?} takes a single value")));
            }
            for t in &texts {
                check_text(vr, t, single_valued).map_err(|why| bad(path, why))?;
            }
            PrimitiveValue::Strs(texts.into_iter().collect())
        }
    })
}

fn all(s: &str, ok: impl Fn(char) -> bool) -> bool {
    s.chars().all(ok)
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && all(s, |c| c.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn valid_date(s: &str) -> bool {
    s.len() == 8
        && digits(&s[..4], 4).is_some()
        && digits(&s[4..6], 2).is_some_and(|m| (1..=12).contains(&m))
        && digits(&s[6..8], 2).is_some_and(|d| (1..=31).contains(&d))
}

fn valid_time(s: &str) -> bool {
    let (hms, frac) = s.split_once('.').unwrap_or((s, ""));
    let fields_ok = match hms.len() {
        2 | 4 | 6 => {
            digits(&hms[..2], 2).is_some_and(|h| h < 24)
                && (hms.len() < 4 || digits(&hms[2..4], 2).is_some_and(|m| m < 60))
                && (hms.len() < 6 || digits(&hms[4..6], 2).is_some_and(|s| s < 61))
        }
        _ => false,
    };
    fields_ok
        && frac.len() <= 6
        && all(frac, |c| c.is_ascii_digit())
        && !(hms.len() < 6 && s.contains('.'))
}

fn valid_uid(s: &str) -> bool {
    s.len() <= 64
        && !s.is_empty()
        && s.split('.').all(|c| {
            !c.is_empty() && all(c, |ch| ch.is_ascii_digit()) && (c == "0" || !c.starts_with('0'))
        })
}

/// Checks one text value against its VR (PS3.5 §6.2), with a reason when not.
fn check_text(vr: VR, v: &str, single_valued: bool) -> Result<(), String> {
    let invalid = |what: &str| Err(format!("{v:?} is not a valid {vr:?} value ({what})"));
    if !single_valued && v.contains('\\') {
        return invalid("a backslash separates values: give an array instead");
    }
    let max_len = match vr {
        VR::AE | VR::CS | VR::SH | VR::DS => 16,
        VR::AS => 4,
        VR::IS => 12,
        VR::DA => 8,
        VR::TM => 14,
        VR::DT => 26,
        VR::LO | VR::UI => 64,
        VR::PN => 3 * 64 + 2,
        VR::ST => 1024,
        VR::LT => 10240,
        _ => usize::MAX,
    };
    if v.chars().count() > max_len {
        return invalid(&format!("at most {max_len} characters"));
    }
    let control = v
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\x0c'));
    if control {
        return invalid("control characters");
    }
    let ok = match vr {
        VR::AE => !v.trim().is_empty(),
        VR::AS => {
            v.len() == 4 && digits(&v[..3], 3).is_some() && matches!(&v[3..], "D" | "W" | "M" | "Y")
        }
        VR::CS => all(v, |c| {
            c.is_ascii_uppercase() || c.is_ascii_digit() || c == ' ' || c == '_'
        }),
        VR::DA => valid_date(v),
        VR::TM => valid_time(v),
        VR::DT => {
            v.len() >= 4
                && digits(&v[..4], 4).is_some()
                && all(v, |c| c.is_ascii_digit() || matches!(c, '.' | '+' | '-'))
        }
        VR::DS => {
            v.trim().parse::<f64>().is_ok_and(f64::is_finite)
                && !v.trim().contains(['i', 'n', 'N', 'I'])
        }
        VR::IS => v
            .trim()
            .parse::<i64>()
            .is_ok_and(|n| i32::try_from(n).is_ok()),
        VR::UI => valid_uid(v),
        VR::UR => !v.contains(' '),
        VR::LO | VR::SH | VR::PN => !v.contains(['\n', '\r', '\t', '\x0c']),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        invalid("see PS3.5 §6.2")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn build(v: Value) -> Result<InMemDicomObject, DicomError> {
        dataset_from_attributes(v.as_object().unwrap())
    }

    #[test]
    fn keywords_values_and_nesting() {
        let obj = build(json!({
            "PatientID": "P1",
            "PatientBirthDate": "20240115",
            "OtherPatientIDsSequence/PatientID": "P2",
            "OtherPatientIDsSequence/IssuerOfPatientID": "H",
            "ImageType": ["ORIGINAL", "PRIMARY"],
            "Rows": 512,
        }))
        .unwrap();
        let seq = obj.get(Tag(0x0010, 0x1002)).unwrap().items().unwrap();
        assert_eq!(seq.len(), 1);
        assert_eq!(
            seq[0].get(Tag(0x0010, 0x0021)).unwrap().to_str().unwrap(),
            "H"
        );
        assert_eq!(
            obj.get(Tag(0x0028, 0x0010))
                .unwrap()
                .to_int::<u16>()
                .unwrap(),
            512
        );
        assert_eq!(
            obj.get(Tag(0x0008, 0x0008)).unwrap().to_str().unwrap(),
            "ORIGINAL\\PRIMARY"
        );
    }

    #[test]
    fn errors_name_the_attribute() {
        let e = build(json!({ "PatientIdentifier": "x" }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("PatientIdentifier"), "{e}");
        let e = build(json!({ "PatientBirthDate": "2024-01-15" }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("PatientBirthDate") && e.contains("DA"), "{e}");
        let e = build(json!({ "PatientID/PatientName": "x" }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a sequence"), "{e}");
        let e = build(json!({ "Modality": "sm" })).unwrap_err().to_string();
        assert!(e.contains("Modality"), "{e}");
        let e = build(json!({ "StudyInstanceUID": "1.02.3" }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("StudyInstanceUID"), "{e}");
        let e = build(json!({ "Rows": "many" })).unwrap_err().to_string();
        assert!(e.contains("Rows"), "{e}");
    }
}
