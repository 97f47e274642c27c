//! Rendering instances to JPEG or PNG (preview, WADO-URI, WADO-RS rendered and
//! thumbnails) with bounded decoding: a limited number of decodes at once, and
//! a memory cache of rendered images bounded by bytes.

use std::sync::Arc;

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};
use crate::renderer::CacheKey;
pub use crate::renderer::Rendering;
use pacs_dicom_ops::{DicomError, render_image};
pub use pacs_dicom_ops::{ImageFormat, RenderSpec};
use pacs_domain::ids::{SeriesInstanceUid, SopInstanceUid};
use pacs_domain::model::StoredInstance;

/// VL Whole Slide Microscopy Image Storage.
pub const WSI_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.77.1.6";

fn render_error(e: DicomError) -> AppError {
    match e {
        DicomError::NoPixelData => {
            AppError::not_found(ErrorCode::NoPixelData, "the instance has no pixel data")
        }
        DicomError::NoSuchFrame { asked, frames } => AppError::not_found(
            ErrorCode::NoSuchFrame,
            format!("frame {asked} does not exist (the instance has {frames})"),
        ),
        DicomError::CannotRender(why) => AppError::Unprocessable {
            code: ErrorCode::CannotRender,
            message: format!("the pixel data cannot be rendered: {why}"),
        },
        other => AppError::from(other),
    }
}

/// Renders one frame of a stored instance (blocking), through the cache.
pub fn render(
    ports: &Ports,
    tenant: &Tenant,
    inst: &StoredInstance,
    spec: &RenderSpec,
) -> Result<Arc<Vec<u8>>, AppError> {
    if inst.rows.is_none() && inst.frame_index.is_none() {
        return Err(AppError::not_found(
            ErrorCode::NoPixelData,
            "the instance has no pixel data",
        ));
    }
    let pixels = u64::from(inst.rows.unwrap_or(0).unsigned_abs())
        * u64::from(inst.columns.unwrap_or(0).unsigned_abs());
    if pixels > ports.limits.render_max_pixels {
        return Err(AppError::Unprocessable {
            code: ErrorCode::ImageTooLarge,
            message: format!(
                "the frame has {pixels} pixels; this archive renders at most {} (limits.render_max_pixels)",
                ports.limits.render_max_pixels
            ),
        });
    }
    // No viewport, or a larger one, is the configured largest side: a client
    // cannot make the archive encode a 100 MB JPEG.
    let side = ports.limits.render_max_side;
    let fit = |v: u32| if v == 0 { side } else { v.min(side) };
    let spec = &RenderSpec {
        max_width: fit(spec.max_width),
        max_height: fit(spec.max_height),
        ..spec.clone()
    };
    let key = CacheKey {
        tenant: tenant.name.to_string(),
        sop: inst.sop_uid.to_string(),
        sha1: inst.blob.sha1.clone(),
        frame: spec.frame,
        width: spec.max_width,
        height: spec.max_height,
        window: spec.window.map(|(c, w)| (c.to_bits(), w.to_bits())),
        quality: spec.quality,
        format: spec.format,
    };
    let r = &ports.rendering;
    if let Some(hit) = r.cache.get(&key) {
        return Ok(hit);
    }
    let jpeg = {
        let _slot = r.slots.take();
        let reader = ports
            .media
            .get(&inst.blob.medium)?
            .blocking_reader(&inst.blob.key)?;
        render_image(reader, inst.frame_index.as_ref(), spec).map_err(render_error)?
    };
    let jpeg = Arc::new(jpeg);
    r.cache.insert(key, jpeg.clone());
    Ok(jpeg)
}

/// The instance that stands for a series in a preview: a whole slide's
/// thumbnail or smallest level (never a full level); otherwise the instance
/// with the lowest Instance Number that has pixel data (ties by SOP UID).
pub fn representative(instances: &[StoredInstance]) -> Option<&StoredInstance> {
    let images = instances
        .iter()
        .filter(|i| i.rows.is_some() || i.frame_index.is_some());
    let slides: Vec<&StoredInstance> = images
        .clone()
        .filter(|i| i.sop_class.as_str() == WSI_SOP_CLASS)
        .collect();
    if !slides.is_empty() {
        let kind = |i: &StoredInstance, k: &str| {
            i.image_type
                .as_deref()
                .is_some_and(|t| t.split('\\').any(|v| v == k))
        };
        if let Some(thumb) = slides.iter().find(|i| kind(i, "THUMBNAIL")) {
            return Some(thumb);
        }
        let area = |i: &StoredInstance| {
            let (r, c) = (
                i.total_pixel_matrix_rows.or(i.rows),
                i.total_pixel_matrix_columns.or(i.columns),
            );
            i64::from(r.unwrap_or(i32::MAX)) * i64::from(c.unwrap_or(i32::MAX))
        };
        return slides
            .into_iter()
            .filter(|i| !kind(i, "LABEL") && !kind(i, "OVERVIEW"))
            .min_by_key(|i| (area(i), i.number_of_frames.unwrap_or(1)));
    }
    images.min_by(|a, b| {
        (a.instance_number.unwrap_or(i32::MAX), a.sop_uid.as_str())
            .cmp(&(b.instance_number.unwrap_or(i32::MAX), b.sop_uid.as_str()))
    })
}

/// `GET /preview?objectUID=|seriesUID=[&size=]`.
pub fn preview(
    ports: &Ports,
    tenant: &Tenant,
    object_uid: Option<&str>,
    series_uid: Option<&str>,
    size: Option<&str>,
) -> Result<Arc<Vec<u8>>, AppError> {
    let size = match size {
        None => 256,
        Some(s) => s
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (16..=2048).contains(n))
            .ok_or_else(|| {
                AppError::invalid(
                    ErrorCode::InvalidParameter,
                    "size must be an integer from 16 to 2048",
                )
            })?,
    };
    let inst = match (
        object_uid.filter(|s| !s.is_empty()),
        series_uid.filter(|s| !s.is_empty()),
    ) {
        (Some(obj), None) => {
            let sop = SopInstanceUid::new(obj)?;
            ports
                .retrieval
                .locate_instance(&tenant.name, &sop)?
                .ok_or_else(|| {
                    AppError::not_found(ErrorCode::NotFound, format!("instance {sop} not found"))
                })?
        }
        (None, Some(series)) => {
            let uid = SeriesInstanceUid::new(series)?;
            let all = ports.retrieval.locate_series(&tenant.name, &uid)?;
            if all.is_empty() {
                return Err(AppError::not_found(
                    ErrorCode::NotFound,
                    format!("series {uid} not found"),
                ));
            }
            representative(&all).cloned().ok_or_else(|| {
                AppError::not_found(ErrorCode::NoPixelData, format!("series {uid} has no image"))
            })?
        }
        (Some(_), Some(_)) => {
            return Err(AppError::invalid(
                ErrorCode::InvalidParameter,
                "give objectUID or seriesUID, not both",
            ));
        }
        (None, None) => {
            return Err(AppError::invalid(
                ErrorCode::MissingParameter,
                "objectUID or seriesUID is required",
            ));
        }
    };
    let spec = RenderSpec {
        frame: 1,
        max_width: size,
        max_height: size,
        window: None,
        quality: 85,
        format: ImageFormat::Jpeg,
    };
    render(ports, tenant, &inst, &spec)
}
