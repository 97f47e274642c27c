//! Images: `GET /preview`, and WADO-RS frames, rendered and thumbnail resources
//! (under `/wado-rs/{AET}` and the one root `/dicomweb/{AET}`).

use actix_web::{HttpRequest, HttpResponse, get, web};
use pacs_app::frames::{is_native_le, parse_frame_list, read_frames};
use pacs_app::rendering::{ImageFormat, RenderSpec, preview, render, representative};
use pacs_app::retrieve::{Target, check_aet, locate};
use pacs_app::{AppError, ErrorCode, Ports, Tenant};
use pacs_domain::model::StoredInstance;

use crate::error::ApiError;
use crate::media::MediaRange;
use crate::openapi::{BadRequest, Binary, NotAcceptable, NotFound, Unprocessable};
use crate::routes::stream::frames_body;
use crate::routes::util::{accepted, blocking, boundary, param, query_pairs};
use crate::state::AppState;
use crate::wire::params::{
    AetPath, FramesPath, ImageQuery, InstancePath, PreviewQuery, SeriesPath, StudyPath,
};
use utoipa_actix_web::service_config::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(get_preview)
        .service(instance_frames)
        .service(rendered_frames)
        .service(thumbnail_frames)
        .service(rendered_instance)
        .service(thumbnail_instance)
        .service(rendered_series)
        .service(thumbnail_series)
        .service(rendered_study)
        .service(thumbnail_study)
        .service(dw_instance_frames)
        .service(dw_rendered_frames)
        .service(dw_thumbnail_frames)
        .service(dw_rendered_instance)
        .service(dw_thumbnail_instance)
        .service(dw_rendered_series)
        .service(dw_thumbnail_series)
        .service(dw_rendered_study)
        .service(dw_thumbnail_study);
}

/// The extractors of the WADO-RS image resources.
type Args = (
    HttpRequest,
    web::Path<ImagePath>,
    web::ReqData<Tenant>,
    web::Data<AppState>,
);

/// One rendered or thumbnail resource (PS3.18 §10.4.1.1.3); the body is
/// [`rendered`] or [`thumbnail`].
macro_rules! image_resource {
    ($name:ident, $body:ident, $path:tt, ($($params:ty),+), $id:tt, $summary:tt, $text:tt) => {
        #[utoipa::path(
            tag = "dicomweb",
            operation_id = $id,
            summary = $summary,
            description = $text,
            params(
                $($params,)+
                ImageQuery,
                ("Accept" = Option<String>, Header,
                    description = "image/jpeg (the default; also image/* and */*) or image/png, bare or as multipart/related; type=\"image/jpeg\" (or image/png); q-values honoured"),
            ),
            responses(
                (status = 200, description = "The image(s)", content(
                    (Binary = "image/jpeg"), (Binary = "image/png"),
                    (Binary = "multipart/related; type=\"image/jpeg\""),
                    (Binary = "multipart/related; type=\"image/png\""))),
                (status = 400, response = BadRequest),
                (status = 404, response = NotFound),
                (status = 406, response = NotAcceptable),
                (status = 422, response = Unprocessable),
            )
        )]
        #[get($path)]
        async fn $name(a: Args) -> Result<HttpResponse, ApiError> {
            let (req, path, tenant, state) = a;
            $body(req, path, tenant, state).await
        }
    };
}

const RENDERED: &str = "JPEG rendering: one image bare, several (a series, a study, a frame list) as multipart/related.";
const THUMBNAIL: &str =
    "One JPEG image representing the resource (a study's or series' representative instance).";

image_resource!(
    rendered_frames,
    rendered,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered",
    (AetPath, StudyPath, SeriesPath, InstancePath, FramesPath),
    "renderedFrames",
    "Rendered frames",
    RENDERED
);
image_resource!(
    thumbnail_frames,
    thumbnail,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/thumbnail",
    (AetPath, StudyPath, SeriesPath, InstancePath, FramesPath),
    "thumbnailFrames",
    "Thumbnail of frames",
    THUMBNAIL
);
image_resource!(
    rendered_instance,
    rendered,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/rendered",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "renderedInstance",
    "Rendered instance",
    RENDERED
);
image_resource!(
    thumbnail_instance,
    thumbnail,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/thumbnail",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "thumbnailInstance",
    "Thumbnail of an instance",
    THUMBNAIL
);
image_resource!(
    rendered_series,
    rendered,
    "/wado-rs/{aet}/studies/{study}/series/{series}/rendered",
    (AetPath, StudyPath, SeriesPath),
    "renderedSeries",
    "Rendered series",
    RENDERED
);
image_resource!(
    thumbnail_series,
    thumbnail,
    "/wado-rs/{aet}/studies/{study}/series/{series}/thumbnail",
    (AetPath, StudyPath, SeriesPath),
    "thumbnailSeries",
    "Thumbnail of a series",
    THUMBNAIL
);
image_resource!(
    rendered_study,
    rendered,
    "/wado-rs/{aet}/studies/{study}/rendered",
    (AetPath, StudyPath),
    "renderedStudy",
    "Rendered study",
    RENDERED
);
image_resource!(
    thumbnail_study,
    thumbnail,
    "/wado-rs/{aet}/studies/{study}/thumbnail",
    (AetPath, StudyPath),
    "thumbnailStudy",
    "Thumbnail of a study",
    THUMBNAIL
);

image_resource!(
    dw_rendered_frames,
    rendered,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered",
    (AetPath, StudyPath, SeriesPath, InstancePath, FramesPath),
    "dicomwebRenderedFrames",
    "Rendered frames (one root)",
    RENDERED
);
image_resource!(
    dw_thumbnail_frames,
    thumbnail,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/thumbnail",
    (AetPath, StudyPath, SeriesPath, InstancePath, FramesPath),
    "dicomwebThumbnailFrames",
    "Thumbnail of frames (one root)",
    THUMBNAIL
);
image_resource!(
    dw_rendered_instance,
    rendered,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}/rendered",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "dicomwebRenderedInstance",
    "Rendered instance (one root)",
    RENDERED
);
image_resource!(
    dw_thumbnail_instance,
    thumbnail,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}/thumbnail",
    (AetPath, StudyPath, SeriesPath, InstancePath),
    "dicomwebThumbnailInstance",
    "Thumbnail of an instance (one root)",
    THUMBNAIL
);
image_resource!(
    dw_rendered_series,
    rendered,
    "/dicomweb/{aet}/studies/{study}/series/{series}/rendered",
    (AetPath, StudyPath, SeriesPath),
    "dicomwebRenderedSeries",
    "Rendered series (one root)",
    RENDERED
);
image_resource!(
    dw_thumbnail_series,
    thumbnail,
    "/dicomweb/{aet}/studies/{study}/series/{series}/thumbnail",
    (AetPath, StudyPath, SeriesPath),
    "dicomwebThumbnailSeries",
    "Thumbnail of a series (one root)",
    THUMBNAIL
);
image_resource!(
    dw_rendered_study,
    rendered,
    "/dicomweb/{aet}/studies/{study}/rendered",
    (AetPath, StudyPath),
    "dicomwebRenderedStudy",
    "Rendered study (one root)",
    RENDERED
);
image_resource!(
    dw_thumbnail_study,
    thumbnail,
    "/dicomweb/{aet}/studies/{study}/thumbnail",
    (AetPath, StudyPath),
    "dicomwebThumbnailStudy",
    "Thumbnail of a study (one root)",
    THUMBNAIL
);

/// The frames resource (PS3.18 §10.4.1.1.2); the body is [`frames`].
macro_rules! frames_resource {
    ($name:ident, $path:tt, $id:tt, $summary:tt) => {
        #[utoipa::path(
            tag = "dicomweb",
            operation_id = $id,
            summary = $summary,
            description = "PS3.18 WADO-RS frames: one part per frame, each with its transfer-syntax.",
            params(
                AetPath,
                StudyPath,
                SeriesPath,
                InstancePath,
                FramesPath,
                ("Accept" = Option<String>, Header,
                    description = "multipart/related; type=\"application/octet-stream\" (native pixels; \
                                   transfer-syntax=* for the stored bytes), or the stored frames' own type"),
            ),
            responses(
                (status = 200, description = "The frames",
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
            frames(req, path, tenant, state).await
        }
    };
}

frames_resource!(
    instance_frames,
    "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}/frames/{frames}",
    "wadoFrames",
    "Retrieve frames"
);
frames_resource!(
    dw_instance_frames,
    "/dicomweb/{aet}/studies/{study}/series/{series}/instances/{instance}/frames/{frames}",
    "dicomwebWadoFrames",
    "Retrieve frames (one root)"
);

#[derive(serde::Deserialize)]
struct ImagePath {
    aet: String,
    study: String,
    series: Option<String>,
    instance: Option<String>,
    frames: Option<String>,
}

fn image(format: ImageFormat, bytes: &[u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(format.media_type())
        .body(bytes.to_vec())
}

#[utoipa::path(
    tag = "images",
    operation_id = "preview",
    summary = "A JPEG preview of an instance or a series",
    description = "400: neither or both of objectUID and seriesUID; 404: unknown, or no pixel data.",
    params(PreviewQuery),
    responses(
        (status = 200, description = "The preview", content((Binary = "image/jpeg"))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
    )
)]
#[get("/preview")]
async fn get_preview(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let object = param(&pairs, "objectUID").map(str::to_owned);
    let series = param(&pairs, "seriesUID").map(str::to_owned);
    let size = param(&pairs, "size").map(str::to_owned);
    let (ports, tenant) = (state.ports.clone(), tenant.into_inner());
    let preview_image = blocking(move || {
        preview(
            &ports,
            &tenant,
            object.as_deref(),
            series.as_deref(),
            size.as_deref(),
        )
    })
    .await?;
    Ok(image(ImageFormat::Jpeg, &preview_image))
}

/// The image format the client prefers: JPEG (the default, and for `*/*`,
/// `image/*`) or PNG, bare or as the parts of a multipart answer; the most
/// preferred range that names one decides.
fn image_format(req: &HttpRequest) -> Result<ImageFormat, ApiError> {
    let Some((accept, ranges)) = accepted(req) else {
        return Ok(ImageFormat::Jpeg);
    };
    let takes = |m: &MediaRange, media: &str| {
        m.covers(media) || (m.covers("multipart/related") && m.parts_may_be(media))
    };
    ranges
        .iter()
        .find_map(|m| {
            if takes(m, "image/jpeg") {
                Some(ImageFormat::Jpeg)
            } else if takes(m, "image/png") {
                Some(ImageFormat::Png)
            } else {
                None
            }
        })
        .ok_or_else(|| {
            ApiError::NotAcceptable(format!(
                "cannot answer with {accept}; rendered images are available as image/jpeg or image/png"
            ))
        })
}

/// `window=center,width[,function]`, `viewport=vw,vh`, `quality=q`.
fn render_spec(
    pairs: &[(String, String)],
    default_box: u32,
    format: ImageFormat,
) -> Result<RenderSpec, AppError> {
    let bad = |m: &str| AppError::invalid(ErrorCode::InvalidParameter, m.to_owned());
    let mut spec = RenderSpec {
        frame: 1,
        max_width: default_box,
        max_height: default_box,
        window: None,
        quality: 90,
        format,
    };
    if let Some(w) = param(pairs, "window") {
        let parts: Vec<&str> = w.split(',').collect();
        let (Some(c), Some(width)) = (
            parts.first().and_then(|v| v.trim().parse::<f64>().ok()),
            parts.get(1).and_then(|v| v.trim().parse::<f64>().ok()),
        ) else {
            return Err(bad("window must be center,width[,function]"));
        };
        if width <= 0.0 {
            return Err(bad("window width must be positive"));
        }
        spec.window = Some((c, width));
    }
    if let Some(v) = param(pairs, "viewport") {
        let parts: Vec<u32> = v
            .split(',')
            .take(2)
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        match parts.as_slice() {
            [w, h] if *w > 0 && *h > 0 && *w <= 8192 && *h <= 8192 => {
                spec.max_width = *w;
                spec.max_height = *h;
            }
            _ => return Err(bad("viewport must be width,height (1 to 8192)")),
        }
    }
    if let Some(q) = param(pairs, "quality") {
        spec.quality = q
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|q| (1..=100).contains(q))
            .ok_or_else(|| bad("quality must be 1 to 100"))?;
    }
    Ok(spec)
}

fn target(p: &ImagePath) -> Result<Target, AppError> {
    Target::parse(&p.study, p.series.as_deref(), p.instance.as_deref())
}

/// The images a rendered/thumbnail resource is made of: one per instance
/// (frame `frame` of each), or the chosen frame of one instance.
fn render_all(
    ports: &Ports,
    tenant: &Tenant,
    p: &ImagePath,
    mut spec: RenderSpec,
    one_per_series: bool,
) -> Result<Vec<Vec<u8>>, AppError> {
    let found = locate(ports, tenant, &target(p)?, false)?;
    if let Some(frames) = &p.frames {
        let numbers = parse_frame_list(frames)?;
        let inst = &found[0];
        return numbers
            .into_iter()
            .map(|n| {
                spec.frame = n;
                render(ports, tenant, inst, &spec).map(|j| j.to_vec())
            })
            .collect();
    }
    let chosen: Vec<&StoredInstance> = if one_per_series {
        // Thumbnails: one image for the study or series (its representative).
        representative(&found).into_iter().collect()
    } else {
        found
            .iter()
            .filter(|i| i.rows.is_some() || i.frame_index.is_some())
            .collect()
    };
    if chosen.is_empty() {
        return Err(AppError::not_found(
            ErrorCode::NoPixelData,
            "nothing here has pixel data",
        ));
    }
    chosen
        .into_iter()
        .map(|i| render(ports, tenant, i, &spec).map(|j| j.to_vec()))
        .collect()
}

fn multipart_images(format: ImageFormat, images: Vec<Vec<u8>>) -> HttpResponse {
    let media = format.media_type();
    multipart(
        media,
        images.iter().map(|i| (media.to_owned(), i.as_slice())),
    )
}

/// A multipart/related response of `media` parts held in memory, each given
/// with its own Content-Type.
fn multipart<'a>(media: &str, parts: impl Iterator<Item = (String, &'a [u8])>) -> HttpResponse {
    let parts: Vec<_> = parts.collect();
    let b = boundary();
    let mut body = Vec::with_capacity(parts.iter().map(|(_, p)| p.len() + 128).sum());
    for (content_type, bytes) in parts {
        body.extend_from_slice(format!("--{b}\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    HttpResponse::Ok()
        .content_type(format!("multipart/related; type=\"{media}\"; boundary={b}"))
        .body(body)
}

async fn rendered(
    req: HttpRequest,
    path: web::Path<ImagePath>,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    image_resource(req, path.into_inner(), tenant.into_inner(), state, false).await
}

async fn thumbnail(
    req: HttpRequest,
    path: web::Path<ImagePath>,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    image_resource(req, path.into_inner(), tenant.into_inner(), state, true).await
}

async fn image_resource(
    req: HttpRequest,
    p: ImagePath,
    tenant: Tenant,
    state: web::Data<AppState>,
    thumbnail: bool,
) -> Result<HttpResponse, ApiError> {
    check_aet(&tenant, &p.aet)?;
    let format = image_format(&req)?;
    let pairs = query_pairs(&req)?;
    let spec = render_spec(&pairs, if thumbnail { 128 } else { 0 }, format)?;
    // One image is answered bare; several (a series, a study, frame lists) as multipart.
    let single =
        thumbnail || (p.instance.is_some() && p.frames.as_deref().is_none_or(|f| !f.contains(',')));
    let ports = state.ports.clone();
    let images = blocking(move || render_all(&ports, &tenant, &p, spec, thumbnail)).await?;
    Ok(if single && images.len() == 1 {
        image(format, &images[0])
    } else {
        multipart_images(format, images)
    })
}

/// Whether the client wants frames decoded to native pixels (`true`) or the
/// stored bytes (`false`), from the most preferred range that can be met:
/// - `transfer-syntax=*` takes the stored bytes, labelled with their own type;
/// - the stored frames' type (`image/jpeg`…, or any type for a range without
///   one) with no syntax or the stored one takes them too;
/// - `application/octet-stream` (or `application/*`) with no syntax or Explicit
///   VR Little Endian takes native pixels, decoded from compressed frames.
///
/// Any other syntax would need transcoding, which this version does not do:
/// such a range is not met, and when none is, 406.
fn frames_wanted(req: &HttpRequest, stored_ts: &str) -> Result<bool, ApiError> {
    let Some((accept, ranges)) = accepted(req) else {
        return Ok(false);
    };
    let stored_type = pacs_app::frames::frame_media_type(stored_ts);
    let octets = "application/octet-stream";
    for m in ranges.iter().filter(|m| m.covers("multipart/related")) {
        let any_syntax = m.param("transfer-syntax").map(str::trim) == Some("*");
        let wanted_ts = m.transfer_syntax();
        if any_syntax && (m.parts_may_be(stored_type) || m.parts_may_be(octets)) {
            return Ok(false);
        }
        if stored_type != octets
            && m.parts_may_be(stored_type)
            && wanted_ts.is_none_or(|t| t == stored_ts)
        {
            return Ok(false);
        }
        if m.parts_may_be(octets) && wanted_ts.is_none_or(|t| t == EXPLICIT_VR_LE) {
            return Ok(!is_native_le(stored_ts));
        }
    }
    Err(ApiError::NotAcceptable(format!(
        "cannot answer with {accept}: frames are stored as {stored_type} (transfer syntax \
         {stored_ts}); accept that, application/octet-stream (Explicit VR Little Endian), \
         or transfer-syntax=*"
    )))
}

/// Explicit VR Little Endian, the syntax of native pixels.
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

async fn frames(
    req: HttpRequest,
    path: web::Path<ImagePath>,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let p = path.into_inner();
    let tenant = tenant.into_inner();
    check_aet(&tenant, &p.aet)?;
    let numbers = parse_frame_list(p.frames.as_deref().unwrap_or(""))?;
    let t = target(&p)?;
    let ports = state.ports.clone();
    let inst = blocking(move || Ok(locate(&ports, &tenant, &t, false)?.remove(0))).await?;
    let native = frames_wanted(&req, inst.transfer_syntax.as_str())?;
    let ports = state.ports.clone();
    let (first, rest) = blocking(move || {
        let mut reader = read_frames(&ports, &inst, numbers, native)?;
        let first = reader.next().expect("a frame list is never empty")?;
        Ok((first, reader))
    })
    .await?;
    let b = boundary();
    Ok(HttpResponse::Ok()
        .content_type(format!(
            "multipart/related; type=\"{}\"; boundary={b}",
            first.media_type
        ))
        .streaming(frames_body(first, rest, b)))
}
