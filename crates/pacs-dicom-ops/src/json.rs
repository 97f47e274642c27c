//! DICOM JSON (PS3.18 §F.2): stored headers, QIDO-RS answers, WADO-RS metadata.

use std::collections::BTreeMap;

use dicom_core::Tag;
use dicom_object::InMemDicomObject;
use pacs_domain::model::{PatientAttributes, QueryLevel, QueryMatch, StudyAttributes};
use serde_json::{Map, Value, json};

use crate::error::DicomError;
use crate::overrides::OVERRIDES;

/// Inline binary values longer than this (base64 characters) are left out of
/// stored headers: they are bulk data, not something to query or display.
const MAX_INLINE_BINARY: usize = 4096;

/// `GGGGEEEE`, the key of an attribute in DICOM JSON.
pub fn tag_key(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.group(), tag.element())
}

fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let too_big = map
                .get("InlineBinary")
                .and_then(Value::as_str)
                .is_some_and(|s| s.len() > MAX_INLINE_BINARY);
            if too_big {
                map.remove("InlineBinary");
            }
            map.values_mut().for_each(prune);
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

/// The header as a DICOM JSON object (text), without group 0002 or bulk values.
pub fn header_json(obj: &InMemDicomObject) -> Result<String, DicomError> {
    let mut value = dicom_json::to_value(obj).map_err(|e| DicomError::Encode(e.to_string()))?;
    prune(&mut value);
    // Values are decoded to Unicode: the original character set no longer applies.
    if let Value::Object(map) = &mut value {
        map.remove("00080005");
    }
    serde_json::to_string(&value).map_err(|e| DicomError::Encode(e.to_string()))
}

/// A DICOM JSON attribute with one text value, or no value.
fn text_attr(vr: &str, value: Option<&str>) -> Value {
    match value {
        None | Some("") => json!({ "vr": vr }),
        Some(v) if vr == "PN" => json!({ "vr": vr, "Value": [person_name(v)] }),
        Some(v) if vr == "IS" || vr == "US" || vr == "UL" => match v.trim().parse::<i64>() {
            Ok(n) => json!({ "vr": vr, "Value": [n] }),
            Err(_) => json!({ "vr": vr }),
        },
        Some(v) => {
            let values: Vec<&str> = v.split('\\').collect();
            json!({ "vr": vr, "Value": values })
        }
    }
}

fn int_attr(vr: &str, value: Option<i64>) -> Value {
    match value {
        Some(n) => json!({ "vr": vr, "Value": [n] }),
        None => json!({ "vr": vr }),
    }
}

/// `Alphabetic=Ideographic=Phonetic` component groups (PS3.18 §F.2.2).
fn person_name(v: &str) -> Value {
    let mut obj = Map::new();
    for (group, key) in v.split('=').zip(["Alphabetic", "Ideographic", "Phonetic"]) {
        if !group.is_empty() {
            obj.insert(key.into(), Value::String(group.into()));
        }
    }
    Value::Object(obj)
}

/// What `includefield` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum IncludeFields {
    /// The level's default attributes only.
    #[default]
    Default,
    /// Every attribute the archive has for the level.
    All,
    /// The defaults plus these tags.
    Tags(Vec<Tag>),
}

impl IncludeFields {
    /// Whether answering needs a stored header, i.e. attributes the index lacks.
    pub fn needs_header(&self, level: QueryLevel) -> bool {
        match self {
            IncludeFields::Default => false,
            IncludeFields::All => level == QueryLevel::Instance,
            IncludeFields::Tags(tags) => tags.iter().any(|t| indexed_value_known(*t).is_none()),
        }
    }
}

/// Options of a QIDO-RS answer.
#[derive(Debug, Clone)]
pub struct QidoOptions<'a> {
    pub level: QueryLevel,
    pub include: &'a IncludeFields,
    /// `…/wado-rs/{AET}` of this archive, for RetrieveURL.
    pub retrieve_base: &'a str,
}

type Attrs = BTreeMap<String, Value>;

fn put(attrs: &mut Attrs, tag: u32, value: Value) {
    attrs.insert(format!("{tag:08X}"), value);
}

fn patient_attrs(attrs: &mut Attrs, p: &PatientAttributes) {
    put(attrs, 0x0010_0010, text_attr("PN", p.name.as_deref()));
    put(
        attrs,
        0x0010_0020,
        text_attr("LO", Some(p.patient_id.as_str())),
    );
    put(attrs, 0x0010_0030, text_attr("DA", p.birth_date.as_deref()));
    put(attrs, 0x0010_0040, text_attr("CS", p.sex.as_deref()));
    if p.issuer.is_some() {
        put(attrs, 0x0010_0021, text_attr("LO", p.issuer.as_deref()));
    }
}

fn study_attrs(attrs: &mut Attrs, m: &QueryMatch, base: &str) {
    let Some((s, stats)) = &m.study else { return };
    put(attrs, 0x0008_0020, text_attr("DA", s.study_date.as_deref()));
    put(attrs, 0x0008_0030, text_attr("TM", s.study_time.as_deref()));
    put(
        attrs,
        0x0008_0050,
        text_attr("SH", s.accession_number.as_deref()),
    );
    put(attrs, 0x0008_0056, text_attr("CS", Some("ONLINE")));
    put(
        attrs,
        0x0008_0061,
        json!({ "vr": "CS", "Value": stats.modalities }),
    );
    if stats.modalities.is_empty() {
        put(attrs, 0x0008_0061, json!({ "vr": "CS" }));
    }
    put(
        attrs,
        0x0008_0090,
        text_attr("PN", s.referring_physician.as_deref()),
    );
    put(
        attrs,
        0x0008_1030,
        text_attr("LO", s.description.as_deref()),
    );
    put(
        attrs,
        0x0020_000D,
        text_attr("UI", Some(s.study_uid.as_str())),
    );
    put(attrs, 0x0020_0010, text_attr("SH", s.study_id.as_deref()));
    put(attrs, 0x0020_1206, int_attr("IS", Some(stats.num_series)));
    put(
        attrs,
        0x0020_1208,
        int_attr("IS", Some(stats.num_instances)),
    );
    put(
        attrs,
        0x0008_1190,
        text_attr("UR", Some(&format!("{base}/studies/{}", s.study_uid))),
    );
}

fn series_attrs(attrs: &mut Attrs, m: &QueryMatch, base: &str) {
    let (Some((study, _)), Some((s, stats))) = (&m.study, &m.series) else {
        return;
    };
    put(attrs, 0x0008_0060, text_attr("CS", s.modality.as_deref()));
    put(
        attrs,
        0x0008_103E,
        text_attr("LO", s.description.as_deref()),
    );
    put(
        attrs,
        0x0008_1010,
        text_attr("SH", s.station_name.as_deref()),
    );
    put(attrs, 0x0018_0015, text_attr("CS", s.body_part.as_deref()));
    put(
        attrs,
        0x0020_000E,
        text_attr("UI", Some(s.series_uid.as_str())),
    );
    put(
        attrs,
        0x0020_0011,
        int_attr("IS", s.series_number.map(i64::from)),
    );
    put(
        attrs,
        0x0020_1209,
        int_attr("IS", Some(stats.num_instances)),
    );
    put(
        attrs,
        0x0040_0244,
        text_attr("DA", s.performed_start_date.as_deref()),
    );
    put(
        attrs,
        0x0040_0245,
        text_attr("TM", s.performed_start_time.as_deref()),
    );
    let url = format!("{base}/studies/{}/series/{}", study.study_uid, s.series_uid);
    put(attrs, 0x0008_1190, text_attr("UR", Some(&url)));
}

fn instance_attrs(attrs: &mut Attrs, m: &QueryMatch, base: &str) {
    let (Some((study, _)), Some((series, _)), Some(i)) = (&m.study, &m.series, &m.instance) else {
        return;
    };
    put(
        attrs,
        0x0008_0016,
        text_attr("UI", Some(i.sop_class.as_str())),
    );
    put(
        attrs,
        0x0008_0018,
        text_attr("UI", Some(i.sop_uid.as_str())),
    );
    put(
        attrs,
        0x0020_0013,
        int_attr("IS", i.instance_number.map(i64::from)),
    );
    put(attrs, 0x0028_0010, int_attr("US", i.rows.map(i64::from)));
    put(attrs, 0x0028_0011, int_attr("US", i.columns.map(i64::from)));
    put(
        attrs,
        0x0028_0008,
        int_attr("IS", i.number_of_frames.map(i64::from)),
    );
    if i.container_identifier.is_some() {
        put(
            attrs,
            0x0040_0512,
            text_attr("LO", i.container_identifier.as_deref()),
        );
    }
    let url = format!(
        "{base}/studies/{}/series/{}/instances/{}",
        study.study_uid, series.series_uid, i.sop_uid
    );
    put(attrs, 0x0008_1190, text_attr("UR", Some(&url)));
}

/// Indexed attributes that are not in the level defaults but can be included
/// from the index: tag → (VR, value of a match).
fn indexed_value_known(tag: Tag) -> Option<&'static str> {
    match (tag.group(), tag.element()) {
        (0x0008, 0x0008)
        | (0x0008, 0x0023)
        | (0x0008, 0x0033)
        | (0x0008, 0x0032)
        | (0x0018, 0x1030)
        | (0x0020, 0x0060)
        | (0x0020, 0x0062)
        | (0x0018, 0x5101)
        | (0x0008, 0x1010)
        | (0x0018, 0x0015)
        | (0x0010, 0x0021)
        | (0x0040, 0x0512)
        | (0x0020, 0x1200) => Some("indexed"),
        _ => None,
    }
}

fn extra_indexed(attrs: &mut Attrs, m: &QueryMatch, tag: Tag) {
    let series = m.series.as_ref().map(|(s, _)| s);
    let inst = m.instance.as_ref();
    let (vr, value): (&str, Option<String>) = match (tag.group(), tag.element()) {
        (0x0008, 0x0008) => ("CS", inst.and_then(|i| i.image_type.clone())),
        (0x0008, 0x0023) => ("DA", inst.and_then(|i| i.content_date.clone())),
        (0x0008, 0x0033) => ("TM", inst.and_then(|i| i.content_time.clone())),
        (0x0008, 0x0032) => ("TM", inst.and_then(|i| i.acquisition_time.clone())),
        (0x0018, 0x1030) => ("LO", series.and_then(|s| s.protocol_name.clone())),
        (0x0020, 0x0060) => ("CS", series.and_then(|s| s.laterality.clone())),
        (0x0020, 0x0062) => ("CS", inst.and_then(|i| i.image_laterality.clone())),
        (0x0018, 0x5101) => ("CS", inst.and_then(|i| i.view_position.clone())),
        (0x0008, 0x1010) => ("SH", series.and_then(|s| s.station_name.clone())),
        (0x0018, 0x0015) => ("CS", series.and_then(|s| s.body_part.clone())),
        (0x0010, 0x0021) => ("LO", m.patient.issuer.clone()),
        (0x0040, 0x0512) => ("LO", inst.and_then(|i| i.container_identifier.clone())),
        (0x0020, 0x1200) => ("IS", Some(m.patient_num_studies.to_string())),
        _ => return,
    };
    attrs.insert(tag_key(tag), text_attr(vr, value.as_deref()));
}

/// Writes the database's patient and study values over those of a header.
fn apply_overrides(attrs: &mut Map<String, Value>, p: &PatientAttributes, s: &StudyAttributes) {
    for (tag, vr, get) in OVERRIDES.iter() {
        let key = tag_key(*tag);
        let value = get(p, s);
        if value.is_none() && !attrs.contains_key(&key) {
            continue;
        }
        attrs.insert(key, text_attr(&vr.to_string(), value));
    }
}

/// One QIDO-RS result object.
pub(crate) fn render_match(m: &QueryMatch, opts: &QidoOptions<'_>) -> Value {
    let mut attrs = Attrs::new();
    let header: Option<Map<String, Value>> = m
        .header_json
        .as_deref()
        .and_then(|h| serde_json::from_str::<Value>(h).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        });
    if let (IncludeFields::All, QueryLevel::Instance, Some(h), Some((study, _))) =
        (opts.include, opts.level, &header, &m.study)
    {
        let mut h = h.clone();
        apply_overrides(&mut h, &m.patient, study);
        attrs.extend(h);
    }
    patient_attrs(&mut attrs, &m.patient);
    if opts.level == QueryLevel::Patient {
        put(
            &mut attrs,
            0x0020_1200,
            int_attr("IS", Some(m.patient_num_studies)),
        );
    }
    if opts.level != QueryLevel::Patient {
        study_attrs(&mut attrs, m, opts.retrieve_base);
    }
    if matches!(opts.level, QueryLevel::Series | QueryLevel::Instance) {
        series_attrs(&mut attrs, m, opts.retrieve_base);
    }
    if opts.level == QueryLevel::Instance {
        instance_attrs(&mut attrs, m, opts.retrieve_base);
    }
    let extra: Vec<Tag> = match opts.include {
        IncludeFields::Tags(tags) => tags.clone(),
        IncludeFields::All => ALL_EXTRA.to_vec(),
        IncludeFields::Default => Vec::new(),
    };
    for tag in extra {
        let key = tag_key(tag);
        if attrs.contains_key(&key) {
            continue;
        }
        if indexed_value_known(tag).is_some() {
            extra_indexed(&mut attrs, m, tag);
        } else if let Some(v) = header.as_ref().and_then(|h| h.get(&key)) {
            attrs.insert(key, v.clone());
        }
    }
    Value::Object(attrs.into_iter().collect())
}

const ALL_EXTRA: [Tag; 13] = [
    Tag(0x0008, 0x0008),
    Tag(0x0008, 0x0023),
    Tag(0x0008, 0x0033),
    Tag(0x0008, 0x0032),
    Tag(0x0018, 0x1030),
    Tag(0x0020, 0x0060),
    Tag(0x0020, 0x0062),
    Tag(0x0018, 0x5101),
    Tag(0x0008, 0x1010),
    Tag(0x0018, 0x0015),
    Tag(0x0010, 0x0021),
    Tag(0x0040, 0x0512),
    Tag(0x0020, 0x1200),
];

/// The QIDO-RS answer for `matches`: a JSON array of DICOM JSON objects.
pub fn render_qido(matches: &[QueryMatch], opts: &QidoOptions<'_>) -> Vec<u8> {
    let values: Vec<Value> = matches.iter().map(|m| render_match(m, opts)).collect();
    serde_json::to_vec(&values).unwrap_or_else(|_| b"[]".to_vec())
}

/// WADO-RS metadata of one instance after corrections: its stored header (DICOM
/// JSON text) with the database's current patient and study values written
/// over it.
pub fn corrected_metadata(
    header_json: &str,
    patient: &PatientAttributes,
    study: &StudyAttributes,
) -> Result<String, DicomError> {
    let mut map = match serde_json::from_str::<Value>(header_json) {
        Ok(Value::Object(map)) => map,
        Ok(_) => Map::new(),
        Err(e) => return Err(DicomError::Parse(format!("stored header is not JSON: {e}"))),
    };
    apply_overrides(&mut map, patient, study);
    serde_json::to_string(&Value::Object(map)).map_err(|e| DicomError::Encode(e.to_string()))
}

/// The VRs whose values are bulk data when they are not inline.
const BULK_VRS: [&str; 7] = ["OB", "OD", "OF", "OL", "OV", "OW", "UN"];

/// What WADO-RS metadata adds to a stored header for clients to fetch what it
/// leaves out (PS3.18 §8.7.3.3.2): a `BulkDataURI` for each binary attribute
/// stored without its value (overlays, waveforms, documents, large OB/OW/UN),
/// inside sequences too (`…/bulkdata/54000100/0/54001010`: sequence, item
/// from 0, attribute), one for Pixel Data when the instance has pixels, and
/// the instance's transfer syntax as AvailableTransferSyntaxUID (0008,3002).
pub fn with_bulk_references(
    metadata_json: &str,
    instance_url: &str,
    has_pixels: bool,
    transfer_syntax: &str,
) -> Result<String, DicomError> {
    let mut map = match serde_json::from_str::<Value>(metadata_json) {
        Ok(Value::Object(map)) => map,
        Ok(_) => Map::new(),
        Err(e) => return Err(DicomError::Parse(format!("stored header is not JSON: {e}"))),
    };
    add_bulk_references(&mut map, &format!("{instance_url}/bulkdata/"));
    if has_pixels {
        map.insert(
            "7FE00010".into(),
            json!({ "vr": "OW", "BulkDataURI": format!("{instance_url}/bulkdata/7FE00010") }),
        );
    }
    map.insert(
        "00083002".into(),
        json!({ "vr": "UI", "Value": [transfer_syntax] }),
    );
    serde_json::to_string(&Value::Object(map)).map_err(|e| DicomError::Encode(e.to_string()))
}

/// Adds a `BulkDataURI` (`prefix` + the attribute's key) to every binary
/// attribute of `map` without a value, and to those of its sequences' items.
fn add_bulk_references(map: &mut Map<String, Value>, prefix: &str) {
    for (key, attr) in map.iter_mut() {
        let Value::Object(attr) = attr else { continue };
        let vr = attr.get("vr").and_then(Value::as_str).unwrap_or("");
        if vr == "SQ" {
            if let Some(Value::Array(items)) = attr.get_mut("Value") {
                for (n, item) in items.iter_mut().enumerate() {
                    if let Value::Object(item) = item {
                        add_bulk_references(item, &format!("{prefix}{key}/{n}/"));
                    }
                }
            }
        } else if BULK_VRS.contains(&vr)
            && !attr.contains_key("Value")
            && !attr.contains_key("InlineBinary")
        {
            attr.insert(
                "BulkDataURI".into(),
                Value::String(format!("{prefix}{key}")),
            );
        }
    }
}

/// A JSON array of DICOM JSON objects (each already JSON text), as bytes.
pub fn json_array<S: AsRef<str>>(objects: &[S]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(objects.iter().map(|o| o.as_ref().len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (n, o) in objects.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        out.extend_from_slice(o.as_ref().as_bytes());
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_values_get_a_uri_and_inline_ones_do_not() {
        let header = r#"{"60003000":{"vr":"OW"},"00281201":{"vr":"OW","InlineBinary":"AAA="},
            "00100010":{"vr":"PN","Value":[{"Alphabetic":"A"}]},"54000100":{"vr":"SQ","Value":[{"54001010":{"vr":"OW"}}]}}"#;
        let out: Value = serde_json::from_str(
            &with_bulk_references(header, "http://x/i/1.2", true, "1.2.840.10008.1.2.1").unwrap(),
        )
        .unwrap();
        assert_eq!(
            out["60003000"]["BulkDataURI"],
            "http://x/i/1.2/bulkdata/60003000"
        );
        assert!(out["00281201"].get("BulkDataURI").is_none());
        assert!(out["00100010"].get("BulkDataURI").is_none());
        assert_eq!(
            out["54000100"]["Value"][0]["54001010"]["BulkDataURI"],
            "http://x/i/1.2/bulkdata/54000100/0/54001010"
        );
        assert_eq!(
            out["7FE00010"]["BulkDataURI"],
            "http://x/i/1.2/bulkdata/7FE00010"
        );
        assert_eq!(out["00083002"]["Value"][0], "1.2.840.10008.1.2.1");
        let none: Value = serde_json::from_str(
            &with_bulk_references("{}", "u", false, "1.2.840.10008.1.2").unwrap(),
        )
        .unwrap();
        assert!(none.get("7FE00010").is_none());
    }

    #[test]
    fn person_names_split_into_groups() {
        assert_eq!(
            person_name("Yamada^Tarou=山田^太郎=やまだ^たろう"),
            json!({"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"})
        );
        assert_eq!(person_name("DOE^JOHN"), json!({"Alphabetic": "DOE^JOHN"}));
    }

    #[test]
    fn numbers_and_multi_values() {
        assert_eq!(
            text_attr("IS", Some(" 12")),
            json!({"vr": "IS", "Value": [12]})
        );
        assert_eq!(
            text_attr("CS", Some("ORIGINAL\\PRIMARY")),
            json!({"vr": "CS", "Value": ["ORIGINAL", "PRIMARY"]})
        );
        assert_eq!(text_attr("LO", None), json!({"vr": "LO"}));
    }
}
