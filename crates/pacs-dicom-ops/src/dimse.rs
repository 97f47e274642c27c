//! DIMSE command sets (PS3.7 §9.3, §E) and the Part 10 header of a data set
//! received over the network.
//!
//! Command sets are always Implicit VR Little Endian. They are small and come
//! from peers we do not trust: every declared length is checked against the
//! bytes received before dicom-object parses them, so a lying length cannot
//! make the parser allocate what was never sent.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
/// The keys a retrieval names its instances by.
pub use dicom_dictionary_std::tags::{SERIES_INSTANCE_UID, SOP_INSTANCE_UID, STUDY_INSTANCE_UID};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

use crate::error::DicomError;

/// Command Data Set Type value meaning "no data set follows" (PS3.7 §E.1).
const NO_DATA_SET: u16 = 0x0101;

/// Command Field values (PS3.7 §E.1) of the services this archive knows.
pub mod field {
    pub const C_STORE_RQ: u16 = 0x0001;
    pub const C_STORE_RSP: u16 = 0x8001;
    pub const C_GET_RQ: u16 = 0x0010;
    pub const C_GET_RSP: u16 = 0x8010;
    pub const C_FIND_RQ: u16 = 0x0020;
    pub const C_FIND_RSP: u16 = 0x8020;
    pub const C_MOVE_RQ: u16 = 0x0021;
    pub const C_MOVE_RSP: u16 = 0x8021;
    pub const C_ECHO_RQ: u16 = 0x0030;
    pub const C_ECHO_RSP: u16 = 0x8030;
    pub const C_CANCEL_RQ: u16 = 0x0FFF;
    pub const N_EVENT_REPORT_RQ: u16 = 0x0100;
    pub const N_EVENT_REPORT_RSP: u16 = 0x8100;
    pub const N_ACTION_RQ: u16 = 0x0130;
    pub const N_ACTION_RSP: u16 = 0x8130;
}

/// The Sub-operation counters of C-MOVE and C-GET responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubOperations {
    pub remaining: u16,
    pub completed: u16,
    pub failed: u16,
    pub warning: u16,
}

/// One DIMSE command set, request or response: the elements this archive
/// reads or writes, each absent when the command does not carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DimseCommand {
    pub field: u16,
    pub message_id: Option<u16>,
    pub responding_to: Option<u16>,
    /// Affected SOP Class UID (or, on reading, Requested SOP Class UID).
    pub sop_class: Option<String>,
    /// Affected SOP Instance UID (or, on reading, Requested SOP Instance UID).
    pub sop_instance: Option<String>,
    pub priority: Option<u16>,
    pub move_destination: Option<String>,
    pub has_data_set: bool,
    pub status: Option<u16>,
    pub error_comment: Option<String>,
    pub sub_operations: Option<SubOperations>,
    /// Move Originator AE Title and Message ID of a C-STORE that is a C-MOVE's
    /// sub-operation.
    pub move_originator: Option<(String, u16)>,
    /// Action Type ID (N-ACTION) or Event Type ID (N-EVENT-REPORT).
    pub type_id: Option<u16>,
}

impl DimseCommand {
    /// A response to `request` with `status`, naming the same SOP class and instance.
    pub fn response_to(request: &DimseCommand, status: u16) -> Self {
        Self {
            field: request.field | 0x8000,
            responding_to: request.message_id,
            sop_class: request.sop_class.clone(),
            sop_instance: request.sop_instance.clone(),
            status: Some(status),
            ..Self::default()
        }
    }
}

/// Most bytes a command set may have: a few UIDs and numbers fit in far less.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// Checks that every element of an Implicit VR Little Endian group 0000 set
/// declares a defined length that the buffer holds.
fn check_lengths(bytes: &[u8]) -> Result<(), DicomError> {
    let bad = |m: String| Err(DicomError::Parse(format!("command set: {m}")));
    if bytes.len() > MAX_COMMAND_BYTES {
        return bad(format!(
            "{} bytes is more than a command set holds",
            bytes.len()
        ));
    }
    let mut at = 0usize;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 8) else {
            return bad(format!("truncated element header at byte {at}"));
        };
        let group = u16::from_le_bytes([head[0], head[1]]);
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if group != 0x0000 {
            return bad(format!("element of group {group:04X} in a command set"));
        }
        if len > bytes.len() - at - 8 {
            return bad(format!(
                "an element declares {len} bytes where {} remain",
                bytes.len() - at - 8
            ));
        }
        at += 8 + len;
    }
    Ok(())
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_end_matches(['\0', ' ']).trim_start();
    (!s.is_empty()).then(|| s.to_owned())
}

fn number(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<u16> {
    obj.get(tag)?.to_int::<u16>().ok()
}

/// Reads a command set received in Command PDVs.
pub fn read_command(bytes: &[u8]) -> Result<DimseCommand, DicomError> {
    check_lengths(bytes)?;
    let obj = InMemDicomObject::read_dataset_with_ts(bytes, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| DicomError::Parse(format!("command set: {e}")))?;
    let field = number(&obj, tags::COMMAND_FIELD).ok_or(DicomError::Missing("CommandField"))?;
    let data_set_type = number(&obj, tags::COMMAND_DATA_SET_TYPE)
        .ok_or(DicomError::Missing("CommandDataSetType"))?;
    let sub = |tag| number(&obj, tag);
    let sub_operations = sub(tags::NUMBER_OF_REMAINING_SUBOPERATIONS)
        .or(sub(tags::NUMBER_OF_COMPLETED_SUBOPERATIONS))
        .map(|_| SubOperations {
            remaining: sub(tags::NUMBER_OF_REMAINING_SUBOPERATIONS).unwrap_or(0),
            completed: sub(tags::NUMBER_OF_COMPLETED_SUBOPERATIONS).unwrap_or(0),
            failed: sub(tags::NUMBER_OF_FAILED_SUBOPERATIONS).unwrap_or(0),
            warning: sub(tags::NUMBER_OF_WARNING_SUBOPERATIONS).unwrap_or(0),
        });
    Ok(DimseCommand {
        field,
        message_id: number(&obj, tags::MESSAGE_ID),
        responding_to: number(&obj, tags::MESSAGE_ID_BEING_RESPONDED_TO),
        sop_class: text(&obj, tags::AFFECTED_SOP_CLASS_UID)
            .or_else(|| text(&obj, tags::REQUESTED_SOP_CLASS_UID)),
        sop_instance: text(&obj, tags::AFFECTED_SOP_INSTANCE_UID)
            .or_else(|| text(&obj, tags::REQUESTED_SOP_INSTANCE_UID)),
        priority: number(&obj, tags::PRIORITY),
        move_destination: text(&obj, tags::MOVE_DESTINATION),
        has_data_set: data_set_type != NO_DATA_SET,
        status: number(&obj, tags::STATUS),
        error_comment: text(&obj, tags::ERROR_COMMENT),
        sub_operations,
        move_originator: text(&obj, tags::MOVE_ORIGINATOR_APPLICATION_ENTITY_TITLE)
            .zip(number(&obj, tags::MOVE_ORIGINATOR_MESSAGE_ID)),
        type_id: number(&obj, tags::ACTION_TYPE_ID).or(number(&obj, tags::EVENT_TYPE_ID)),
    })
}

/// Encodes a command set (with its Command Group Length) for Command PDVs.
pub fn write_command(c: &DimseCommand) -> Result<Vec<u8>, DicomError> {
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let mut elements = Vec::new();
    if let Some(uid) = &c.sop_class {
        elements.push(DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uid.as_str()),
        ));
    }
    elements.push(us(tags::COMMAND_FIELD, c.field));
    if let Some(id) = c.message_id {
        elements.push(us(tags::MESSAGE_ID, id));
    }
    if let Some(id) = c.responding_to {
        elements.push(us(tags::MESSAGE_ID_BEING_RESPONDED_TO, id));
    }
    if let Some(ae) = &c.move_destination {
        elements.push(DataElement::new(
            tags::MOVE_DESTINATION,
            VR::AE,
            PrimitiveValue::from(ae.as_str()),
        ));
    }
    if let Some(p) = c.priority {
        elements.push(us(tags::PRIORITY, p));
    }
    elements.push(us(
        tags::COMMAND_DATA_SET_TYPE,
        if c.has_data_set { 0x0000 } else { NO_DATA_SET },
    ));
    if let Some(s) = c.status {
        elements.push(us(tags::STATUS, s));
    }
    if let Some(comment) = &c.error_comment {
        // LO holds 64 characters.
        let comment: String = comment.chars().take(64).collect();
        elements.push(DataElement::new(
            tags::ERROR_COMMENT,
            VR::LO,
            PrimitiveValue::from(comment),
        ));
    }
    if let Some(uid) = &c.sop_instance {
        elements.push(DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(uid.as_str()),
        ));
    }
    if let Some(id) = c.type_id {
        // N-EVENT-REPORT carries an Event Type ID, N-ACTION an Action Type ID.
        let tag = if c.field & 0x7FFF == field::N_EVENT_REPORT_RQ {
            tags::EVENT_TYPE_ID
        } else {
            tags::ACTION_TYPE_ID
        };
        elements.push(us(tag, id));
    }
    if let Some(s) = c.sub_operations {
        elements.push(us(tags::NUMBER_OF_REMAINING_SUBOPERATIONS, s.remaining));
        elements.push(us(tags::NUMBER_OF_COMPLETED_SUBOPERATIONS, s.completed));
        elements.push(us(tags::NUMBER_OF_FAILED_SUBOPERATIONS, s.failed));
        elements.push(us(tags::NUMBER_OF_WARNING_SUBOPERATIONS, s.warning));
    }
    if let Some((ae, id)) = &c.move_originator {
        elements.push(DataElement::new(
            tags::MOVE_ORIGINATOR_APPLICATION_ENTITY_TITLE,
            VR::AE,
            PrimitiveValue::from(ae.as_str()),
        ));
        elements.push(us(tags::MOVE_ORIGINATOR_MESSAGE_ID, *id));
    }
    let obj = InMemDicomObject::command_from_element_iter(elements);
    let mut out = Vec::with_capacity(256);
    obj.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
        .map_err(|e| DicomError::Encode(e.to_string()))?;
    Ok(out)
}

/// What the File Meta Information of a received data set records.
#[derive(Debug, Clone)]
pub struct ReceivedObject<'a> {
    pub sop_class: &'a str,
    pub sop_instance: &'a str,
    /// The transfer syntax the data set arrived in (the presentation context's).
    pub transfer_syntax: &'a str,
    /// The peer that sent it (Source Application Entity Title).
    pub source_ae: &'a str,
}

/// The preamble, `DICM` and File Meta Information that make a data set
/// received over the network (in `transfer_syntax`, byte for byte) a Part 10
/// object; the data set's bytes follow it unchanged.
pub fn part10_header(o: &ReceivedObject<'_>) -> Result<Vec<u8>, DicomError> {
    let mut builder = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(o.sop_class)
        .media_storage_sop_instance_uid(o.sop_instance)
        .transfer_syntax(o.transfer_syntax);
    if !o.source_ae.is_empty() {
        builder = builder.source_application_entity_title(o.source_ae);
    }
    let meta = builder
        .build()
        .map_err(|e| DicomError::Encode(e.to_string()))?;
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    meta.write(&mut out)
        .map_err(|e| DicomError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_reads_back_as_written() {
        let request = DimseCommand {
            field: field::C_STORE_RQ,
            message_id: Some(7),
            sop_class: Some("1.2.840.10008.5.1.4.1.1.2".into()),
            sop_instance: Some("1.2.3.4".into()),
            priority: Some(0),
            has_data_set: true,
            move_originator: Some(("WORKSTATION".into(), 3)),
            ..DimseCommand::default()
        };
        let bytes = write_command(&request).unwrap();
        assert_eq!(read_command(&bytes).unwrap(), request);
        let mut rsp = DimseCommand::response_to(&request, 0x0111);
        rsp.error_comment = Some("duplicate".into());
        rsp.sub_operations = Some(SubOperations {
            remaining: 1,
            completed: 2,
            failed: 3,
            warning: 4,
        });
        let back = read_command(&write_command(&rsp).unwrap()).unwrap();
        assert_eq!(back, rsp);
        assert_eq!(back.field, field::C_STORE_RSP);
        assert_eq!(back.responding_to, Some(7));
    }

    #[test]
    fn a_lying_length_is_refused_before_parsing() {
        // CommandField US, then an element claiming 0x98989898 bytes.
        let mut bytes = vec![0, 0, 0x00, 0x01, 2, 0, 0, 0, 0x30, 0];
        bytes.extend_from_slice(&[0, 0, 0x00, 0x10, 0x98, 0x98, 0x98, 0x98, 1, 2]);
        let e = read_command(&bytes).unwrap_err().to_string();
        assert!(e.contains("declares"), "{e}");
    }

    #[test]
    fn the_header_makes_a_part10_object_of_the_data_set() {
        let header = part10_header(&ReceivedObject {
            sop_class: "1.2.840.10008.5.1.4.1.1.7",
            sop_instance: "1.2.3.4.5",
            transfer_syntax: "1.2.840.10008.1.2.1",
            source_ae: "MOD01",
        })
        .unwrap();
        assert_eq!(&header[128..132], b"DICM");
        // Through the one guarded open (architecture test), with an empty data set.
        let object = crate::parse::open_bounded(
            std::io::Cursor::new(&header[..]),
            crate::parse::Scope::Whole,
            4096,
        )
        .unwrap();
        let meta = object.meta();
        assert_eq!(
            meta.transfer_syntax().trim_end_matches('\0'),
            "1.2.840.10008.1.2.1"
        );
        assert_eq!(meta.media_storage_sop_instance_uid(), "1.2.3.4.5");
        assert_eq!(meta.source_application_entity_title(), Some("MOD01"));
    }
}
