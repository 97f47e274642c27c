//! Images: `GET /preview`, and WADO-RS frames, rendered and thumbnail resources.

use actix_web::{HttpRequest, HttpResponse, web};
use pacs_app::frames::{is_native_le, parse_frame_list, read_frames};
use pacs_app::rendering::{RenderSpec, preview, render, representative};
use pacs_app::retrieve::{Target, check_aet, locate};
use pacs_app::{AppError, Ports, Tenant};
use pacs_domain::model::StoredInstance;

use crate::error::ApiError;
use crate::routes::stream::frames_body;
use crate::routes::util::{accepted, blocking, boundary, param, query_pairs};
use crate::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    let i = "/wado-rs/{aet}/studies/{study}/series/{series}/instances/{instance}";
    cfg.service(web::resource("/preview").route(web::get().to(get_preview)))
        .service(web::resource(format!("{i}/frames/{{frames}}")).route(web::get().to(frames)))
        .service(
            web::resource(format!("{i}/frames/{{frames}}/rendered")).route(web::get().to(rendered)),
        )
        .service(
            web::resource(format!("{i}/frames/{{frames}}/thumbnail"))
                .route(web::get().to(thumbnail)),
        )
        .service(web::resource(format!("{i}/rendered")).route(web::get().to(rendered)))
        .service(web::resource(format!("{i}/thumbnail")).route(web::get().to(thumbnail)))
        .service(
            web::resource("/wado-rs/{aet}/studies/{study}/series/{series}/rendered")
                .route(web::get().to(rendered)),
        )
        .service(
            web::resource("/wado-rs/{aet}/studies/{study}/series/{series}/thumbnail")
                .route(web::get().to(thumbnail)),
        )
        .service(
            web::resource("/wado-rs/{aet}/studies/{study}/rendered").route(web::get().to(rendered)),
        )
        .service(
            web::resource("/wado-rs/{aet}/studies/{study}/thumbnail")
                .route(web::get().to(thumbnail)),
        );
}

#[derive(serde::Deserialize)]
struct ImagePath {
    aet: String,
    study: String,
    series: Option<String>,
    instance: Option<String>,
    frames: Option<String>,
}

fn jpeg(bytes: &[u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/jpeg")
        .body(bytes.to_vec())
}

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
    let image = blocking(move || {
        preview(
            &ports,
            &tenant,
            object.as_deref(),
            series.as_deref(),
            size.as_deref(),
        )
    })
    .await?;
    Ok(jpeg(&image))
}

/// Whether the client takes JPEG images (absent Accept, `*/*`, `image/*`,
/// `image/jpeg`, or multipart of JPEG for study and series resources).
fn accepts_jpeg(req: &HttpRequest) -> bool {
    let Some((_, ranges)) = accepted(req) else {
        return true;
    };
    ranges.iter().any(|m| {
        matches!(
            m.essence_str(),
            "*/*" | "image/*" | "image/jpeg" | "multipart/*"
        ) || (m.essence_str() == "multipart/related"
            && m.get_param("type")
                .is_none_or(|t| t.as_str() == "image/jpeg"))
    })
}

/// `window=center,width[,function]`, `viewport=vw,vh`, `quality=q`.
fn render_spec(pairs: &[(String, String)], default_box: u32) -> Result<RenderSpec, AppError> {
    let bad = |m: &str| AppError::invalid("invalid_parameter", m.to_owned());
    let mut spec = RenderSpec {
        frame: 1,
        max_width: default_box,
        max_height: default_box,
        window: None,
        quality: 90,
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
            "no_pixel_data",
            "nothing here has pixel data",
        ));
    }
    chosen
        .into_iter()
        .map(|i| render(ports, tenant, i, &spec).map(|j| j.to_vec()))
        .collect()
}

fn multipart_jpegs(images: Vec<Vec<u8>>) -> HttpResponse {
    multipart(
        "image/jpeg",
        images
            .iter()
            .map(|i| ("image/jpeg".to_owned(), i.as_slice())),
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
    if !accepts_jpeg(&req) {
        return Err(ApiError(AppError::NotAcceptable(
            "rendered images are available as image/jpeg".into(),
        )));
    }
    let pairs = query_pairs(&req)?;
    let spec = render_spec(&pairs, if thumbnail { 128 } else { 0 })?;
    // One image is answered bare; several (a series, a study, frame lists) as multipart.
    let single =
        thumbnail || (p.instance.is_some() && p.frames.as_deref().is_none_or(|f| !f.contains(',')));
    let ports = state.ports.clone();
    let images = blocking(move || render_all(&ports, &tenant, &p, spec, thumbnail)).await?;
    Ok(if single && images.len() == 1 {
        jpeg(&images[0])
    } else {
        multipart_jpegs(images)
    })
}

/// What the client accepts for frames: the stored bytes, or native pixels.
fn frames_wanted(req: &HttpRequest, stored_ts: &str) -> Result<bool, ApiError> {
    let Some((_, ranges)) = accepted(req) else {
        return Ok(false);
    };
    let stored_type = pacs_app::frames::frame_media_type(stored_ts);
    for m in ranges {
        let ts = m
            .get_param("transfer-syntax")
            .map(|t| t.as_str().to_owned());
        match (
            m.essence_str(),
            m.get_param("type").map(|t| t.as_str().to_owned()),
        ) {
            ("*/*" | "multipart/*", _) | ("multipart/related", None) => return Ok(false),
            ("multipart/related", Some(t)) if t == "application/octet-stream" => {
                let any = ts.as_deref() == Some("*");
                let stored_native = is_native_le(stored_ts);
                // Uncompressed asked for compressed data: decode.
                return Ok(!any && !stored_native);
            }
            ("multipart/related", Some(t)) if t == stored_type => return Ok(false),
            _ => {}
        }
    }
    Err(ApiError(AppError::NotAcceptable(format!(
        "frames are stored as {stored_type} (transfer syntax {stored_ts}); accept that type, or application/octet-stream"
    ))))
}

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
