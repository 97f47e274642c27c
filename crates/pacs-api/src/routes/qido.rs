//! QIDO-RS: `GET /qido/{AET}/…` for patients, studies, series and instances,
//! and the same searches under the one root `GET /dicomweb/{AET}/…`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, web};
use pacs_app::Tenant;
use pacs_app::retrieve::check_aet;
use pacs_app::search::{SearchTarget, search};
use pacs_domain::model::QueryLevel;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{BadRequest, DicomDatasets, NotFound};
use crate::routes::root::Root;
use crate::routes::util::{blocking, query_pairs};
use crate::state::AppState;
use crate::wire::params::{AetPath, QidoQuery, SeriesPath, StudyPath};

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(patients)
        .service(studies)
        .service(all_series)
        .service(all_instances)
        .service(study_series)
        .service(study_instances)
        .service(series_instances)
        .service(dw_studies)
        .service(dw_all_series)
        .service(dw_all_instances)
        .service(dw_study_series)
        .service(dw_study_instances)
        .service(dw_series_instances);
}

/// The path of every QIDO-RS resource; `study` and `series` scope the search.
#[derive(serde::Deserialize)]
struct QidoPath {
    aet: String,
    study: Option<String>,
    series: Option<String>,
}

/// The extractors of every QIDO-RS handler.
type Args = (
    HttpRequest,
    web::Path<QidoPath>,
    web::ReqData<Tenant>,
    web::Data<AppState>,
);

/// One QIDO-RS resource: its handler and description; the body is [`run`].
macro_rules! qido {
    ($name:ident, $root:expr, $path:tt, ($($params:ty),+), $level:expr, $id:tt, $summary:tt) => {
        #[utoipa::path(
            tag = "dicomweb",
            operation_id = $id,
            summary = $summary,
            description = "PS3.18 QIDO-RS. Match by attribute keyword or tag (`PatientID=…`, \
                           `00100020=…`); any other valid attribute is ignored with a \
                           `Warning: 299` header, an unknown name is 400.",
            params($($params,)+ QidoQuery),
            responses(
                (status = 200, description = "Matches, in DICOM JSON",
                    content((DicomDatasets = "application/dicom+json"))),
                (status = 204, description = "Nothing matches (vendor root; the one root answers 200 [])"),
                (status = 400, response = BadRequest),
                (status = 404, response = NotFound),
            )
        )]
        #[get($path)]
        async fn $name(a: Args) -> Result<HttpResponse, ApiError> {
            let (req, path, t, s) = a;
            run(req, t.into_inner(), s, path.into_inner(), $level, $root).await
        }
    };
}

qido!(
    patients,
    Root::Vendor,
    "/qido/{aet}/patients",
    (AetPath),
    QueryLevel::Patient,
    "qidoPatients",
    "Search patients"
);
qido!(
    studies,
    Root::Vendor,
    "/qido/{aet}/studies",
    (AetPath),
    QueryLevel::Study,
    "qidoStudies",
    "Search studies"
);
qido!(
    all_series,
    Root::Vendor,
    "/qido/{aet}/series",
    (AetPath),
    QueryLevel::Series,
    "qidoSeries",
    "Search series"
);
qido!(
    all_instances,
    Root::Vendor,
    "/qido/{aet}/instances",
    (AetPath),
    QueryLevel::Instance,
    "qidoInstances",
    "Search instances"
);
qido!(
    study_series,
    Root::Vendor,
    "/qido/{aet}/studies/{study}/series",
    (AetPath, StudyPath),
    QueryLevel::Series,
    "qidoStudySeries",
    "Search the series of a study"
);
qido!(
    study_instances,
    Root::Vendor,
    "/qido/{aet}/studies/{study}/instances",
    (AetPath, StudyPath),
    QueryLevel::Instance,
    "qidoStudyInstances",
    "Search the instances of a study"
);
qido!(
    series_instances,
    Root::Vendor,
    "/qido/{aet}/studies/{study}/series/{series}/instances",
    (AetPath, StudyPath, SeriesPath),
    QueryLevel::Instance,
    "qidoSeriesInstances",
    "Search the instances of a series"
);

qido!(
    dw_studies,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies",
    (AetPath),
    QueryLevel::Study,
    "dicomwebQidoStudies",
    "Search studies (one root)"
);
qido!(
    dw_all_series,
    Root::DicomWeb,
    "/dicomweb/{aet}/series",
    (AetPath),
    QueryLevel::Series,
    "dicomwebQidoSeries",
    "Search series (one root)"
);
qido!(
    dw_all_instances,
    Root::DicomWeb,
    "/dicomweb/{aet}/instances",
    (AetPath),
    QueryLevel::Instance,
    "dicomwebQidoInstances",
    "Search instances (one root)"
);
qido!(
    dw_study_series,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies/{study}/series",
    (AetPath, StudyPath),
    QueryLevel::Series,
    "dicomwebQidoStudySeries",
    "Search the series of a study (one root)"
);
qido!(
    dw_study_instances,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies/{study}/instances",
    (AetPath, StudyPath),
    QueryLevel::Instance,
    "dicomwebQidoStudyInstances",
    "Search the instances of a study (one root)"
);
qido!(
    dw_series_instances,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances",
    (AetPath, StudyPath, SeriesPath),
    QueryLevel::Instance,
    "dicomwebQidoSeriesInstances",
    "Search the instances of a series (one root)"
);

async fn run(
    req: HttpRequest,
    tenant: Tenant,
    state: web::Data<AppState>,
    path: QidoPath,
    level: QueryLevel,
    root: Root,
) -> Result<HttpResponse, ApiError> {
    let QidoPath { aet, study, series } = path;
    check_aet(&tenant, &aet)?;
    let pairs = query_pairs(&req)?;
    let retrieve_base = root.retrieve_base(&state, &tenant.ae_title);
    let ports = state.ports.clone();
    let answer = blocking(move || {
        let target = SearchTarget {
            level,
            study: study.as_deref(),
            series: series.as_deref(),
        };
        search(&ports, &tenant, &target, &pairs, &retrieve_base)
    })
    .await?;
    let body = match (answer.body, root) {
        (Some(body), _) => Some(body),
        (None, Root::DicomWeb) => Some(b"[]".to_vec()),
        (None, Root::Vendor) => None,
    };
    let mut resp = HttpResponse::build(if body.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    });
    for w in &answer.warnings {
        resp.append_header(("Warning", w.as_str()));
    }
    Ok(match body {
        Some(body) => resp.content_type("application/dicom+json").body(body),
        None => resp.finish(),
    })
}
