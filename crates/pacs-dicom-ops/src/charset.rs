//! ISO 2022 code extensions (PS3.5 §6.1.2.5): Specific Character Set values such
//! as `\ISO 2022 IR 87` (Japanese) or `\ISO 2022 IR 149` (Korean) switch
//! character sets inside a value with escape sequences. dicom-rs decodes such
//! values with the first character set only; this module recovers the bytes
//! and decodes the escapes, so that names reach the index and DICOM JSON as
//! Unicode.

use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use encoding_rs::{EUC_JP, EUC_KR, GBK};

/// The character set designated to G0 (7-bit bytes) or G1 (8-bit bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum G0 {
    Ascii,
    Jis0208,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum G1 {
    None,
    Latin1,
    Katakana,
    Ksx1001,
    Gb2312,
}

/// The first value decides how dicom-rs decoded the text, hence how its bytes
/// come back; `None` when they cannot.
fn first_set(values: &[String]) -> Option<G1> {
    match values.first().map(|v| v.trim()).unwrap_or("") {
        "" | "ISO 2022 IR 6" | "ISO_IR 6" => Some(G1::None),
        "ISO 2022 IR 100" | "ISO_IR 100" => Some(G1::Latin1),
        "ISO 2022 IR 13" | "ISO_IR 13" => Some(G1::Katakana),
        _ => None,
    }
}

/// The bytes dicom-rs decoded `text` from, given the first character set.
fn recover_bytes(text: &str, first: G1) -> Option<Vec<u8>> {
    text.chars()
        .map(|c| match (c as u32, first) {
            (n @ 0..=0xFF, G1::None | G1::Latin1) => Some(n as u8),
            (n @ 0..=0x7F, G1::Katakana) => Some(n as u8),
            (0xA5, G1::Katakana) => Some(0x5C),
            (0x203E, G1::Katakana) => Some(0x7E),
            (n @ 0xFF61..=0xFF9F, G1::Katakana) => Some((n - 0xFF61 + 0xA1) as u8),
            _ => None,
        })
        .collect()
}

/// Applies the escape sequence at the start of `rest` (after ESC); returns its
/// length, or `None` for a sequence we do not know (kept as text).
fn escape(rest: &[u8], g0: &mut G0, g1: &mut G1) -> Option<usize> {
    const SEQUENCES: [(&[u8], Option<G0>, Option<G1>); 7] = [
        (b"(B", Some(G0::Ascii), None),
        (b"(J", Some(G0::Ascii), None),
        (b"$B", Some(G0::Jis0208), None),
        (b"$@", Some(G0::Jis0208), None),
        (b")I", None, Some(G1::Katakana)),
        (b"$)C", None, Some(G1::Ksx1001)),
        (b"$)A", None, Some(G1::Gb2312)),
    ];
    if rest.starts_with(b"-A") {
        *g1 = G1::Latin1;
        return Some(2);
    }
    let (seq, new_g0, new_g1) = SEQUENCES.iter().find(|(seq, _, _)| rest.starts_with(seq))?;
    if let Some(g) = new_g0 {
        *g0 = *g;
    }
    if let Some(g) = new_g1 {
        *g1 = *g;
    }
    Some(seq.len())
}

fn decode_pair(codec: &'static encoding_rs::Encoding, pair: [u8; 2], out: &mut String) {
    let (s, _, _) = codec.decode(&pair);
    out.push_str(&s);
}

/// Decodes ISO 2022 text whose G1 starts as `g1`.
fn decode(raw: &[u8], initial_g1: G1) -> String {
    let (mut g0, mut g1) = (G0::Ascii, initial_g1);
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if let Some(len) = (b == 0x1B)
            .then(|| escape(&raw[i + 1..], &mut g0, &mut g1))
            .flatten()
        {
            i += 1 + len;
            continue;
        }
        if b < 0x80 {
            match g0 {
                G0::Jis0208 if b > 0x20 && i + 1 < raw.len() && raw[i + 1] > 0x20 => {
                    decode_pair(EUC_JP, [b | 0x80, raw[i + 1] | 0x80], &mut out);
                    i += 2;
                }
                _ => {
                    out.push(b as char);
                    i += 1;
                }
            }
            continue;
        }
        let pair = (i + 1 < raw.len()).then(|| [b, raw[i + 1]]);
        match (g1, pair) {
            (G1::Katakana, _) if (0xA1..=0xDF).contains(&b) => {
                out.push(char::from_u32(0xFF61 + (b - 0xA1) as u32).unwrap_or('\u{FFFD}'));
                i += 1;
            }
            (G1::Latin1, _) => {
                out.push(b as char);
                i += 1;
            }
            (G1::Ksx1001, Some(p)) => {
                decode_pair(EUC_KR, p, &mut out);
                i += 2;
            }
            (G1::Gb2312, Some(p)) => {
                decode_pair(GBK, p, &mut out);
                i += 2;
            }
            _ => {
                out.push('\u{FFFD}');
                i += 1;
            }
        }
    }
    out
}

fn is_text(vr: VR) -> bool {
    matches!(
        vr,
        VR::PN | VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC
    )
}

fn fix_object(obj: &mut InMemDicomObject, first: G1) {
    let mut replacements = Vec::new();
    for elem in obj.iter() {
        match elem.value() {
            Value::Primitive(_) if is_text(elem.vr()) => {
                let Ok(text) = elem.to_str() else { continue };
                if !text.contains('\u{1b}') && text.is_ascii() {
                    continue;
                }
                let Some(raw) = recover_bytes(&text, first) else {
                    continue;
                };
                let decoded = decode(&raw, first);
                let values: Vec<String> = decoded.split('\\').map(str::to_owned).collect();
                let value = if values.len() == 1 {
                    PrimitiveValue::from(values[0].as_str())
                } else {
                    PrimitiveValue::Strs(values.into())
                };
                replacements.push(DataElement::new(elem.tag(), elem.vr(), value));
            }
            _ => {}
        }
    }
    for r in replacements {
        obj.put(r);
    }
    // Sequence items, recursively.
    let seq_tags: Vec<_> = obj
        .iter()
        .filter(|e| e.vr() == VR::SQ)
        .map(|e| e.tag())
        .collect();
    for tag in seq_tags {
        if let Ok(mut elem) = obj.take_element(tag) {
            if let Some(items) = elem.items_mut() {
                for item in items.iter_mut() {
                    fix_object(item, first);
                }
            }
            obj.put(elem);
        }
    }
}

/// When `obj` declares ISO 2022 code extensions, re-decodes its text values and
/// declares UTF-8 (ISO_IR 192): the object then holds Unicode and is written so.
pub fn normalize_code_extensions(obj: &mut InMemDicomObject) {
    let Some(cs) = obj.get(tags::SPECIFIC_CHARACTER_SET) else {
        return;
    };
    let Ok(values) = cs.to_multi_str() else {
        return;
    };
    let values: Vec<String> = values.iter().map(|v| v.trim().to_owned()).collect();
    let extended = values.len() > 1 && values.iter().any(|v| v.starts_with("ISO 2022"));
    if !extended {
        return;
    }
    let Some(first) = first_set(&values) else {
        return;
    };
    fix_object(obj, first);
    obj.put(DataElement::new(
        tags::SPECIFIC_CHARACTER_SET,
        VR::CS,
        PrimitiveValue::from("ISO_IR 192"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_and_korean_escapes_decode() {
        // PS3.5 H.3.1 example, as bytes: Yamada^Tarou=山田^太郎
        let raw = b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B";
        assert_eq!(decode(raw, G1::None), "Yamada^Tarou=山田^太郎");
        // PS3.5 I.2: Hong^Gildong=洪^吉洞
        let raw = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7";
        assert_eq!(decode(raw, G1::None), "Hong^Gildong=洪^吉洞");
    }

    #[test]
    fn katakana_first_set_round_trips() {
        let text = "ﾔﾏﾀﾞ^ﾀﾛｳ";
        let raw = recover_bytes(text, G1::Katakana).unwrap();
        assert_eq!(decode(&raw, G1::Katakana), text);
    }
}
