//! The `metadata` part of a slide upload: `attributes` (DICOM keywords) and
//! `hierarchy` (specimen, block, slide).

use pacs_domain::model::{SpecimenHierarchy, SpecimenLevel};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::SlideMetadata;
use crate::error::DicomError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataJson {
    attributes: Option<Map<String, Value>>,
    hierarchy: Option<HierarchyJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HierarchyJson {
    specimen: Option<LevelJson>,
    block: Option<LevelJson>,
    slide: Option<LevelJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LevelJson {
    identifier: Option<Value>,
    alias: Option<Value>,
    procedure: Option<Value>,
    body_site: Option<Value>,
    stain: Option<StainJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StainJson {
    code: Option<Value>,
}

fn invalid(message: String) -> DicomError {
    DicomError::Metadata(message)
}

/// A string or number field; empty strings count as absent.
fn scalar(v: Option<Value>, field: &str) -> Result<Option<String>, DicomError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(invalid(format!("hierarchy {field} must be a string"))),
    }
}

fn level(l: Option<LevelJson>, name: &str) -> Result<Option<SpecimenLevel>, DicomError> {
    let Some(l) = l else { return Ok(None) };
    let f = |v, field: &str| scalar(v, &format!("{name}.{field}"));
    Ok(Some(SpecimenLevel {
        identifier: f(l.identifier, "identifier")?,
        alias: f(l.alias, "alias")?,
        procedure: f(l.procedure, "procedure")?,
        body_site: f(l.body_site, "bodySite")?,
        stain_code: match l.stain {
            Some(s) => f(s.code, "stain.code")?,
            None => None,
        },
    }))
}

/// A parsed and validated `metadata` part.
#[derive(Debug, Clone)]
pub struct SlideDescription {
    pub attributes: SlideMetadata,
    pub hierarchy: Option<SpecimenHierarchy>,
}

impl SlideDescription {
    pub fn parse(bytes: &[u8]) -> Result<Self, DicomError> {
        let json: MetadataJson = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("the metadata part is not valid metadata JSON: {e}")))?;
        let attributes = json.attributes.ok_or_else(|| {
            invalid(
                "the metadata part has no \"attributes\" object (PatientID, AccessionNumber and \
                 ContainerIdentifier are mandatory)"
                    .into(),
            )
        })?;
        let attributes = SlideMetadata::parse(&attributes)?;
        let hierarchy = match json.hierarchy {
            None => None,
            Some(h) => Some(SpecimenHierarchy {
                specimen: level(h.specimen, "specimen")?,
                block: level(h.block, "block")?,
                slide: level(h.slide, "slide")?,
            }),
        };
        Ok(Self {
            attributes,
            hierarchy,
        })
    }
}
