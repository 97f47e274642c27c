//! WADO-RS bulk data (PS3.18 §10.4.1.1.5): the values that metadata points at
//! with a `BulkDataURI`, `…/instances/{instance}/bulkdata/{tag}` under both
//! roots. One part of `application/octet-stream`, little endian; Pixel Data
//! is the instance's frames one after the other (native pixels, decoded when
//! stored compressed).

use actix_web::{HttpRequest, HttpResponse, get, web};
use pacs_app::Tenant;
use pacs_app::frames::read_frames;
use pacs_app::retrieve::{Target, bulk_value, check_aet, is_pixel_data_tag, locate};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{BadRequest, Binary, NotAcceptable, NotFound, Unprocessable};
use crate::routes::stream::pixel_data_body;
use crate::routes::util::{accepted, blocking, boundary};
use crate::state::AppState;
use crate::wire::params::{AetPath, BulkTagPath, InstancePath, SeriesPath, StudyPath};

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(bulkdata).service(dw_bulkdata);
}

#[derive(serde::Deserialize)]
struct BulkPath {
    aet: String,
    study: String,
    series: String,
    instance: String,
    tag: String,
}

type Args = (
    HttpRequest,
    web::Path<BulkPath>,
    web::ReqData<Tenant>,
    web::Data<AppState>,
);

macro_rules! bulk_resource {
    ($name:ident, $path:tt, $id:tt, $summary:tt) => {
        #[utoipa::path(
            tag = "dicomweb",
            operation_id = $id,
            summary = $summary,
            description = "PS3.18 WADO-RS bulk data: the value a BulkDataURI of the metadata \
                           names, as one application/octet-stream part (little endian).",
            params(
                AetPath,
                StudyPath,
                SeriesPath,
                InstancePath,
                BulkTagPath,
                ("Accept" = Option<String>, Header,
                    description = "multipart/related; type=\"application/octet-stream\" (the default; also */*, application/*)"),
            ),
            responses(
                (status = 200, description = "The value",
                    content((Binary = "multipart/related; type=\"application/octet-stream\""))),
                (status = 400, response = BadRequest),
                (status = 404, response = NotFound),
                (status = 406, response = NotAcceptable),
                (status = 422, response = Unprocessable),
            )
        )]
        #[get($path)]
        async fn $name(a: Args) -> Result<HttpResponse, ApiError> {
            let (req, path, tenant, state) = a;
            bulk(req, path.into_inner(), tenant.into_inner(), state).await
        }
    };
}

bulk_resource!(
    bulkdata,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag:.+}",
    "wadoBulkdata",
    "Retrieve a bulk data value"
);
bulk_resource!(
    dw_bulkdata,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}/bulkdata/{tag:.+}",
    "dicomwebWadoBulkdata",
    "Retrieve a bulk data value (one root)"
);

/// Bulk data is sent as `application/octet-stream` parts only.
fn check_accept(req: &HttpRequest) -> Result<(), ApiError> {
    let Some((accept, ranges)) = accepted(req) else {
        return Ok(());
    };
    let octets = "application/octet-stream";
    if ranges
        .iter()
        .any(|m| m.covers(octets) || (m.covers("multipart/related") && m.parts_may_be(octets)))
    {
        return Ok(());
    }
    Err(ApiError::NotAcceptable(format!(
        "cannot answer with {accept}; bulk data is available as multipart/related; type=\"application/octet-stream\""
    )))
}

async fn bulk(
    req: HttpRequest,
    p: BulkPath,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_aet(&tenant, &p.aet)?;
    check_accept(&req)?;
    let target = Target::parse(&p.study, Some(&p.series), Some(&p.instance))?;
    let ports = state.ports.clone();
    let b = boundary();
    let content_type =
        format!("multipart/related; type=\"application/octet-stream\"; boundary={b}");
    if is_pixel_data_tag(&p.tag) {
        let (first, rest) = blocking(move || {
            let inst = locate(&ports, &tenant, &target, false)?.remove(0);
            let count = inst
                .frame_index
                .as_ref()
                .map(|i| i.len())
                .or(inst.number_of_frames.and_then(|n| usize::try_from(n).ok()))
                .unwrap_or(1)
                .max(1);
            let numbers = (1..=u32::try_from(count).unwrap_or(u32::MAX)).collect();
            let mut reader = read_frames(&ports, &inst, numbers, true)?;
            let first = reader.next().expect("a frame list is never empty")?;
            Ok((first, reader))
        })
        .await?;
        return Ok(HttpResponse::Ok()
            .content_type(content_type)
            .streaming(pixel_data_body(first, rest, b)));
    }
    let tag = p.tag;
    let value = blocking(move || {
        let inst = locate(&ports, &tenant, &target, false)?.remove(0);
        bulk_value(&ports, &inst, &tag)
    })
    .await?;
    let mut body = Vec::with_capacity(value.len() + 160);
    body.extend_from_slice(
        format!(
            "--{b}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            value.len()
        )
        .as_bytes(),
    );
    body.extend_from_slice(&value);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    Ok(HttpResponse::Ok().content_type(content_type).body(body))
}
