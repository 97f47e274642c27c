//! Key Object Selection documents (PS3.3 A.35.4, TID 2010) titled "Manifest"
//! (113030, DCM), referencing every instance of a study: the manifest of an
//! IHE XDS-I.b imaging document set.

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use pacs_domain::model::{PatientAttributes, StudyAttributes};

use crate::error::DicomError;

/// Our implementation class UID (a fixed 2.25 UID) and version name.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.142043367497213906371245478315611290163";
pub const IMPLEMENTATION_VERSION: &str = "PACS_RS_0_1";

/// How the content tree refers to an instance (TID 2010 rows 3–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    Image,
    Waveform,
    Composite,
}

/// One referenced instance.
#[derive(Debug, Clone)]
pub struct KosReference {
    pub series_uid: String,
    pub sop_class: String,
    pub sop_uid: String,
    pub kind: ReferenceKind,
}

/// Everything a manifest is made of.
#[derive(Debug, Clone)]
pub struct KosInput<'a> {
    pub patient: &'a PatientAttributes,
    pub study: &'a StudyAttributes,
    pub series_uid: &'a str,
    pub sop_uid: &'a str,
    pub series_number: i32,
    /// Content and creation date (`YYYYMMDD`) and time (`HHMMSS`).
    pub date: &'a str,
    pub time: &'a str,
    /// Where the referenced instances are retrieved (per series).
    pub retrieve_ae: &'a str,
    /// `…/wado-rs/{AET}` of this archive; series URLs are built from it.
    pub retrieve_base_url: &'a str,
    pub references: &'a [KosReference],
}

fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn opt(tag: Tag, vr: VR, value: Option<&str>) -> DataElement<InMemDicomObject> {
    match value {
        Some(v) => text(tag, vr, v),
        None => DataElement::new(tag, vr, PrimitiveValue::Empty),
    }
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

fn sop_ref(class: &str, uid: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, class),
        text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid),
    ])
}

/// The manifest as a Part 10 file (explicit VR little endian, UTF-8 text).
pub fn build_kos(k: &KosInput<'_>) -> Result<Vec<u8>, DicomError> {
    if k.references.is_empty() {
        return Err(DicomError::Encode(
            "a manifest needs at least one referenced instance".into(),
        ));
    }
    let (p, s) = (k.patient, k.study);
    // Evidence: the study, its series (with where to retrieve them), their instances.
    let mut series_order: Vec<&str> = Vec::new();
    for r in k.references {
        if !series_order.contains(&r.series_uid.as_str()) {
            series_order.push(&r.series_uid);
        }
    }
    let series_items: Vec<InMemDicomObject> = series_order
        .iter()
        .map(|series| {
            let sops: Vec<InMemDicomObject> = k
                .references
                .iter()
                .filter(|r| r.series_uid == *series)
                .map(|r| sop_ref(&r.sop_class, &r.sop_uid))
                .collect();
            InMemDicomObject::from_element_iter([
                text(tags::RETRIEVE_AE_TITLE, VR::AE, k.retrieve_ae),
                text(
                    tags::RETRIEVE_URL,
                    VR::UR,
                    &format!(
                        "{}/studies/{}/series/{series}",
                        k.retrieve_base_url, s.study_uid
                    ),
                ),
                seq(tags::REFERENCED_SOP_SEQUENCE, sops),
                text(tags::SERIES_INSTANCE_UID, VR::UI, series),
            ])
        })
        .collect();
    let evidence = InMemDicomObject::from_element_iter([
        seq(tags::REFERENCED_SERIES_SEQUENCE, series_items),
        text(tags::STUDY_INSTANCE_UID, VR::UI, s.study_uid.as_str()),
    ]);
    // Content tree (TID 2010): one item per referenced instance.
    let content: Vec<InMemDicomObject> = k
        .references
        .iter()
        .map(|r| {
            let value_type = match r.kind {
                ReferenceKind::Image => "IMAGE",
                ReferenceKind::Waveform => "WAVEFORM",
                ReferenceKind::Composite => "COMPOSITE",
            };
            InMemDicomObject::from_element_iter([
                seq(
                    tags::REFERENCED_SOP_SEQUENCE,
                    vec![sop_ref(&r.sop_class, &r.sop_uid)],
                ),
                text(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
                text(tags::VALUE_TYPE, VR::CS, value_type),
            ])
        })
        .collect();
    let obj = InMemDicomObject::from_element_iter([
        text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        text(tags::INSTANCE_CREATION_DATE, VR::DA, k.date),
        text(tags::INSTANCE_CREATION_TIME, VR::TM, k.time),
        text(
            tags::SOP_CLASS_UID,
            VR::UI,
            uids::KEY_OBJECT_SELECTION_DOCUMENT_STORAGE,
        ),
        text(tags::SOP_INSTANCE_UID, VR::UI, k.sop_uid),
        opt(tags::STUDY_DATE, VR::DA, s.study_date.as_deref()),
        text(tags::CONTENT_DATE, VR::DA, k.date),
        opt(tags::STUDY_TIME, VR::TM, s.study_time.as_deref()),
        text(tags::CONTENT_TIME, VR::TM, k.time),
        opt(
            tags::ACCESSION_NUMBER,
            VR::SH,
            s.accession_number.as_deref(),
        ),
        text(tags::MODALITY, VR::CS, "KO"),
        text(tags::MANUFACTURER, VR::LO, "pacs"),
        opt(
            tags::REFERRING_PHYSICIAN_NAME,
            VR::PN,
            s.referring_physician.as_deref(),
        ),
        opt(tags::STUDY_DESCRIPTION, VR::LO, s.description.as_deref()),
        seq(
            tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
            Vec::new(),
        ),
        opt(tags::PATIENT_NAME, VR::PN, p.name.as_deref()),
        text(tags::PATIENT_ID, VR::LO, p.patient_id.as_str()),
        opt(tags::ISSUER_OF_PATIENT_ID, VR::LO, p.issuer.as_deref()),
        opt(tags::PATIENT_BIRTH_DATE, VR::DA, p.birth_date.as_deref()),
        opt(tags::PATIENT_SEX, VR::CS, p.sex.as_deref()),
        text(tags::STUDY_INSTANCE_UID, VR::UI, s.study_uid.as_str()),
        text(tags::SERIES_INSTANCE_UID, VR::UI, k.series_uid),
        opt(tags::STUDY_ID, VR::SH, s.study_id.as_deref()),
        text(tags::SERIES_NUMBER, VR::IS, &k.series_number.to_string()),
        text(tags::INSTANCE_NUMBER, VR::IS, "1"),
        text(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        seq(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("113030", "DCM", "Manifest")],
        ),
        text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        seq(
            tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
            vec![evidence],
        ),
        seq(
            tags::CONTENT_TEMPLATE_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                text(tags::MAPPING_RESOURCE, VR::CS, "DCMR"),
                text(tags::TEMPLATE_IDENTIFIER, VR::CS, "2010"),
            ])],
        ),
        seq(tags::CONTENT_SEQUENCE, content),
    ]);
    write_part10(obj)
}

/// Writes a data set as a Part 10 file in explicit VR little endian.
pub fn write_part10(obj: InMemDicomObject) -> Result<Vec<u8>, DicomError> {
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name(IMPLEMENTATION_VERSION),
        )
        .map_err(|e| DicomError::Encode(e.to_string()))?;
    let mut out = Vec::with_capacity(4096);
    file.write_all(&mut out)
        .map_err(|e| DicomError::Encode(e.to_string()))?;
    Ok(out)
}
