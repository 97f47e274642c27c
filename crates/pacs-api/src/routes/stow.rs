//! STOW-RS: `POST /stowRsListener/{CALLING_AET}/studies[/{STUDY_UID}]`, and
//! `POST /dicomweb/{AET}/studies[/{STUDY_UID}]` under the one root, where the
//! URL names the archive and the instances are recorded as received from
//! `DICOMWEB`.
//!
//! Parts are streamed one by one: each part's body goes as it arrives to the
//! store request (pacs-app), which stages it on the medium, parses and checks
//! it; the request is then committed and indexed. A request of any size and
//! any number of parts never sits in memory.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, post, web};
use pacs_app::ingest::{StoreReport, StoreRequest};
use pacs_app::retrieve::check_aet;
use pacs_app::{AppError, ErrorCode, Tenant};
use pacs_domain::ids::{AeTitle, StudyInstanceUid};
use serde_json::{Value, json};

use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::media::parse_media_type;
use crate::openapi::{BadRequest, DicomDataset, Multipart, PayloadTooLarge, UnsupportedMediaType};
use crate::routes::parts::{PartFailure, PartStream, next_part};
use crate::routes::root::{DICOMWEB_CALLING_AET, Root};
use crate::state::AppState;
use crate::wire::params::{AetPath, CallingAetPath, StudyPath};

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(stow_all)
        .service(stow_study)
        .service(dw_stow_all)
        .service(dw_stow_study);
}

/// The extractors of both STOW-RS resources.
type Args = (
    HttpRequest,
    web::Path<StowPath>,
    web::ReqData<Tenant>,
    web::Data<AppState>,
    web::Payload,
);

/// One STOW-RS resource; the body is [`stow`].
macro_rules! stow_resource {
    ($name:ident, $root:expr, $path:tt, ($($params:ty),*), $id:tt, $summary:tt) => {
        #[utoipa::path(
            tag = "dicomweb",
            operation_id = $id,
            summary = $summary,
            description = "PS3.18 STOW-RS. Parts are streamed to storage; the answer is the PS3.18 \
                           store response. 200: every instance stored; 202: some failed; 409: none \
                           stored.",
            params($($params),*),
            request_body(
                content = Multipart,
                content_type = "multipart/related",
                description = "multipart/related; type=\"application/dicom\": one DICOM Part 10 file per part"
            ),
            responses(
                (status = 200, description = "Every instance stored",
                    content((DicomDataset = "application/dicom+json"))),
                (status = 202, description = "Some instances failed",
                    content((DicomDataset = "application/dicom+json"))),
                (status = 409, description = "No instance stored (FailedSOPSequence says why)",
                    content((DicomDataset = "application/dicom+json"))),
                (status = 400, response = BadRequest),
                (status = 413, response = PayloadTooLarge),
                (status = 415, response = UnsupportedMediaType),
            )
        )]
        #[post($path)]
        async fn $name(a: Args) -> Result<HttpResponse, ApiError> {
            let (req, path, tenant, state, payload) = a;
            stow(req, path, tenant, state, payload, $root).await
        }
    };
}

stow_resource!(
    stow_all,
    Root::Vendor,
    "/stowRsListener/{aet}/studies",
    (CallingAetPath),
    "stow",
    "Store instances (STOW-RS)"
);
stow_resource!(
    stow_study,
    Root::Vendor,
    "/stowRsListener/{aet}/studies/{study}",
    (CallingAetPath, StudyPath),
    "stowStudy",
    "Store instances of one study (STOW-RS)"
);
stow_resource!(
    dw_stow_all,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies",
    (AetPath),
    "dicomwebStow",
    "Store instances (STOW-RS, one root)"
);
stow_resource!(
    dw_stow_study,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies/{study}",
    (AetPath, StudyPath),
    "dicomwebStowStudy",
    "Store instances of one study (STOW-RS, one root)"
);

#[derive(serde::Deserialize)]
struct StowPath {
    aet: String,
    study: Option<String>,
}

/// Checks `Content-Type: multipart/related; type="application/dicom"` (the
/// type quoted or not, as senders write it) and returns the headers the
/// multipart reader is given: only the boundary, quoted, since that reader
/// refuses the unquoted `type` that the parser of [`crate::media`] accepts.
fn check_content_type(req: &HttpRequest) -> Result<HeaderMap, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let not_multipart = |what: String| {
        ApiError::bad_request(
            ErrorCode::NotMultipart,
            format!("the body must be multipart/related; type=\"application/dicom\"{what}"),
        )
    };
    let media = parse_media_type(ct).ok_or_else(|| not_multipart(String::new()))?;
    if !media.is("multipart/related") {
        return Err(not_multipart(format!(", not {}", media.essence())));
    }
    if let Some(t) = media.param("type")
        && !t.trim().eq_ignore_ascii_case("application/dicom")
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "only type=\"application/dicom\" parts are accepted, not {t}"
        )));
    }
    let boundary = media
        .param("boundary")
        .filter(|b| !b.is_empty() && !b.contains(['"', '\\', '\r', '\n']))
        .ok_or_else(|| not_multipart(" with a boundary".into()))?;
    let mut headers = HeaderMap::new();
    let value = HeaderValue::from_str(&format!("multipart/related; boundary=\"{boundary}\""))
        .map_err(|_| not_multipart(" with a boundary".into()))?;
    headers.insert(header::CONTENT_TYPE, value);
    Ok(headers)
}

async fn stow(
    req: HttpRequest,
    path: web::Path<StowPath>,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
    payload: web::Payload,
    root: Root,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let calling_aet = match root {
        Root::Vendor => AeTitle::new(&path.aet).map_err(|e| {
            ApiError::bad_request(ErrorCode::InvalidCallingAet, format!("CALLING_AET: {e}"))
        })?,
        Root::DicomWeb => {
            check_aet(&tenant, &path.aet)?;
            AeTitle::new(DICOMWEB_CALLING_AET).expect("a valid AE title")
        }
    };
    let expected = path
        .study
        .as_deref()
        .map(StudyInstanceUid::new)
        .transpose()
        .map_err(AppError::from)?;
    let multipart_headers = check_content_type(&req)?;
    crate::routes::parts::refuse_declared_oversize(&req, state.max_body_bytes)?;
    let tenant = tenant.into_inner();
    let ae = tenant.ae_title.clone();
    let store = StoreRequest::new(state.ports.clone(), tenant, calling_aet, expected);
    let multipart = actix_multipart::Multipart::new(&multipart_headers, payload);
    // A refused request drops its staged parts (off the async workers).
    let store = match receive_parts(store, multipart, state.max_body_bytes).await {
        Ok(store) => store,
        Err((store, e)) => {
            let _ = web::block(move || drop(store)).await;
            return Err(e);
        }
    };
    let report = store.finish().await?;
    Ok(store_response(&report, &root.retrieve_base(&state, &ae)))
}

type Failed = (StoreRequest, ApiError);

/// Hands each part's byte stream to the use case, which stages, parses and
/// checks it.
async fn receive_parts(
    mut store: StoreRequest,
    mut multipart: actix_multipart::Multipart,
    max_bytes: u64,
) -> Result<StoreRequest, Failed> {
    let mut total: u64 = 0;
    let mut parts = 0usize;
    loop {
        let field = match next_part(&mut multipart).await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err((store, e)),
        };
        parts += 1;
        if let Some(ct) = field.content_type()
            && ct.essence_str() != "application/dicom"
        {
            let msg = format!(
                "part {parts} has Content-Type {}, not application/dicom",
                ct.essence_str()
            );
            return Err((store, ApiError::UnsupportedMediaType(msg)));
        }
        let mut failure = PartFailure::default();
        let body = PartStream::new(field, &mut total, max_bytes, &mut failure);
        if let Err(e) = store.add_part(body.boxed()).await {
            return Err((store, failure.or(e)));
        }
    }
    if parts == 0 {
        return Err((
            store,
            ApiError::bad_request(ErrorCode::NoParts, "the multipart body has no parts"),
        ));
    }
    Ok(store)
}

fn uid_attr(v: &str) -> Value {
    json!({ "vr": "UI", "Value": [v] })
}

/// The PS3.18 store response and its status: 200 all stored, 409 none, 202 some.
fn store_response(report: &StoreReport, wado_base: &str) -> HttpResponse {
    let referenced: Vec<Value> = report
        .stored
        .iter()
        .map(|s| {
            json!({
                "00081150": uid_attr(s.sop_class.as_str()),
                "00081155": uid_attr(s.sop.as_str()),
                "00081190": { "vr": "UR", "Value": [format!(
                    "{wado_base}/studies/{}/series/{}/instances/{}", s.study, s.series, s.sop
                )] },
            })
        })
        .collect();
    let failed: Vec<Value> = report
        .failed
        .iter()
        .map(|f| {
            json!({
                "00081150": uid_attr(f.sop_class.as_str()),
                "00081155": uid_attr(f.sop.as_str()),
                "00081197": { "vr": "US", "Value": [f.reason] },
            })
        })
        .collect();
    let mut body = serde_json::Map::new();
    let mut studies: Vec<&StudyInstanceUid> = report.stored.iter().map(|s| &s.study).collect();
    studies.dedup();
    if studies.len() == 1 {
        body.insert(
            "00081190".into(),
            json!({ "vr": "UR", "Value": [format!("{wado_base}/studies/{}", studies[0])] }),
        );
    }
    if !referenced.is_empty() {
        body.insert(
            "00081199".into(),
            json!({ "vr": "SQ", "Value": referenced }),
        );
    }
    if !failed.is_empty() {
        body.insert("00081198".into(), json!({ "vr": "SQ", "Value": failed }));
    }
    let status = match (report.stored.is_empty(), report.failed.is_empty()) {
        (false, true) => StatusCode::OK,
        (true, _) => StatusCode::CONFLICT,
        (false, false) => StatusCode::ACCEPTED,
    };
    for f in &report.failed {
        log::info!("instance refused, reason {:#06x}", f.reason);
    }
    HttpResponse::build(status)
        .content_type("application/dicom+json")
        .body(Value::Object(body).to_string())
}
