//! Digital pathology (API.md §4): `POST /pathoRsListener/{CALLING_AET}/studies`
//! (multipart/form-data: metadata or sidecar, file, fileHash, fileLength) and
//! `GET /wholeslide?barcode=`. Files stream to the medium's staging area on
//! upload, and from the medium (honouring `Range`) on download.

use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, ByteRangeSpec, Charset, ContentDisposition, DispositionParam, DispositionType,
    ExtendedValue, Header as _,
};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use pacs_app::pathology::{SlideStored, SlideUpload, WholeSlide, find_whole_slide};
use pacs_app::retrieve::{open, read_stored, stored_len};
use pacs_app::{ErrorCode, Tenant};
use pacs_domain::ids::AeTitle;
use pacs_domain::model::{BlobLocation, SlideKind};
use pacs_domain::ports::ByteRange;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::ApiError;
use crate::openapi::{
    BadRequest, Binary, Conflict, Multipart, NotFound, PayloadTooLarge, RangeNotSatisfiable,
};
use crate::routes::parts::{PartFailure, PartStream, next_part, read_small};
use crate::routes::stream::zip_body;
use crate::routes::util::{blocking, param, query_pairs};
use crate::state::AppState;
use crate::wire::params::BarcodeQuery;
use crate::wire::pathology::SlideStoredBody;

/// Largest metadata JSON and sidecar; slides themselves are bounded by
/// `server.max_body_bytes` only.
const MAX_METADATA: usize = 1024 * 1024;
const MAX_SIDECAR: u64 = 16 * 1024 * 1024;
const MAX_SMALL: usize = 1024;

pub fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(store_slide).service(whole_slide);
}

fn check_form_data(req: &HttpRequest) -> Result<(), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ok = ct
        .parse::<mime::Mime>()
        .is_ok_and(|m| m.type_() == mime::MULTIPART && m.subtype() == mime::FORM_DATA);
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            ErrorCode::NotMultipart,
            "the body must be multipart/form-data with parts metadata (or sidecar), file, \
             and optionally fileHash and fileLength",
        ))
    }
}

#[utoipa::path(
    tag = "pathology",
    operation_id = "storeSlide",
    summary = "Store a slide file or MIRAX zip with its metadata or sidecar",
    description = "The file is streamed to storage while its SHA-1 and length are computed. 400: a \
                   missing or invalid part, an unknown keyword or invalid value, a MIRAX zip without \
                   .mrxs or with unsafe entries, a sidecar not of this archive. 409: fileHash or \
                   fileLength mismatch, or data in conflict with what is stored (nothing is kept).",
    params((
        "aet",
        description = "CALLING_AET: the AE title the instances are recorded as received from",
        example = "MODALITY"
    )),
    request_body(
        content = Multipart,
        content_type = "multipart/form-data",
        description = "Parts: metadata (JSON: attributes, hierarchy) or sidecar (a DICOM object this \
                       archive generated), file (the slide; a MIRAX slide as application/zip), fileHash \
                       (SHA-1 hex; for MIRAX of the .mrxs entry), fileLength (bytes)"
    ),
    responses(
        (status = 200, description = "Stored, or already stored", body = SlideStoredBody),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
    )
)]
#[post("/pathoRsListener/{aet}/studies")]
async fn store_slide(
    req: HttpRequest,
    path: web::Path<String>,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let calling_aet = AeTitle::new(&path.into_inner()).map_err(|e| {
        ApiError::bad_request(ErrorCode::InvalidCallingAet, format!("CALLING_AET: {e}"))
    })?;
    check_form_data(&req)?;
    crate::routes::parts::refuse_declared_oversize(&req, state.max_body_bytes)?;
    let upload = SlideUpload::new(
        state.ports.clone(),
        tenant.into_inner(),
        calling_aet,
        state.mirax_limits,
    );
    let multipart = actix_multipart::Multipart::new(req.headers(), payload);
    let upload = match receive(upload, multipart, state.max_body_bytes).await {
        Ok(u) => u,
        Err((u, e)) => {
            // Staged parts are removed off the async workers.
            let _ = web::block(move || drop(u)).await;
            return Err(e);
        }
    };
    let stored = upload.finish().await?;
    Ok(HttpResponse::Ok().json(stored_json(&stored)))
}

fn stored_json(s: &SlideStored) -> SlideStoredBody {
    s.into()
}

type Failed = (SlideUpload, ApiError);

fn text(bytes: Vec<u8>, name: &str) -> Result<String, ApiError> {
    String::from_utf8(bytes).map_err(|_| {
        ApiError::bad_request(
            ErrorCode::InvalidPart,
            format!("the {name} part is not UTF-8 text"),
        )
    })
}

/// Receives the parts in whatever order they come.
async fn receive(
    mut upload: SlideUpload,
    mut multipart: actix_multipart::Multipart,
    max_bytes: u64,
) -> Result<SlideUpload, Failed> {
    let mut total: u64 = 0;
    loop {
        let field = match next_part(&mut multipart).await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(upload),
            Err(e) => return Err((upload, e)),
        };
        let name = field.name().unwrap_or("").to_owned();
        let step: Result<(), ApiError> = match name.as_str() {
            "metadata" => match read_small(field, MAX_METADATA, "metadata").await {
                Ok(bytes) => upload.set_metadata(&bytes).map_err(ApiError::App),
                Err(e) => Err(e),
            },
            "fileHash" | "fileLength" => match read_small(field, MAX_SMALL, &name)
                .await
                .and_then(|b| text(b, &name))
            {
                Ok(t) if name == "fileHash" => upload.set_file_hash(&t).map_err(ApiError::App),
                Ok(t) => upload.set_file_length(&t).map_err(ApiError::App),
                Err(e) => Err(e),
            },
            "file" | "sidecar" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(str::to_owned);
                let zip = field.content_type().is_some_and(|m| {
                    m.essence_str() == "application/zip"
                        || m.essence_str() == "application/x-zip-compressed"
                });
                let limit = if name == "file" {
                    max_bytes
                } else {
                    MAX_SIDECAR.min(max_bytes)
                };
                // The part's body goes straight to the use case, which stages it.
                let mut part_total = 0u64;
                let mut failure = PartFailure::default();
                let body = PartStream::new(field, &mut part_total, limit, &mut failure).boxed();
                let r = if name == "file" {
                    upload.set_file(body, file_name.as_deref(), zip).await
                } else {
                    upload.set_sidecar(body).await
                };
                total += part_total;
                r.map_err(|e| failure.or(e))
            }
            "" => Err(ApiError::bad_request(
                ErrorCode::InvalidPart,
                "a part has no name (Content-Disposition: form-data; name=…)",
            )),
            other => Err(ApiError::bad_request(
                ErrorCode::UnknownPart,
                format!(
                    "unknown part {other:?}: the parts are metadata or sidecar, file, fileHash \
                     and fileLength"
                ),
            )),
        };
        if let Err(e) = step {
            return Err((upload, e));
        }
        if total > max_bytes {
            return Err((
                upload,
                ApiError::PayloadTooLarge(format!("the body exceeds {max_bytes} bytes")),
            ));
        }
    }
}

/// `Content-Disposition: attachment` naming `name` (RFC 6266, with the UTF-8
/// form when it is not plain ASCII).
fn disposition(name: &str) -> ContentDisposition {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut parameters = vec![DispositionParam::Filename(ascii.clone())];
    if ascii != name {
        parameters.push(DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: name.as_bytes().to_vec(),
        }));
    }
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters,
    }
}

/// The byte range to send of `len` bytes: `None` for the whole (no or
/// several ranges), `Err` when unsatisfiable.
fn requested_range(req: &HttpRequest, len: u64) -> Result<Option<(u64, u64)>, ()> {
    // No Range header (or an unreadable one) is a request for the whole.
    let Ok(header::Range::Bytes(specs)) = header::Range::parse(req) else {
        return Ok(None);
    };
    match specs.as_slice() {
        [one] => one.to_satisfiable_range(len).map(Some).ok_or(()),
        _ => {
            let any = specs
                .iter()
                .any(|s: &ByteRangeSpec| s.to_satisfiable_range(len).is_some());
            if any { Ok(None) } else { Err(()) }
        }
    }
}

/// A stored object as the response, whole or one range of it.
async fn send_blob(
    req: &HttpRequest,
    state: &AppState,
    blob: BlobLocation,
    name: &str,
    content_type: &str,
) -> Result<HttpResponse, ApiError> {
    let len = stored_len(&state.ports, &blob).await?;
    let mut resp = HttpResponse::build(StatusCode::OK);
    resp.insert_header(disposition(name))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .content_type(content_type);
    match requested_range(req, len) {
        Ok(None) => {
            let bytes = read_stored(&state.ports, &blob, ByteRange::ALL).await?;
            Ok(resp.no_chunking(len).streaming(bytes))
        }
        Ok(Some((start, end))) => {
            let n = end - start + 1;
            resp.status(StatusCode::PARTIAL_CONTENT)
                .insert_header((header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}")));
            let bytes = read_stored(&state.ports, &blob, ByteRange::new(start, n)).await?;
            Ok(resp.no_chunking(n).streaming(bytes))
        }
        Err(()) => Err(ApiError::RangeNotSatisfiable { length: len }),
    }
}

#[utoipa::path(
    tag = "pathology",
    operation_id = "getWholeSlide",
    summary = "The whole slide of a barcode (Container Identifier)",
    description = "A slide file as stored, a MIRAX slide as its zip, a DICOM WSI as its baseline \
                   instance (a zip when the baseline spans several instances). Content-Disposition \
                   names the file. 400: no or empty barcode; 404: none; 409: several slides.",
    params(
        BarcodeQuery,
        ("Range" = Option<String>, Header, description = "One byte range (bytes=first-last); several ranges get the whole"),
    ),
    responses(
        (status = 200, description = "The slide", content(
            (Binary = "application/octet-stream"), (Binary = "application/zip"), (Binary = "application/dicom"))),
        (status = 206, description = "The requested range", content(
            (Binary = "application/octet-stream"), (Binary = "application/zip"), (Binary = "application/dicom"))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 416, response = RangeNotSatisfiable),
    )
)]
#[get("/wholeslide")]
async fn whole_slide(
    req: HttpRequest,
    tenant: web::ReqData<Tenant>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let pairs = query_pairs(&req)?;
    let barcode = param(&pairs, "barcode").unwrap_or("").to_owned();
    let ports = state.ports.clone();
    let tenant = tenant.into_inner();
    let slide = blocking(move || find_whole_slide(&ports, &tenant, &barcode)).await?;
    match slide {
        WholeSlide::File { blob, name, kind } => {
            let ct = match kind {
                SlideKind::Mirax => "application/zip",
                SlideKind::File => "application/octet-stream",
            };
            send_blob(&req, &state, blob, &name, ct).await
        }
        WholeSlide::Dicom {
            mut instances,
            name,
        } if instances.len() == 1 => {
            let inst = instances.remove(0);
            if inst.uncorrected() {
                return send_blob(&req, &state, inst.blob.clone(), &name, "application/dicom")
                    .await;
            }
            // A corrected header is spliced in front: sent whole.
            let bytes = open(&state.ports, &inst).await?;
            Ok(HttpResponse::Ok()
                .insert_header(disposition(&name))
                .content_type("application/dicom")
                .no_chunking(bytes.len)
                .streaming(bytes.stream))
        }
        WholeSlide::Dicom { instances, name } => Ok(HttpResponse::Ok()
            .insert_header(disposition(&name))
            .content_type("application/zip")
            .streaming(zip_body(state.ports.clone(), instances))),
    }
}
