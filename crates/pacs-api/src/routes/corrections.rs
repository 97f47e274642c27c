//! Patient and study corrections: `/patients/{create,update,merge}` and
//! `/studies/{move,reconcile,swap}`.

use actix_web::{HttpResponse, post, web};
use pacs_app::corrections;
use pacs_app::{AppError, Ports, Tenant};
use pacs_domain::model::CorrectionOutcome;
use serde::de::DeserializeOwned;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{BadRequest, Conflict, NotFound};
use crate::routes::json_body::{object, parse};
use crate::routes::util::blocking;
use crate::state::AppState;
use crate::wire::corrections::{
    CorrectionResponse, CreatePatientRequest, MergePatientsRequest, MoveStudyRequest,
    ReconcileStudiesRequest, SwapStudiesRequest, UpdatePatientRequest,
};

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(create_patient)
        .service(update_patient)
        .service(merge_patients)
        .service(move_study)
        .service(reconcile_studies)
        .service(swap_studies);
}

/// The body of every correction handler: the request `W` becomes the command
/// `C`, which `op` runs; the patient and studies changed are the answer.
async fn run<W, C>(
    body: web::Bytes,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
    what: &'static str,
    command: fn(&W) -> Result<C, AppError>,
    op: fn(&Ports, &Tenant, &C) -> Result<CorrectionOutcome, AppError>,
) -> Result<HttpResponse, ApiError>
where
    W: DeserializeOwned,
    C: Send + 'static,
{
    let prefix = format!("{what}: invalid request");
    let map = object(&body, &prefix)?;
    let command = command(&parse::<W>(&map, &prefix)?)?;
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let outcome = blocking(move || op(&ports, &tenant, &command)).await?;
    let CorrectionOutcome::Done { patient, studies } = outcome else {
        return Err(ApiError(AppError::Internal(format!(
            "{what}: unexpected outcome {outcome:?}"
        ))));
    };
    Ok(HttpResponse::Ok().json(CorrectionResponse {
        message: format!("{what} successful"),
        patient: (&patient).into(),
        studies: studies.iter().map(ToString::to_string).collect(),
    }))
}

#[utoipa::path(
    tag = "patients",
    operation_id = "createPatient",
    summary = "Create a patient",
    description = "409 patient_exists: the ID is taken for that issuer.",
    request_body(content((CreatePatientRequest = "application/json"), (CreatePatientRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = CorrectionResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/patients/create")]
async fn create_patient(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let command = CreatePatientRequest::command;
    run(
        b,
        t,
        s,
        "patient creation",
        command,
        corrections::create_patient,
    )
    .await
}

#[utoipa::path(
    tag = "patients",
    operation_id = "updatePatient",
    summary = "Update a patient's demographics",
    description = "404 patient_not_found; 409 multiple_patients (same ID, several issuers).",
    request_body(content((UpdatePatientRequest = "application/json"), (UpdatePatientRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = CorrectionResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/patients/update")]
async fn update_patient(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let command = UpdatePatientRequest::command;
    run(
        b,
        t,
        s,
        "patient update",
        command,
        corrections::update_patient,
    )
    .await
}

#[utoipa::path(
    tag = "patients",
    operation_id = "mergePatients",
    summary = "Merge a patient into another",
    description = "409 source_patient_not_found, multiple_source_patients, no_study_for_source, \
                   multiple_target_patients.",
    request_body(content((MergePatientsRequest = "application/json"), (MergePatientsRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = CorrectionResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/patients/merge")]
async fn merge_patients(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let command = MergePatientsRequest::command;
    run(
        b,
        t,
        s,
        "patient merge",
        command,
        corrections::merge_patients,
    )
    .await
}

#[utoipa::path(
    tag = "patients",
    operation_id = "moveStudy",
    summary = "Move a study to another patient",
    description = "404: unknown study.",
    request_body(content((MoveStudyRequest = "application/json"), (MoveStudyRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = CorrectionResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/studies/move")]
async fn move_study(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let command = MoveStudyRequest::command;
    run(b, t, s, "study move", command, corrections::move_study).await
}

#[utoipa::path(
    tag = "patients",
    operation_id = "reconcileStudies",
    summary = "Move the series of a study into another",
    description = "404: unknown source; 409 patient_mismatch.",
    request_body(content((ReconcileStudiesRequest = "application/json"), (ReconcileStudiesRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = CorrectionResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/studies/reconcile")]
async fn reconcile_studies(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let command = ReconcileStudiesRequest::command;
    let op = corrections::reconcile_studies;
    run(b, t, s, "study reconciliation", command, op).await
}

#[utoipa::path(
    tag = "patients",
    operation_id = "swapStudies",
    summary = "Swap the series of two studies",
    description = "404: either study unknown.",
    request_body(content((SwapStudiesRequest = "application/json"), (SwapStudiesRequest = "text/json"))),
    responses(
        (status = 200, description = "Done", body = CorrectionResponse),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
#[post("/studies/swap")]
async fn swap_studies(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let command = SwapStudiesRequest::command;
    run(b, t, s, "study swap", command, corrections::swap_studies).await
}
