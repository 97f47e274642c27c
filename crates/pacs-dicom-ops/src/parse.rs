//! Reading what the index keeps from a received Part 10 file.

use std::io::{BufReader, Read, Seek, SeekFrom};

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use pacs_domain::ids::{
    PatientId, SeriesInstanceUid, SopClassUid, SopInstanceUid, StudyInstanceUid, TransferSyntaxUid,
};
use pacs_domain::model::{
    InstanceAttributes, InstanceHeader, PatientAttributes, SeriesAttributes, StudyAttributes,
};

use crate::charset::normalize_code_extensions;
use crate::error::DicomError;
use crate::frames::{FrameGeometry, frame_index};
use crate::json::header_json;
use crate::layout::{Encoding, dataset_start, pixel_data_offset, pixel_layout};
use crate::values::{int, text};

fn first_item_text(obj: &InMemDicomObject, seq: Tag, tag: Tag) -> Option<String> {
    let items = obj.get(seq)?.items()?;
    text(items.first()?, tag)
}

/// Checks the 128-byte preamble and `DICM` prefix, and leaves `r` at its start.
pub fn check_part10<R: Read + Seek>(r: &mut R) -> Result<(), DicomError> {
    let mut head = [0u8; 132];
    r.seek(SeekFrom::Start(0))?;
    let mut got = 0;
    while got < head.len() {
        match r.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    if got < 132 || &head[128..132] != b"DICM" {
        return Err(DicomError::NotPart10(
            "no 128-byte preamble and DICM prefix (a File Meta Information header is required)"
                .into(),
        ));
    }
    r.seek(SeekFrom::Start(0))?;
    Ok(())
}

/// The file's Transfer Syntax UID without its padding.
pub(crate) fn transfer_syntax_of(file: &DefaultDicomObject) -> String {
    file.meta()
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_owned()
}

/// Opens a whole Part 10 object (pixel data included), reading through a
/// buffer of `buffer` bytes.
pub(crate) fn open_whole<R: Read + Seek>(
    mut r: R,
    buffer: usize,
) -> Result<DefaultDicomObject, DicomError> {
    check_part10(&mut r)?;
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .from_reader(BufReader::with_capacity(buffer, r))
        .map_err(|e| DicomError::Parse(e.to_string()))
}

/// Opens the header (everything before Pixel Data) of a Part 10 file.
pub fn open_header<R: Read + Seek>(r: &mut R) -> Result<DefaultDicomObject, DicomError> {
    check_part10(r)?;
    let mut obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Always)
        .read_until(tags::PIXEL_DATA)
        .from_reader(BufReader::with_capacity(64 * 1024, &mut *r))
        .map_err(|e| {
            let msg = e.to_string();
            if msg.to_ascii_lowercase().contains("meta") {
                DicomError::BadMeta(msg)
            } else {
                DicomError::Parse(msg)
            }
        })?;
    normalize_code_extensions(&mut obj);
    Ok(obj)
}

/// Reads the header of a Part 10 file and extracts what the index keeps.
///
/// Fails when the file is not Part 10, cannot be parsed, or lacks or has an
/// invalid Study, Series or SOP Instance UID or SOP Class UID.
/// Refuses values of the VRs with a 16-bit length in Explicit VR that are too
/// long for it (an Implicit VR file can carry them): such an object could be
/// stored but never written again. Sequences are checked item by item.
fn check_value_lengths(obj: &InMemDicomObject) -> Result<(), DicomError> {
    use dicom_core::header::Header;
    for elem in obj.iter() {
        let vr = elem.vr();
        if let Some(items) = elem.items() {
            for item in items {
                check_value_lengths(item)?;
            }
            continue;
        }
        if !short_length(vr) {
            continue;
        }
        let bytes = match elem.value() {
            dicom_core::DicomValue::Primitive(p) => p.calculate_byte_len(),
            _ => 0,
        };
        if bytes > 0xFFFE {
            return Err(DicomError::ValueTooLong {
                tag: format!("({:04X},{:04X})", elem.tag().group(), elem.tag().element()),
                keyword: crate::keyword_of(elem.tag()).unwrap_or("").to_owned(),
                vr: vr.to_string().to_owned(),
                bytes,
            });
        }
    }
    Ok(())
}

/// VRs whose Explicit VR length field has 16 bits (PS3.5 §7.1.2).
fn short_length(vr: VR) -> bool {
    use VR::*;
    matches!(
        vr,
        AE | AS
            | AT
            | CS
            | DA
            | DS
            | DT
            | FL
            | FD
            | IS
            | LO
            | LT
            | PN
            | SH
            | SL
            | SS
            | ST
            | TM
            | UI
            | UL
            | US
    )
}

pub fn read_header<R: Read + Seek>(mut r: R) -> Result<InstanceHeader, DicomError> {
    let file = open_header(&mut r)?;
    let meta = file.meta();
    let ts_raw = transfer_syntax_of(&file);
    let transfer_syntax = TransferSyntaxUid::new(&ts_raw)?;
    let obj: &InMemDicomObject = &file;
    check_value_lengths(obj)?;

    let uid = |tag: Tag, name: &'static str| -> Result<String, DicomError> {
        text(obj, tag).ok_or(DicomError::Missing(name))
    };
    let sop_uid = SopInstanceUid::new(&uid(tags::SOP_INSTANCE_UID, "SOPInstanceUID")?)?;
    let sop_class = match text(obj, tags::SOP_CLASS_UID) {
        Some(c) => SopClassUid::new(&c)?,
        None => SopClassUid::new(meta.media_storage_sop_class_uid())?,
    };
    let study_uid = StudyInstanceUid::new(&uid(tags::STUDY_INSTANCE_UID, "StudyInstanceUID")?)?;
    let series_uid = SeriesInstanceUid::new(&uid(tags::SERIES_INSTANCE_UID, "SeriesInstanceUID")?)?;
    let patient_id = PatientId::new(&text(obj, tags::PATIENT_ID).unwrap_or_default())?;

    let patient = PatientAttributes {
        patient_id,
        issuer: text(obj, tags::ISSUER_OF_PATIENT_ID),
        name: text(obj, tags::PATIENT_NAME),
        birth_date: text(obj, tags::PATIENT_BIRTH_DATE),
        sex: text(obj, tags::PATIENT_SEX),
    };
    let study = StudyAttributes {
        study_uid,
        study_date: text(obj, tags::STUDY_DATE),
        study_time: text(obj, tags::STUDY_TIME),
        accession_number: text(obj, tags::ACCESSION_NUMBER),
        study_id: text(obj, tags::STUDY_ID),
        description: text(obj, tags::STUDY_DESCRIPTION),
        referring_physician: text(obj, tags::REFERRING_PHYSICIAN_NAME),
    };
    let series = SeriesAttributes {
        series_uid,
        modality: text(obj, tags::MODALITY),
        series_number: int(obj, tags::SERIES_NUMBER),
        description: text(obj, tags::SERIES_DESCRIPTION),
        body_part: text(obj, tags::BODY_PART_EXAMINED),
        laterality: text(obj, tags::LATERALITY),
        protocol_name: text(obj, tags::PROTOCOL_NAME),
        station_name: text(obj, tags::STATION_NAME),
        performed_start_date: text(obj, tags::PERFORMED_PROCEDURE_STEP_START_DATE),
        performed_start_time: text(obj, tags::PERFORMED_PROCEDURE_STEP_START_TIME),
    };
    let instance = InstanceAttributes {
        sop_uid,
        sop_class,
        transfer_syntax,
        instance_number: int(obj, tags::INSTANCE_NUMBER),
        number_of_frames: int(obj, tags::NUMBER_OF_FRAMES),
        rows: int(obj, tags::ROWS),
        columns: int(obj, tags::COLUMNS),
        content_date: text(obj, tags::CONTENT_DATE),
        content_time: text(obj, tags::CONTENT_TIME),
        acquisition_time: text(obj, tags::ACQUISITION_TIME),
        image_type: text(obj, tags::IMAGE_TYPE),
        image_laterality: text(obj, tags::IMAGE_LATERALITY),
        view_position: text(obj, tags::VIEW_POSITION),
        code_meaning: first_item_text(obj, tags::CONCEPT_NAME_CODE_SEQUENCE, tags::CODE_MEANING),
        container_identifier: text(obj, tags::CONTAINER_IDENTIFIER),
        total_pixel_matrix_rows: int(obj, tags::TOTAL_PIXEL_MATRIX_ROWS),
        total_pixel_matrix_columns: int(obj, tags::TOTAL_PIXEL_MATRIX_COLUMNS),
    };
    let dicom_json = header_json(obj)?;

    let (pixel_data_offset, frame_index) = match Encoding::of_transfer_syntax(&ts_raw) {
        Some(enc) => {
            let start = dataset_start(&mut r)?;
            let offset = pixel_data_offset(&mut r, start, enc)
                .map_err(|e| DicomError::Parse(format!("cannot locate Pixel Data: {e}")))?;
            match offset {
                Some(at) => {
                    let layout = pixel_layout(&mut r, at, enc)
                        .map_err(|e| DicomError::Parse(e.to_string()))?;
                    let geometry = FrameGeometry::of(obj);
                    (Some(at), frame_index(&mut r, &layout, &geometry)?)
                }
                None => (None, None),
            }
        }
        None => (None, None),
    };
    Ok(InstanceHeader {
        patient,
        study,
        series,
        instance,
        dicom_json,
        pixel_data_offset,
        frame_index,
    })
}
