//! Patient and study corrections: `/patients/{create,update,merge}` and
//! `/studies/{move,reconcile,swap}`.

use actix_web::{HttpResponse, web};
use pacs_app::corrections::{
    self, CreatePatient, MergePatients, MoveStudy, ReconcileStudies, SwapStudies, UpdatePatient,
};
use pacs_app::{AppError, Ports, Tenant};
use pacs_domain::model::{CorrectionOutcome, PatientAttributes};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::routes::json_body::{object, parse};
use crate::routes::util::blocking;
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/patients/create").route(web::post().to(create_patient)))
        .service(web::resource("/patients/update").route(web::post().to(update_patient)))
        .service(web::resource("/patients/merge").route(web::post().to(merge_patients)))
        .service(web::resource("/studies/move").route(web::post().to(move_study)))
        .service(web::resource("/studies/reconcile").route(web::post().to(reconcile_studies)))
        .service(web::resource("/studies/swap").route(web::post().to(swap_studies)));
}

/// A patient as these APIs name its fields.
pub fn patient_json(p: &PatientAttributes) -> Value {
    json!({
        "patientID": p.patient_id.as_str(),
        "patientName": p.name,
        "patientBirthDate": p.birth_date,
        "patientSex": p.sex,
        "idIssuer": p.issuer,
    })
}

async fn run<R, F>(
    body: web::Bytes,
    tenant: Tenant,
    state: web::Data<AppState>,
    what: &'static str,
    op: F,
) -> Result<HttpResponse, ApiError>
where
    R: DeserializeOwned + Send + 'static,
    F: FnOnce(&Ports, &Tenant, &R) -> Result<CorrectionOutcome, AppError> + Send + 'static,
{
    let prefix = format!("{what}: invalid request");
    let map = object(&body, &prefix)?;
    let request: R = parse(&map, &prefix)?;
    let ports = state.ports.clone();
    let outcome = blocking(move || op(&ports, &tenant, &request)).await?;
    let CorrectionOutcome::Done { patient, studies } = outcome else {
        return Err(ApiError(AppError::Internal(format!(
            "{what}: unexpected outcome {outcome:?}"
        ))));
    };
    let studies: Vec<&str> = studies.iter().map(|s| s.as_str()).collect();
    Ok(HttpResponse::Ok().json(json!({
        "message": format!("{what} successful"),
        "patient": patient_json(&patient),
        "studies": studies,
    })))
}

async fn create_patient(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run::<CreatePatient, _>(
        b,
        t.into_inner(),
        s,
        "patient creation",
        corrections::create_patient,
    )
    .await
}

async fn update_patient(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run::<UpdatePatient, _>(
        b,
        t.into_inner(),
        s,
        "patient update",
        corrections::update_patient,
    )
    .await
}

async fn merge_patients(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run::<MergePatients, _>(
        b,
        t.into_inner(),
        s,
        "patient merge",
        corrections::merge_patients,
    )
    .await
}

async fn move_study(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run::<MoveStudy, _>(b, t.into_inner(), s, "study move", corrections::move_study).await
}

async fn reconcile_studies(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run::<ReconcileStudies, _>(
        b,
        t.into_inner(),
        s,
        "study reconciliation",
        corrections::reconcile_studies,
    )
    .await
}

async fn swap_studies(
    b: web::Bytes,
    t: web::ReqData<Tenant>,
    s: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    run::<SwapStudies, _>(
        b,
        t.into_inner(),
        s,
        "study swap",
        corrections::swap_studies,
    )
    .await
}
