//! Orders (source document "Orders APIs"): created by the RIS, kept for the
//! modality worklist, deleted by StudyInstanceUID.

use std::collections::BTreeMap;

use pacs_domain::ids::{AeTitle, StudyInstanceUid};
use pacs_domain::model::{Change, EventType, Order, OrderOutcome, PatientAttributes};

use crate::context::{Ports, Tenant};
use crate::error::AppError;
use crate::fields::{date, patient_id, person_name, sex, study_uid, time};
use crate::journal;

const CTX: &str = "orders/create";

/// The fields the source document makes mandatory.
pub const MANDATORY: [&str; 9] = [
    "PatientID",
    "StudyInstanceUID",
    "PatientName",
    "ScheduledStationAETitle",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepStartTime",
    "Modality",
    "AccessionNumber",
];

/// Who creates and deletes orders: the API does not name a user.
const RIS: &str = "orders API";

/// `POST /orders/create` with the request's fields (all text).
pub fn create_order(
    ports: &Ports,
    tenant: &Tenant,
    fields: BTreeMap<String, String>,
) -> Result<Order, AppError> {
    let fields: BTreeMap<String, String> = fields
        .into_iter()
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect();
    let missing: Vec<&str> = MANDATORY
        .iter()
        .copied()
        .filter(|k| fields.get(*k).is_none_or(|v| v.is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(AppError::invalid(
            "missing_field",
            format!("{CTX}: mandatory field(s) missing: {}", missing.join(", ")),
        ));
    }
    let get = |k: &str| fields.get(k).cloned().filter(|v| !v.is_empty());
    let ae = get("ScheduledStationAETitle").unwrap_or_default();
    AeTitle::new(&ae).map_err(|e| {
        AppError::invalid(
            "invalid_field",
            format!("{CTX}: ScheduledStationAETitle: {e}"),
        )
    })?;
    let modality = get("Modality").unwrap_or_default();
    if modality.len() > 16
        || !modality
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b' ')
    {
        return Err(AppError::invalid(
            "invalid_field",
            format!("{CTX}: Modality {modality:?} is not a DICOM code string"),
        ));
    }
    let order = Order {
        study_uid: study_uid(
            &get("StudyInstanceUID").unwrap_or_default(),
            "StudyInstanceUID",
            CTX,
        )?,
        accession_number: get("AccessionNumber").unwrap_or_default(),
        patient: PatientAttributes {
            patient_id: patient_id(&get("PatientID").unwrap_or_default(), "PatientID", CTX)?,
            issuer: get("IssuerOfPatientID"),
            name: person_name(get("PatientName"), "PatientName", CTX)?,
            birth_date: date(get("PatientBirthDate"), "PatientBirthDate", CTX)?,
            sex: sex(get("PatientSex"), "PatientSex", CTX)?,
        },
        scheduled_station_ae: ae,
        start_date: date(
            get("ScheduledProcedureStepStartDate"),
            "ScheduledProcedureStepStartDate",
            CTX,
        )?
        .unwrap_or_default(),
        start_time: time(
            get("ScheduledProcedureStepStartTime"),
            "ScheduledProcedureStepStartTime",
            CTX,
        )?
        .unwrap_or_default(),
        modality,
        fields,
    };
    let change = Change {
        author: RIS.into(),
        reason: None,
    };
    let journal = |o: &Order| journal::order(EventType::OrderCreated, &change, o);
    match ports.orders.create_order(&tenant.name, &order, &journal)? {
        OrderOutcome::Done(o) => Ok(*o),
        OrderOutcome::Duplicate => Err(AppError::conflict(
            "order_exists",
            format!(
                "an order with StudyInstanceUID {} already exists",
                order.study_uid
            ),
        )),
        OrderOutcome::NotFound => Err(AppError::Internal(
            "order vanished while being created".into(),
        )),
    }
}

/// `DELETE /orders/delete?studyUid=`.
pub fn delete_order(
    ports: &Ports,
    tenant: &Tenant,
    uid: &StudyInstanceUid,
) -> Result<Order, AppError> {
    let change = Change {
        author: RIS.into(),
        reason: None,
    };
    let journal = |o: &Order| journal::order(EventType::OrderDeleted, &change, o);
    match ports.orders.delete_order(&tenant.name, uid, &journal)? {
        OrderOutcome::Done(o) => Ok(*o),
        _ => Err(AppError::not_found(
            "order_not_found",
            format!("no order with StudyInstanceUID {uid}"),
        )),
    }
}
