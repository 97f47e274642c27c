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
use crate::routes::json_body::{JsonBody, object, parse};
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
    body: JsonBody,
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
        return Err(AppError::internal(format!("{what}: unexpected outcome {outcome:?}")).into());
    };
    Ok(HttpResponse::Ok().json(CorrectionResponse {
        message: format!("{what} successful"),
        patient: (&patient).into(),
        studies: studies.iter().map(ToString::to_string).collect(),
    }))
}

/// One correction resource; the body is [`run`].
macro_rules! correction {
    ($name:ident, $path:tt, $id:tt, $summary:tt, $text:tt, $body:ident, $what:tt, $op:path) => {
        #[utoipa::path(
                    tag = "patients",
                    operation_id = $id,
                    summary = $summary,
                    description = $text,
                    request_body(content(($body = "application/json"), ($body = "text/json"))),
                    responses(
                        (status = 200, description = "Done", body = CorrectionResponse),
                        (status = 400, response = BadRequest),
                        (status = 404, response = NotFound),
                        (status = 409, response = Conflict),
                    )
                )]
        #[post($path)]
        async fn $name(
            b: JsonBody,
            t: web::ReqData<Tenant>,
            s: web::Data<AppState>,
        ) -> Result<HttpResponse, ApiError> {
            run(b, t, s, $what, $body::command, $op).await
        }
    };
}

correction!(
    create_patient,
    "/patients/create",
    "createPatient",
    "Create a patient",
    "409 patient_exists: the ID is taken for that issuer.",
    CreatePatientRequest,
    "patient creation",
    corrections::create_patient
);
correction!(
    update_patient,
    "/patients/update",
    "updatePatient",
    "Update a patient's demographics",
    "404 patient_not_found; 409 multiple_patients (same ID, several issuers).",
    UpdatePatientRequest,
    "patient update",
    corrections::update_patient
);
correction!(
    merge_patients,
    "/patients/merge",
    "mergePatients",
    "Merge a patient into another",
    "409 source_patient_not_found, multiple_source_patients, no_study_for_source, \
     multiple_target_patients.",
    MergePatientsRequest,
    "patient merge",
    corrections::merge_patients
);
correction!(
    move_study,
    "/studies/move",
    "moveStudy",
    "Move a study to another patient",
    "404: unknown study.",
    MoveStudyRequest,
    "study move",
    corrections::move_study
);
correction!(
    reconcile_studies,
    "/studies/reconcile",
    "reconcileStudies",
    "Move the series of a study into another",
    "404: unknown source; 409 patient_mismatch.",
    ReconcileStudiesRequest,
    "study reconciliation",
    corrections::reconcile_studies
);
correction!(
    swap_studies,
    "/studies/swap",
    "swapStudies",
    "Swap the series of two studies",
    "404: either study unknown.",
    SwapStudiesRequest,
    "study swap",
    corrections::swap_studies
);
