//! The Specimen module (PS3.3 C.7.6.22) from a slide's specimen hierarchy:
//! one Specimen Description item for the specimen on the slide, whose
//! preparation steps (TID 8001–8003) trace it back through the block to the
//! specimen collected from the patient. Mapping: `docs/pathology.md`.

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use pacs_domain::model::{SpecimenHierarchy, SpecimenLevel};

/// A coded concept: (value, scheme, meaning).
type Code<'a> = (&'a str, &'a str, &'a str);

const SPECIMEN_IDENTIFIER: Code<'static> = ("121041", "DCM", "Specimen Identifier");
const PROCESSING_TYPE: Code<'static> = ("111701", "DCM", "Processing type");
const STEP_DESCRIPTION: Code<'static> = ("111703", "DCM", "Processing step description");
const SAMPLING_METHOD: Code<'static> = ("111704", "DCM", "Sampling Method");
const PARENT_IDENTIFIER: Code<'static> = ("111705", "DCM", "Parent Specimen Identifier");
const PARENT_TYPE: Code<'static> = ("111707", "DCM", "Parent specimen type");
const USING_SUBSTANCE: Code<'static> = ("424361007", "SCT", "Using substance");
const COLLECTION: Code<'static> = ("17636008", "SCT", "Specimen collection");
const SAMPLING: Code<'static> = ("433465004", "SCT", "Sampling of tissue specimen");
const STAINING: Code<'static> = ("127790008", "SCT", "Staining");
const DISSECTION: Code<'static> = ("122459003", "SCT", "Dissection");
const BLOCK_SECTIONING: Code<'static> = ("434472006", "SCT", "Block sectioning");
const GROSS_SPECIMEN: Code<'static> = ("430861001", "SCT", "Gross specimen");
const TISSUE_SPECIMEN: Code<'static> = ("119376003", "SCT", "Tissue specimen");
/// ContainerTypeCodeSequence of every slide.
pub(crate) const MICROSCOPE_SLIDE: Code<'static> = ("433466003", "SCT", "Microscope slide");
/// Coding scheme of the sender's own stain codes.
pub(crate) const LOCAL_SCHEME: &str = "99PACS";

fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

pub(crate) fn code_item((value, scheme, meaning): Code<'_>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

fn text_item(concept: Code<'_>, value: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::VALUE_TYPE, VR::CS, "TEXT"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code_item(concept)]),
        text(tags::TEXT_VALUE, VR::UT, value),
    ])
}

fn code_content(concept: Code<'_>, value: Code<'_>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::VALUE_TYPE, VR::CS, "CODE"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code_item(concept)]),
        seq(tags::CONCEPT_CODE_SEQUENCE, vec![code_item(value)]),
    ])
}

fn step(items: Vec<InMemDicomObject>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([seq(
        tags::SPECIMEN_PREPARATION_STEP_CONTENT_ITEM_SEQUENCE,
        items,
    )])
}

/// The name a level goes by: its identifier, else its alias.
fn name_of(level: &SpecimenLevel) -> Option<&str> {
    level.identifier.as_deref().or(level.alias.as_deref())
}

fn described(mut items: Vec<InMemDicomObject>, level: &SpecimenLevel) -> Vec<InMemDicomObject> {
    if let Some(p) = &level.procedure {
        items.push(text_item(STEP_DESCRIPTION, p));
    }
    items
}

/// A sampling step: `level` was cut from `parent` with `method`.
fn sampling_step(
    level: &SpecimenLevel,
    id: &str,
    parent: Option<(&str, Code<'_>)>,
    method: Code<'_>,
) -> InMemDicomObject {
    let mut items = vec![
        text_item(SPECIMEN_IDENTIFIER, id),
        code_content(PROCESSING_TYPE, SAMPLING),
        code_content(SAMPLING_METHOD, method),
    ];
    if let Some((parent_id, parent_type)) = parent {
        items.push(text_item(PARENT_IDENTIFIER, parent_id));
        items.push(code_content(PARENT_TYPE, parent_type));
    }
    step(described(items, level))
}

/// The preparation steps of the slide's specimen, oldest first.
fn preparation_steps(h: &SpecimenHierarchy, slide_id: &str) -> Vec<InMemDicomObject> {
    let mut steps = Vec::new();
    let specimen = h
        .specimen
        .as_ref()
        .and_then(|l| name_of(l).map(|id| (l, id)));
    let block = h.block.as_ref().and_then(|l| name_of(l).map(|id| (l, id)));
    if let Some((level, id)) = specimen {
        steps.push(step(described(
            vec![
                text_item(SPECIMEN_IDENTIFIER, id),
                code_content(PROCESSING_TYPE, COLLECTION),
            ],
            level,
        )));
    }
    if let Some((level, id)) = block {
        let parent = specimen.map(|(_, pid)| (pid, GROSS_SPECIMEN));
        steps.push(sampling_step(level, id, parent, DISSECTION));
    }
    let slide = h.slide.clone().unwrap_or_default();
    let parent = block
        .map(|(_, bid)| (bid, TISSUE_SPECIMEN))
        .or_else(|| specimen.map(|(_, pid)| (pid, GROSS_SPECIMEN)));
    if parent.is_some() || slide.procedure.is_some() {
        steps.push(sampling_step(&slide, slide_id, parent, BLOCK_SECTIONING));
    }
    if let Some(stain) = &slide.stain_code {
        steps.push(step(vec![
            text_item(SPECIMEN_IDENTIFIER, slide_id),
            code_content(PROCESSING_TYPE, STAINING),
            code_content(USING_SUBSTANCE, (stain, LOCAL_SCHEME, stain)),
        ]));
    }
    steps
}

/// A readable account of the hierarchy, for SpecimenDetailedDescription.
fn detailed_description(h: &SpecimenHierarchy) -> Option<String> {
    let mut parts = Vec::new();
    for (label, level) in [
        ("Specimen", &h.specimen),
        ("Block", &h.block),
        ("Slide", &h.slide),
    ] {
        let Some(l) = level else { continue };
        let mut fields = Vec::new();
        if let Some(v) = &l.identifier {
            fields.push(format!("identifier {v}"));
        }
        if let Some(v) = &l.alias {
            fields.push(format!("alias {v}"));
        }
        if let Some(v) = &l.procedure {
            fields.push(format!("procedure {v}"));
        }
        if let Some(v) = &l.body_site {
            fields.push(format!("body site {v}"));
        }
        if let Some(v) = &l.stain_code {
            fields.push(format!("stain {v}"));
        }
        if !fields.is_empty() {
            parts.push(format!("{label}: {}", fields.join(", ")));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The one Specimen Description item of the slide. `barcode` names the
/// specimen when the hierarchy does not; `specimen_uid` is its UID.
pub(crate) fn description_item(
    h: &SpecimenHierarchy,
    barcode: &str,
    specimen_uid: &str,
) -> InMemDicomObject {
    let slide = h.slide.clone().unwrap_or_default();
    let slide_id = name_of(&slide).unwrap_or(barcode).to_owned();
    let mut item = InMemDicomObject::from_element_iter([
        text(tags::SPECIMEN_IDENTIFIER, VR::LO, &slide_id),
        seq(tags::ISSUER_OF_THE_SPECIMEN_IDENTIFIER_SEQUENCE, Vec::new()),
        text(tags::SPECIMEN_UID, VR::UI, specimen_uid),
        seq(
            tags::SPECIMEN_PREPARATION_SEQUENCE,
            preparation_steps(h, &slide_id),
        ),
    ]);
    if let Some(alias) = &slide.alias {
        item.put(text(tags::SPECIMEN_SHORT_DESCRIPTION, VR::LO, alias));
    }
    if let Some(d) = detailed_description(h) {
        item.put(text(tags::SPECIMEN_DETAILED_DESCRIPTION, VR::UT, &d));
    }
    item
}

/// Fills what the Specimen module requires in items the sender wrote itself.
pub(crate) fn complete_item(item: &mut InMemDicomObject, barcode: &str, specimen_uid: &str) {
    if item.get(tags::SPECIMEN_IDENTIFIER).is_none() {
        item.put(text(tags::SPECIMEN_IDENTIFIER, VR::LO, barcode));
    }
    if item.get(tags::SPECIMEN_UID).is_none() {
        item.put(text(tags::SPECIMEN_UID, VR::UI, specimen_uid));
    }
    for tag in [
        tags::ISSUER_OF_THE_SPECIMEN_IDENTIFIER_SEQUENCE,
        tags::SPECIMEN_PREPARATION_SEQUENCE,
    ] {
        if item.get(tag).is_none() {
            item.put(seq(tag, Vec::new()));
        }
    }
}
