//! Pathology slides kept as the scanner wrote them: the DICOM object that
//! describes one (the "sidecar", of our own SOP class), and the checks of a
//! MIRAX zip. The mapping is documented in `docs/pathology.md`.

mod attributes;
mod metadata;
mod mirax;
mod specimen;
mod zip_out;

use std::io::{Read, Seek};

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use pacs_domain::model::{SlideFacts, SlideKind, SpecimenHierarchy};
use serde_json::{Map, Value};

pub use metadata::SlideDescription;
pub use mirax::{MiraxCheck, MiraxLimits, check_mirax};
pub use zip_out::{ZipEntry, write_stored_zip};

use crate::error::DicomError;
use crate::parse::open_header;
use crate::values::text;

/// SOP Class UID of the objects describing a slide file (set by the source
/// document; not a standard class).
pub const PATHOLOGY_SOP_CLASS: &str = "1.2.826.0.1.3680043.2.619.20220407.1";

/// Our private block: (0009,0010) names its creator; the elements record the
/// slide file the object describes, so a re-sent sidecar can be checked.
const PRIVATE_CREATOR: &str = "PACS_RS SLIDE";
const CREATOR_TAG: Tag = Tag(0x0009, 0x0010);
const SLIDE_KIND_TAG: Tag = Tag(0x0009, 0x1010);
const SLIDE_SHA1_TAG: Tag = Tag(0x0009, 0x1011);
const SLIDE_SIZE_TAG: Tag = Tag(0x0009, 0x1012);
/// The file name exactly as sent (UT, UTF-8), beside ReferencedFileID, whose
/// CS repertoire holds only ASCII.
const SLIDE_NAME_TAG: Tag = Tag(0x0009, 0x1013);

/// The file name in CS's repertoire: printable ASCII kept, every other byte
/// of its UTF-8 percent-encoded (`切片.svs` → `%E5%88%87%E7%89%87.svs`).
fn cs_file_name(name: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b'%').add(b'\\');
    percent_encoding::utf8_percent_encode(name, KEEP).to_string()
}

fn text_el(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn empty_el(tag: Tag, vr: VR) -> DataElement<InMemDicomObject> {
    if vr == VR::SQ {
        DataElement::new(tag, vr, DataSetSequence::<InMemDicomObject>::empty())
    } else {
        DataElement::new(tag, vr, PrimitiveValue::Empty)
    }
}

/// The validated `attributes` of an upload's metadata.
#[derive(Debug, Clone)]
pub struct SlideMetadata {
    obj: InMemDicomObject,
}

impl SlideMetadata {
    /// Builds the attributes, checking keywords, VRs and the mandatory
    /// PatientID, AccessionNumber and ContainerIdentifier.
    pub fn parse(attributes: &Map<String, Value>) -> Result<Self, DicomError> {
        let obj = attributes::dataset_from_attributes(attributes)?;
        let missing: Vec<&str> = [
            ("PatientID", tags::PATIENT_ID),
            ("AccessionNumber", tags::ACCESSION_NUMBER),
            ("ContainerIdentifier", tags::CONTAINER_IDENTIFIER),
        ]
        .into_iter()
        .filter(|(_, tag)| text(&obj, *tag).is_none())
        .map(|(k, _)| k)
        .collect();
        if !missing.is_empty() {
            return Err(DicomError::Metadata(format!(
                "the metadata attributes must contain PatientID, AccessionNumber and \
                 ContainerIdentifier; missing: {}",
                missing.join(", ")
            )));
        }
        Ok(Self { obj })
    }

    /// A top-level attribute's text, by tag (`None` when absent or empty).
    pub fn text(&self, tag: Tag) -> Option<String> {
        text(&self.obj, tag)
    }
}

/// The UIDs of a sidecar: given by the sender or derived.
#[derive(Debug, Clone)]
pub struct SidecarUids {
    pub study: String,
    pub series: String,
    pub sop: String,
}

fn put_slide_facts(obj: &mut InMemDicomObject, slide: &SlideFacts) {
    let kind = match slide.kind {
        SlideKind::File => "FILE",
        SlideKind::Mirax => "MIRAX",
    };
    obj.put(text_el(CREATOR_TAG, VR::LO, PRIVATE_CREATOR));
    obj.put(text_el(SLIDE_KIND_TAG, VR::CS, kind));
    obj.put(text_el(SLIDE_SHA1_TAG, VR::LO, &slide.sha1));
    obj.put(text_el(SLIDE_SIZE_TAG, VR::LO, &slide.size.to_string()));
    obj.put(text_el(
        tags::REFERENCED_FILE_ID,
        VR::CS,
        &cs_file_name(&slide.file_name),
    ));
    obj.put(text_el(SLIDE_NAME_TAG, VR::UT, &slide.file_name));
}

/// Builds the DICOM object describing a slide file. Deterministic: the same
/// metadata, UIDs and file give the same bytes (no creation time), so a slide
/// sent twice is recognised as already stored.
///
/// `specimen_uid` gives the SpecimenUID of a specimen identifier.
pub fn build_sidecar(
    metadata: SlideMetadata,
    hierarchy: Option<&SpecimenHierarchy>,
    uids: &SidecarUids,
    specimen_uid: &dyn Fn(&str) -> String,
    slide: &SlideFacts,
) -> Result<Vec<u8>, DicomError> {
    let mut obj = metadata.obj;
    let barcode = text(&obj, tags::CONTAINER_IDENTIFIER).unwrap_or_default();
    for (tag, vr, value) in [
        (tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        (tags::SOP_CLASS_UID, VR::UI, PATHOLOGY_SOP_CLASS),
        (tags::SOP_INSTANCE_UID, VR::UI, uids.sop.as_str()),
        (tags::STUDY_INSTANCE_UID, VR::UI, uids.study.as_str()),
        (tags::SERIES_INSTANCE_UID, VR::UI, uids.series.as_str()),
        (tags::MODALITY, VR::CS, "SM"),
    ] {
        obj.put(text_el(tag, vr, value));
    }
    if obj.get(tags::INSTANCE_NUMBER).is_none() {
        obj.put(text_el(tags::INSTANCE_NUMBER, VR::IS, "1"));
    }
    if obj.get(tags::CONTAINER_TYPE_CODE_SEQUENCE).is_none() {
        obj.put(DataElement::new(
            tags::CONTAINER_TYPE_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![specimen::code_item(specimen::MICROSCOPE_SLIDE)]),
        ));
    }
    // Type 2 attributes of the Patient, General Study, General Series, General
    // Equipment and Specimen modules: present, empty when unknown.
    for (tag, vr) in [
        (tags::PATIENT_NAME, VR::PN),
        (tags::PATIENT_BIRTH_DATE, VR::DA),
        (tags::PATIENT_SEX, VR::CS),
        (tags::STUDY_DATE, VR::DA),
        (tags::STUDY_TIME, VR::TM),
        (tags::REFERRING_PHYSICIAN_NAME, VR::PN),
        (tags::STUDY_ID, VR::SH),
        (tags::SERIES_NUMBER, VR::IS),
        (tags::MANUFACTURER, VR::LO),
        (tags::ISSUER_OF_THE_CONTAINER_IDENTIFIER_SEQUENCE, VR::SQ),
    ] {
        if obj.get(tag).is_none() {
            obj.put(empty_el(tag, vr));
        }
    }
    let items = match (hierarchy, obj.take(tags::SPECIMEN_DESCRIPTION_SEQUENCE)) {
        (Some(h), _) => vec![specimen::description_item(
            h,
            &barcode,
            &specimen_uid(
                &h.slide
                    .as_ref()
                    .and_then(|s| s.identifier.clone())
                    .unwrap_or_else(|| barcode.clone()),
            ),
        )],
        (None, Some(given)) => {
            let mut items = given.items().map(|i| i.to_vec()).unwrap_or_default();
            for item in &mut items {
                let id = text(item, tags::SPECIMEN_IDENTIFIER).unwrap_or_else(|| barcode.clone());
                specimen::complete_item(item, &barcode, &specimen_uid(&id));
            }
            if items.is_empty() {
                items.push(specimen::description_item(
                    &SpecimenHierarchy::default(),
                    &barcode,
                    &specimen_uid(&barcode),
                ));
            }
            items
        }
        (None, None) => vec![specimen::description_item(
            &SpecimenHierarchy::default(),
            &barcode,
            &specimen_uid(&barcode),
        )],
    };
    obj.put(DataElement::new(
        tags::SPECIMEN_DESCRIPTION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(items),
    ));
    put_slide_facts(&mut obj, slide);
    crate::kos::write_part10(obj)
}

/// A sidecar sent back with its slide: one of our pathology objects.
#[derive(Debug, Clone)]
pub struct Sidecar {
    obj: InMemDicomObject,
    /// The file it describes (ReferencedFileID).
    pub referenced_file: String,
    /// What kind of slide it describes.
    pub kind: SlideKind,
}

/// Reads a sidecar; anything but one of our pathology objects is refused.
pub fn read_sidecar<R: Read + Seek>(mut r: R) -> Result<Sidecar, DicomError> {
    let file = open_header(&mut r)?;
    let obj: InMemDicomObject = file.into_inner();
    let not_ours = |why: &str| DicomError::NotOurSidecar(why.to_owned());
    if text(&obj, tags::SOP_CLASS_UID).as_deref() != Some(PATHOLOGY_SOP_CLASS) {
        return Err(not_ours(&format!(
            "its SOP Class UID is not {PATHOLOGY_SOP_CLASS}"
        )));
    }
    if text(&obj, CREATOR_TAG).as_deref() != Some(PRIVATE_CREATOR) {
        return Err(not_ours("it was not generated by this archive"));
    }
    let kind = match text(&obj, SLIDE_KIND_TAG).as_deref() {
        Some("FILE") => SlideKind::File,
        Some("MIRAX") => SlideKind::Mirax,
        _ => return Err(not_ours("it does not say what kind of slide it describes")),
    };
    // The exact name where it is kept, else (older sidecars) ReferencedFileID.
    let referenced_file = text(&obj, SLIDE_NAME_TAG)
        .or_else(|| text(&obj, tags::REFERENCED_FILE_ID))
        .ok_or_else(|| not_ours("it has no ReferencedFileID"))?;
    for tag in [
        tags::PATIENT_ID,
        tags::STUDY_INSTANCE_UID,
        tags::SERIES_INSTANCE_UID,
        tags::SOP_INSTANCE_UID,
        tags::CONTAINER_IDENTIFIER,
    ] {
        if text(&obj, tag).is_none() {
            return Err(not_ours(&format!(
                "it lacks {}",
                crate::keyword_of(tag).unwrap_or("a mandatory attribute")
            )));
        }
    }
    Ok(Sidecar {
        obj,
        referenced_file,
        kind,
    })
}

impl Sidecar {
    /// The object to store with `slide`: the sidecar's attributes and UIDs,
    /// recording the file actually received.
    pub fn restamp(mut self, slide: &SlideFacts) -> Result<Vec<u8>, DicomError> {
        put_slide_facts(&mut self.obj, slide);
        crate::kos::write_part10(self.obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacs_domain::model::SpecimenLevel;
    use serde_json::json;

    fn facts() -> SlideFacts {
        SlideFacts {
            kind: SlideKind::File,
            file_name: "slide one.svs".into(),
            size: 1234,
            sha1: "a".repeat(40),
        }
    }

    fn uids() -> SidecarUids {
        SidecarUids {
            study: "2.25.1".into(),
            series: "2.25.2".into(),
            sop: "2.25.3".into(),
        }
    }

    #[test]
    fn sidecar_round_trip_is_deterministic() {
        let attrs = json!({"PatientID": "P", "AccessionNumber": "A", "ContainerIdentifier": "C-1",
            "PatientName": "TEST^TEST"});
        let h = SpecimenHierarchy {
            slide: Some(SpecimenLevel {
                identifier: Some("222".into()),
                stain_code: Some("EE".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let uid = |id: &str| format!("2.25.9{}", id.len());
        let build = || {
            let m = SlideMetadata::parse(attrs.as_object().unwrap()).unwrap();
            build_sidecar(m, Some(&h), &uids(), &uid, &facts()).unwrap()
        };
        let a = build();
        assert_eq!(a, build());
        let header = crate::read_header(std::io::Cursor::new(&a)).unwrap();
        assert_eq!(header.instance.sop_class.as_str(), PATHOLOGY_SOP_CLASS);
        assert_eq!(header.series.modality.as_deref(), Some("SM"));
        let sidecar = read_sidecar(std::io::Cursor::new(&a)).unwrap();
        assert_eq!(sidecar.referenced_file, "slide one.svs");
        assert_eq!(sidecar.restamp(&facts()).unwrap(), a);
    }

    #[test]
    fn a_name_outside_ascii_is_kept_exactly_and_percent_encoded_as_cs() {
        let attrs = json!({"PatientID": "P", "AccessionNumber": "A", "ContainerIdentifier": "C-2"});
        let m = SlideMetadata::parse(attrs.as_object().unwrap()).unwrap();
        let slide = SlideFacts {
            file_name: "切片 ☃.svs".into(),
            ..facts()
        };
        let bytes = build_sidecar(m, None, &uids(), &|_| "2.25.7".into(), &slide).unwrap();
        let sidecar = read_sidecar(std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(sidecar.referenced_file, "切片 ☃.svs");
        assert_eq!(
            text(&sidecar.obj, tags::REFERENCED_FILE_ID).as_deref(),
            Some("%E5%88%87%E7%89%87 %E2%98%83.svs")
        );
        assert_eq!(cs_file_name("a\\b%.svs"), "a%5Cb%25.svs");
    }

    #[test]
    fn mandatory_attributes() {
        let e = SlideMetadata::parse(json!({"PatientID": "P"}).as_object().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("AccessionNumber, ContainerIdentifier"), "{e}");
    }
}
