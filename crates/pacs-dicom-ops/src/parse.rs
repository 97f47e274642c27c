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
use crate::layout::{
    Encoding, check_declared_lengths, dataset_start, meta_transfer_syntax, pixel_data_offset,
    pixel_layout,
};
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

/// The largest deflated data set (once inflated) [`open_bounded`] parses.
pub const MAX_INFLATED: u64 = 64 << 20;

/// How much of an object [`open_bounded`] parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything, pixel data included.
    Whole,
    /// Everything before Pixel Data (what the index and the header rewrite need).
    Header,
}

/// Opens a Part 10 object with dicom-object, but only once no declared length
/// of the File Meta group or of the data set (sequences, items and fragments
/// included) exceeds what the input still holds.
///
/// dicom-object reserves and zero-fills each value's declared length before
/// reading it: a 10 KB file declaring a 3 GB value costs 3 GB of memory.
/// Every parse of a received or stored object goes through here (STOW-RS
/// ingest, rendering, header rewriting, and C-STORE reception when it comes);
/// nothing else in the workspace calls `OpenFileOptions` or `open_file`.
/// A deflated data set is inflated for the check, and refused above
/// [`MAX_INFLATED`] bytes.
pub fn open_bounded<R: Read + Seek>(
    mut r: R,
    scope: Scope,
    buffer: usize,
) -> Result<DefaultDicomObject, DicomError> {
    check_part10(&mut r)?;
    let refused = |what: &str, why: String| DicomError::Parse(format!("{what}: {why}"));
    let until_data_set = Some((0x0003, 0x0000));
    let meta = check_declared_lengths(&mut r, 132, Encoding::ExplicitLe, until_data_set, &|_| {
        false
    })?;
    meta.map_err(|b| DicomError::BadMeta(b.0))?;
    let ts = meta_transfer_syntax(&mut r)?.unwrap_or_default();
    match Encoding::of_transfer_syntax(&ts) {
        Some(enc) => {
            let start = dataset_start(&mut r)?;
            let until = (scope == Scope::Header).then_some((0x7FE0, 0x0010));
            check_declared_lengths(&mut r, start, enc, until, &implicit_sequence)?
                .map_err(|b| refused("the data set cannot be read", b.0))?;
        }
        None => {
            // Deflated: the lengths are inside the compressed stream, walked
            // once inflated (into memory, so up to a bound).
            let start = dataset_start(&mut r)?;
            r.seek(SeekFrom::Start(start))?;
            let mut inflated = Vec::new();
            flate2::read::DeflateDecoder::new(BufReader::new(&mut r))
                .take(MAX_INFLATED + 1)
                .read_to_end(&mut inflated)
                .map_err(|e| refused("the deflated data set cannot be inflated", e.to_string()))?;
            if inflated.len() as u64 > MAX_INFLATED {
                return Err(DicomError::Parse(format!(
                    "a deflated data set over {MAX_INFLATED} bytes once inflated is not parsed"
                )));
            }
            let until = (scope == Scope::Header).then_some((0x7FE0, 0x0010));
            let mut inflated = std::io::Cursor::new(inflated);
            check_declared_lengths(
                &mut inflated,
                0,
                Encoding::ExplicitLe,
                until,
                &implicit_sequence,
            )?
            .map_err(|b| refused("the data set cannot be read", b.0))?;
        }
    }
    r.seek(SeekFrom::Start(0))?;
    let options = OpenFileOptions::new().read_preamble(ReadPreamble::Always);
    let options = match scope {
        Scope::Whole => options,
        Scope::Header => options.read_until(tags::PIXEL_DATA),
    };
    let mut obj = options
        .from_reader(BufReader::with_capacity(buffer, r))
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

/// Whether an Implicit VR element holds a sequence, as dicom-object decides it
/// (by the standard dictionary).
fn implicit_sequence(tag: (u16, u16)) -> bool {
    use dicom_core::dictionary::DataDictionary;
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(Tag(tag.0, tag.1))
        .is_some_and(|e| e.vr.relaxed() == VR::SQ)
}

/// Opens a whole Part 10 object (pixel data included), reading through a
/// buffer of `buffer` bytes.
pub(crate) fn open_whole<R: Read + Seek>(
    r: R,
    buffer: usize,
) -> Result<DefaultDicomObject, DicomError> {
    open_bounded(r, Scope::Whole, buffer)
}

/// Opens the header (everything before Pixel Data) of a Part 10 file.
pub fn open_header<R: Read + Seek>(r: &mut R) -> Result<DefaultDicomObject, DicomError> {
    open_bounded(&mut *r, Scope::Header, 64 * 1024)
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

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use dicom_object::meta::FileMetaTableBuilder;

    use super::*;

    /// A Part 10 file of transfer syntax `ts` around the data set `data_set`.
    fn part10(ts: &str, data_set: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; 128];
        out.extend_from_slice(b"DICM");
        FileMetaTableBuilder::new()
            .transfer_syntax(ts)
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("1.2.3.4")
            .build()
            .unwrap()
            .write(&mut out)
            .unwrap();
        out.extend_from_slice(data_set);
        out
    }

    /// An element in Implicit VR Little Endian (`len` as declared).
    fn implicit(group: u16, elem: u16, len: u32, value: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&group.to_le_bytes());
        e.extend_from_slice(&elem.to_le_bytes());
        e.extend_from_slice(&len.to_le_bytes());
        e.extend_from_slice(value);
        e
    }

    fn explicit_lo(group: u16, elem: u16, len: u16, value: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend_from_slice(&group.to_le_bytes());
        e.extend_from_slice(&elem.to_le_bytes());
        e.extend_from_slice(b"UN\0\0");
        e.extend_from_slice(&u32::from(len).to_le_bytes());
        e.extend_from_slice(value);
        e
    }

    const HUGE: u32 = 0x9898_9898;

    #[test]
    fn a_declared_length_the_file_cannot_hold_is_refused_before_parsing() {
        let sop = implicit(0x0008, 0x0018, 8, b"1.2.3.4\0");
        let sound = part10("1.2.840.10008.1.2", &sop);
        assert!(open_bounded(Cursor::new(&sound), Scope::Whole, 4096).is_ok());

        let mut lying = sop.clone();
        lying.extend(implicit(0x0010, 0x0010, HUGE, b"garbage!"));
        for scope in [Scope::Header, Scope::Whole] {
            let err = open_bounded(
                Cursor::new(part10("1.2.840.10008.1.2", &lying)),
                scope,
                4096,
            )
            .unwrap_err();
            assert!(err.to_string().contains("remain in the file"), "{err}");
        }
        // Inside an item of an undefined-length sequence.
        let mut nested = sop.clone();
        let item = implicit(
            0xFFFE,
            0xE000,
            u32::MAX,
            &implicit(0x0008, 0x0100, HUGE, b"x"),
        );
        nested.extend(implicit(0x0008, 0x1140, u32::MAX, &item));
        let err = open_bounded(
            Cursor::new(part10("1.2.840.10008.1.2", &nested)),
            Scope::Header,
            4096,
        )
        .unwrap_err();
        assert!(err.to_string().contains("(0008,0100)"), "{err}");
    }

    #[test]
    fn a_deflated_data_set_is_checked_once_inflated() {
        let mut data_set = explicit_lo(0x0009, 0x0010, 4, b"ABCD");
        let deflate = |ds: &[u8]| {
            let mut z =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            z.write_all(ds).unwrap();
            part10("1.2.840.10008.1.2.1.99", &z.finish().unwrap())
        };
        assert!(open_bounded(Cursor::new(deflate(&data_set)), Scope::Whole, 4096).is_ok());
        // A 4-byte length field of UN declaring ~2.5 GB.
        data_set.extend_from_slice(&[0x11, 0x00, 0x10, 0x00, b'U', b'N', 0, 0]);
        data_set.extend_from_slice(&HUGE.to_le_bytes());
        data_set.extend_from_slice(b"garbage");
        let err = open_bounded(Cursor::new(deflate(&data_set)), Scope::Header, 4096).unwrap_err();
        assert!(err.to_string().contains("remain in the file"), "{err}");
    }
}
