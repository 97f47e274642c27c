//! Retrieval: WADO-RS (`/wado-rs/{AET}/studies/…`, and the same resources
//! under the one root `/dicomweb/{AET}/studies/…`) and WADO-URI (`/wado?…`).

use actix_web::{HttpRequest, HttpResponse, get, web};
use pacs_app::rendering::{ImageFormat, RenderSpec, render};
use pacs_app::retrieve::{Target, check_aet, locate, locate_object, metadata, open};
use pacs_app::{ErrorCode, Tenant};
use pacs_domain::model::StoredInstance;

use crate::error::ApiError;
use crate::media::MediaRange;
use crate::openapi::{BadRequest, Binary, DicomDatasets, NotAcceptable, NotFound, Unprocessable};
use crate::routes::root::Root;
use crate::routes::stream::{multipart_body, multipart_length};
use crate::routes::util::{accepted, blocking, boundary, param, query_pairs};
use crate::state::AppState;
use crate::wire::params::{AetPath, InstancePath, SeriesPath, StudyPath, WadoUriQuery};
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(retrieve_study)
        .service(study_metadata)
        .service(retrieve_series)
        .service(series_metadata)
        .service(retrieve_instance)
        .service(instance_metadata)
        .service(dw_retrieve_study)
        .service(dw_study_metadata)
        .service(dw_retrieve_series)
        .service(dw_series_metadata)
        .service(dw_retrieve_instance)
        .service(dw_instance_metadata)
        .service(wado_uri);
}

/// The extractors of the WADO-RS resources.
type Args = (
    HttpRequest,
    web::Path<RsPath>,
    web::ReqData<Tenant>,
    web::Data<AppState>,
);

/// One WADO-RS retrieval resource; the body is [`retrieve`].
macro_rules! rs_resource {
    ($name:ident, $path:tt, ($($params:ty),+), $id:tt, $summary:tt, $accept:tt, $($media:tt),+) => {
        #[utoipa::path(
            tag = "dicomweb",
            operation_id = $id,
            summary = $summary,
            description = "PS3.18 WADO-RS: the stored objects as received (no transcoding); after a \
                           correction the header carries the database's current values.",
            params($($params,)+ ("Accept" = Option<String>, Header, description = $accept)),
            responses(
                (status = 200, description = "The instances", content($((Binary = $media)),+)),
                (status = 400, response = BadRequest),
                (status = 404, response = NotFound),
                (status = 406, response = NotAcceptable),
            )
        )]
        #[get($path)]
        async fn $name(a: Args) -> Result<HttpResponse, ApiError> {
            let (req, path, tenant, state) = a;
            retrieve(req, path, tenant, state).await
        }
    };
}

/// One WADO-RS metadata resource; the body is [`retrieve_metadata`].
macro_rules! metadata_resource {
    ($name:ident, $root:expr, $path:tt, ($($params:ty),+), $id:tt, $summary:tt) => {
        #[utoipa::path(
            tag = "dicomweb",
            operation_id = $id,
            summary = $summary,
            description = "DICOM JSON of the stored headers; bulk values (Pixel Data, overlays, \
                           waveforms, large OB/OW/UN) as BulkDataURI, the transfer syntax as \
                           AvailableTransferSyntaxUID (0008,3002)",
            params($($params),+),
            responses(
                (status = 200, description = "Metadata",
                    content((DicomDatasets = "application/dicom+json"))),
                (status = 400, response = BadRequest),
                (status = 404, response = NotFound),
            )
        )]
        #[get($path)]
        async fn $name(a: Args) -> Result<HttpResponse, ApiError> {
            let (_, path, tenant, state) = a;
            retrieve_metadata(path, tenant, state, $root).await
        }
    };
}

rs_resource!(
    retrieve_study,
    "/wado-rs/{aet}/studies/{study}",
    (AetPath, StudyPath),
    "wadoStudy",
    "Retrieve a study",
    "multipart/related; type=\"application/dicom\" (default)",
    "multipart/related; type=\"application/dicom\""
);
rs_resource!(
    retrieve_series,
    "/wado-rs/{aet}/studies/{study}/series/{series}",
    (AetPath, StudyPath, SeriesPath),
    "wadoSeries",
    "Retrieve a series",
    "multipart/related; type=\"application/dicom\" (default)",
    "multipart/related; type=\"application/dicom\""
);
rs_resource!(
    retrieve_instance,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "wadoInstance",
    "Retrieve an instance",
    "multipart/related; type=\"application/dicom\" (default) or application/dicom",
    "multipart/related; type=\"application/dicom\"",
    "application/dicom"
);
metadata_resource!(
    study_metadata,
    Root::Vendor,
    "/wado-rs/{aet}/studies/{study}/metadata",
    (AetPath, StudyPath),
    "wadoStudyMetadata",
    "Metadata of a study"
);
metadata_resource!(
    series_metadata,
    Root::Vendor,
    "/wado-rs/{aet}/studies/{study}/series/{series}/metadata",
    (AetPath, StudyPath, SeriesPath),
    "wadoSeriesMetadata",
    "Metadata of a series"
);
metadata_resource!(
    instance_metadata,
    Root::Vendor,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/metadata",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "wadoInstanceMetadata",
    "Metadata of an instance"
);

rs_resource!(
    dw_retrieve_study,
    "/dicomweb/{aet}/studies/{study}",
    (AetPath, StudyPath),
    "dicomwebWadoStudy",
    "Retrieve a study (one root)",
    "multipart/related; type=\"application/dicom\" (default)",
    "multipart/related; type=\"application/dicom\""
);
rs_resource!(
    dw_retrieve_series,
    "/dicomweb/{aet}/studies/{study}/series/{series}",
    (AetPath, StudyPath, SeriesPath),
    "dicomwebWadoSeries",
    "Retrieve a series (one root)",
    "multipart/related; type=\"application/dicom\" (default)",
    "multipart/related; type=\"application/dicom\""
);
rs_resource!(
    dw_retrieve_instance,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "dicomwebWadoInstance",
    "Retrieve an instance (one root)",
    "multipart/related; type=\"application/dicom\" (default) or application/dicom",
    "multipart/related; type=\"application/dicom\"",
    "application/dicom"
);
metadata_resource!(
    dw_study_metadata,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies/{study}/metadata",
    (AetPath, StudyPath),
    "dicomwebStudyMetadata",
    "Metadata of a study (one root)"
);
metadata_resource!(
    dw_series_metadata,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies/{study}/series/{series}/metadata",
    (AetPath, StudyPath, SeriesPath),
    "dicomwebSeriesMetadata",
    "Metadata of a series (one root)"
);
metadata_resource!(
    dw_instance_metadata,
    Root::DicomWeb,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}/metadata",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "dicomwebInstanceMetadata",
    "Metadata of an instance (one root)"
);

#[derive(serde::Deserialize)]
struct RsPath {
    aet: String,
    study: String,
    series: Option<String>,
    instance: Option<String>,
}

/// How the client wants instances: multipart (the default) or, for one
/// instance, a bare `application/dicom` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Multipart,
    Single,
}

/// What the client accepts: the representation, and the transfer syntaxes it
/// named (`None`: any, as stored: no `transfer-syntax` parameter, or `*`).
struct Wanted {
    representation: Representation,
    syntaxes: Option<Vec<String>>,
}

impl Wanted {
    /// 406 when an instance is stored in a syntax the client did not ask for:
    /// this version sends objects as stored and does not transcode.
    fn check(&self, found: &[StoredInstance]) -> Result<(), ApiError> {
        let Some(syntaxes) = &self.syntaxes else {
            return Ok(());
        };
        match found
            .iter()
            .find(|i| !syntaxes.iter().any(|t| t == i.transfer_syntax.as_str()))
        {
            Some(inst) => Err(ApiError::NotAcceptable(format!(
                "instance {} is stored as {}; transcoding to {} is not available",
                inst.sop_uid,
                inst.transfer_syntax,
                syntaxes.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

fn negotiate(req: &HttpRequest, single_allowed: bool) -> Result<Wanted, ApiError> {
    let Some((accept, ranges)) = accepted(req) else {
        return Ok(Wanted {
            representation: Representation::Multipart,
            syntaxes: None,
        });
    };
    // `*/*` and `multipart/*` take the multipart default; `application/*`
    // and `application/dicom` a bare instance, where one instance is asked.
    let representation = |m: &MediaRange| {
        if m.covers("multipart/related") && m.parts_may_be("application/dicom") {
            Some(Representation::Multipart)
        } else if single_allowed && m.covers("application/dicom") {
            Some(Representation::Single)
        } else {
            None
        }
    };
    // The most preferred range that can be answered decides the
    // representation; the transfer syntaxes are those of every range of it.
    let Some(chosen) = ranges.iter().find_map(representation) else {
        return Err(ApiError::NotAcceptable(format!(
            "cannot answer with {accept}; instances are available as multipart/related; type=\"application/dicom\""
        )));
    };
    let mut syntaxes = Vec::new();
    let mut any_ts = false;
    for m in ranges.iter().filter(|m| representation(m) == Some(chosen)) {
        match m.transfer_syntax() {
            Some(t) => syntaxes.push(t.to_owned()),
            None => any_ts = true,
        }
    }
    Ok(Wanted {
        representation: chosen,
        syntaxes: (!any_ts).then_some(syntaxes),
    })
}

async fn retrieve(
    req: HttpRequest,
    path: web::Path<RsPath>,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let tenant = tenant.into_inner();
    check_aet(&tenant, &p.aet)?;
    let wanted = negotiate(&req, p.instance.is_some())?;
    let target = Target::parse(&p.study, p.series.as_deref(), p.instance.as_deref())?;
    let ports = state.ports.clone();
    let found = blocking(move || locate(&ports, &tenant, &target, false)).await?;
    wanted.check(&found)?;
    if wanted.representation == Representation::Single {
        let ports = state.ports.clone();
        let inst = found
            .into_iter()
            .next()
            .expect("locate never returns an empty list");
        let bytes = open(&ports, &inst).await?;
        return Ok(HttpResponse::Ok()
            .content_type("application/dicom")
            .no_chunking(bytes.len)
            .streaming(bytes.stream));
    }
    let b = boundary();
    let mut resp = HttpResponse::Ok();
    resp.content_type(format!(
        "multipart/related; type=\"application/dicom\"; boundary={b}"
    ));
    if let Some(len) = multipart_length(&found, &b) {
        resp.no_chunking(len);
    }
    Ok(resp.streaming(multipart_body(state.ports.clone(), found, b).await?))
}

async fn retrieve_metadata(
    path: web::Path<RsPath>,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
    root: Root,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let tenant = tenant.into_inner();
    check_aet(&tenant, &p.aet)?;
    let target = Target::parse(&p.study, p.series.as_deref(), p.instance.as_deref())?;
    let base = root.retrieve_base(&state, &tenant.ae_title);
    let ports = state.ports.clone();
    let body = blocking(move || metadata(&locate(&ports, &tenant, &target, true)?, &base)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/dicom+json")
        .body(body))
}

/// WADO-URI rendering parameters (PS3.18 §9.1.2.1): `rows`, `columns` (a box
/// to fit into), `windowCenter` with `windowWidth`, `frameNumber` (1-based),
/// `imageQuality` (1–100).
fn uri_render_spec(pairs: &[(String, String)]) -> Result<RenderSpec, ApiError> {
    let num = |name: &str, min: u32, max: u32| -> Result<Option<u32>, ApiError> {
        param(pairs, name)
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (min..=max).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            ErrorCode::InvalidParameter,
                            format!("{name} must be an integer from {min} to {max}"),
                        )
                    })
            })
            .transpose()
    };
    let float = |name: &str| -> Result<Option<f64>, ApiError> {
        param(pairs, name)
            .map(|v| {
                v.trim().parse::<f64>().map_err(|_| {
                    ApiError::bad_request(
                        ErrorCode::InvalidParameter,
                        format!("{name} must be a number"),
                    )
                })
            })
            .transpose()
    };
    let window = match (float("windowCenter")?, float("windowWidth")?) {
        (Some(c), Some(w)) if w > 0.0 => Some((c, w)),
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidParameter,
                "windowCenter and windowWidth go together, with a positive width",
            ));
        }
    };
    Ok(RenderSpec {
        frame: num("frameNumber", 1, u32::MAX)?.unwrap_or(1),
        max_width: num("columns", 1, 8192)?.unwrap_or(0),
        max_height: num("rows", 1, 8192)?.unwrap_or(0),
        window,
        quality: num("imageQuality", 1, 100)?.map_or(90, |q| q as u8),
        format: ImageFormat::Jpeg,
    })
}

/// WADO-URI (PS3.18 §9): `requestType=WADO&studyUID&seriesUID&objectUID`.
#[utoipa::path(
    tag = "dicomweb",
    operation_id = "wadoUri",
    summary = "Retrieve an object (WADO-URI)",
    description = "PS3.18 WADO-URI (§9)",
    params(WadoUriQuery),
    responses(
        (status = 200, description = "The object, or its rendering",
            content((Binary = "image/jpeg"), (Binary = "image/png"), (Binary = "application/dicom"))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 406, response = NotAcceptable),
        (status = 422, response = Unprocessable),
    )
)]
#[get("/wado")]
async fn wado_uri(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    match param(&pairs, "requestType") {
        Some("WADO") => {}
        Some(other) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidParameter,
                format!("requestType must be WADO, not {other:?}"),
            ));
        }
        None => {
            return Err(ApiError::bad_request(
                ErrorCode::MissingParameter,
                "requestType=WADO is required",
            ));
        }
    }
    let mut missing = Vec::new();
    let mut uid = |name: &'static str| {
        let v = param(&pairs, name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        if v.is_none() {
            missing.push(name);
        }
        v.unwrap_or_default()
    };
    let (study, series, object) = (uid("studyUID"), uid("seriesUID"), uid("objectUID"));
    if !missing.is_empty() {
        return Err(ApiError::bad_request(
            ErrorCode::MissingParameter,
            format!("missing parameter(s): {}", missing.join(", ")),
        ));
    }
    let content_type = param(&pairs, "contentType")
        .unwrap_or("image/jpeg")
        .to_owned();
    let wants_dicom = content_type
        .split(',')
        .any(|c| c.trim() == "application/dicom");
    if !wants_dicom {
        // PS3.18 §9.1.2.1.5: a list of types in preference order.
        let format = content_type
            .split(',')
            .find_map(|c| match c.trim() {
                "image/jpeg" | "image/*" | "*/*" => Some(ImageFormat::Jpeg),
                "image/png" => Some(ImageFormat::Png),
                _ => None,
            })
            .ok_or_else(|| {
                ApiError::NotAcceptable(format!(
                    "contentType {content_type} is not available; use image/jpeg, image/png or application/dicom"
                ))
            })?;
        let spec = RenderSpec {
            format,
            ..uri_render_spec(&pairs)?
        };
        let (tenant, ports) = (tenant.into_inner(), state.ports.clone());
        let image = blocking(move || {
            let inst = locate_object(&ports, &tenant, &study, &series, &object)?;
            render(&ports, &tenant, &inst, &spec)
        })
        .await?;
        return Ok(HttpResponse::Ok()
            .content_type(format.media_type())
            .body(image.to_vec()));
    }
    let requested_ts = param(&pairs, "transferSyntax").map(str::to_owned);
    let tenant = tenant.into_inner();
    let ports = state.ports.clone();
    let inst = blocking(move || locate_object(&ports, &tenant, &study, &series, &object)).await?;
    if let Some(ts) = requested_ts.filter(|t| !t.is_empty() && t != "*")
        && ts != inst.transfer_syntax.as_str()
    {
        return Err(ApiError::NotAcceptable(format!(
            "the instance is stored as {}; transcoding to {ts} is not available",
            inst.transfer_syntax
        )));
    }
    let bytes = open(&state.ports, &inst).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/dicom")
        .no_chunking(bytes.len)
        .streaming(bytes.stream))
}
