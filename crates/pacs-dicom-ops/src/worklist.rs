//! Modality Worklist items (PS3.4 K.6) written from the orders of
//! `/orders/create`: every field of an order under its attribute, the
//! Scheduled Procedure Step ones in the Scheduled Procedure Step Sequence;
//! only the keys a query asks for are returned.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use pacs_domain::model::Order;

use crate::error::DicomError;
use crate::find::{FindKeys, transfer_syntax};

/// Fields of an order that belong to its Scheduled Procedure Step.
const STEP_FIELDS: &[&str] = &[
    "ScheduledStationAETitle",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime",
    "Modality",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepID",
    "ScheduledStationName",
];

/// The attribute keyword of an order field (the source document's names are
/// keywords, but for one plural).
fn keyword(field: &str) -> &str {
    match field {
        "ScheduledPerformingPhysiciansName" => "ScheduledPerformingPhysicianName",
        other => other,
    }
}

fn element(tag: Tag, vr: VR, value: &str) -> Option<DataElement<InMemDicomObject>> {
    let value = match vr {
        // Numbers that are not numbers are left out rather than sent malformed.
        VR::US => PrimitiveValue::from(value.trim().parse::<u16>().ok()?),
        _ => PrimitiveValue::from(value),
    };
    Some(DataElement::new(tag, vr, value))
}

/// Keeps the requested keys of `all` (those without a value empty).
fn requested(all: &InMemDicomObject, keys: &[(Tag, String)]) -> InMemDicomObject {
    let mut out = InMemDicomObject::new_empty();
    for (tag, _) in keys {
        match all.get(*tag) {
            Some(e) => {
                out.put(e.clone());
            }
            None => {
                if let Some(entry) = StandardDataDictionary.by_tag(*tag) {
                    let vr = entry.vr().relaxed();
                    if vr != VR::SQ {
                        out.put(DataElement::new(*tag, vr, PrimitiveValue::Empty));
                    }
                }
            }
        }
    }
    out
}

/// One worklist item answering `keys`, encoded in `ts_uid`.
pub fn write_worklist_item(
    order: &Order,
    keys: &FindKeys,
    ts_uid: &str,
) -> Result<Vec<u8>, DicomError> {
    let (ts, _) = transfer_syntax(ts_uid)?;
    let mut top = InMemDicomObject::new_empty();
    let mut step = InMemDicomObject::new_empty();
    for (field, value) in &order.fields {
        let Some(entry) = StandardDataDictionary.by_name(keyword(field)) else {
            continue;
        };
        let (tag, vr) = (entry.tag(), entry.vr().relaxed());
        let Some(e) = element(tag, vr, value) else {
            continue;
        };
        if STEP_FIELDS.contains(&keyword(field)) {
            step.put(e);
        } else {
            top.put(e);
        }
    }
    // The database's current values win over the fields as received.
    for (tag, vr, value) in [
        (
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            Some(order.study_uid.as_str()),
        ),
        (
            tags::ACCESSION_NUMBER,
            VR::SH,
            Some(order.accession_number.as_str()),
        ),
        (
            tags::PATIENT_ID,
            VR::LO,
            Some(order.patient.patient_id.as_str()),
        ),
        (tags::PATIENT_NAME, VR::PN, order.patient.name.as_deref()),
        (
            tags::PATIENT_BIRTH_DATE,
            VR::DA,
            order.patient.birth_date.as_deref(),
        ),
        (tags::PATIENT_SEX, VR::CS, order.patient.sex.as_deref()),
    ] {
        if let Some(v) = value {
            top.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        }
    }
    let mut out = requested(&top, &keys.keys);
    for (seq, item_keys) in &keys.items {
        let item = if *seq == tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE {
            requested(&step, item_keys)
        } else {
            requested(&InMemDicomObject::new_empty(), item_keys)
        };
        out.put(DataElement::new(
            *seq,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        ));
    }
    // Order fields are JSON text, Unicode: the item says UTF-8.
    out.put(DataElement::new(
        tags::SPECIFIC_CHARACTER_SET,
        VR::CS,
        PrimitiveValue::from("ISO_IR 192"),
    ));
    let mut bytes = Vec::new();
    out.write_dataset_with_ts(&mut bytes, &ts)
        .map_err(|e| DicomError::Encode(format!("worklist item: {e}")))?;
    Ok(bytes)
}
