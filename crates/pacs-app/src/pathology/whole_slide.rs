//! The whole slide of a barcode (Container Identifier): a slide file as it
//! was uploaded, or the baseline of a DICOM whole-slide image.

use std::collections::BTreeMap;

use pacs_domain::model::{BlobLocation, SlideKind, StoredInstance};

use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};
use crate::rendering::WSI_SOP_CLASS;

/// What `GET /wholeslide` returns.
#[derive(Debug, Clone)]
pub enum WholeSlide {
    /// A slide file (or MIRAX zip), byte for byte as uploaded.
    File {
        blob: BlobLocation,
        name: String,
        kind: SlideKind,
    },
    /// The baseline of a DICOM WSI: one instance, or (when the baseline is
    /// split over several) all of them, returned as a zip named `name`.
    Dicom {
        instances: Vec<StoredInstance>,
        name: String,
    },
}

/// Pixel count of an instance's total pixel matrix (or frame when not tiled).
fn area(i: &StoredInstance) -> i64 {
    let rows = i.total_pixel_matrix_rows.or(i.rows).unwrap_or(0);
    let cols = i.total_pixel_matrix_columns.or(i.columns).unwrap_or(0);
    i64::from(rows) * i64::from(cols)
}

/// Finds the one whole slide labelled `barcode` (blocking).
///
/// 400 for an empty barcode, 404 when none, 409 when several slides carry it
/// (slide files, or DICOM WSI series).
pub fn find_whole_slide(
    ports: &Ports,
    tenant: &Tenant,
    barcode: &str,
) -> Result<WholeSlide, AppError> {
    let barcode = barcode.trim();
    if barcode.is_empty() {
        return Err(AppError::invalid(
            ErrorCode::MissingBarcode,
            "the barcode query parameter is required and must not be empty",
        ));
    }
    let holders = ports.retrieval.locate_by_container(&tenant.name, barcode)?;
    let mut files = Vec::new();
    let mut wsi_series: BTreeMap<String, Vec<StoredInstance>> = BTreeMap::new();
    for i in holders {
        if let Some(slide) = &i.slide {
            files.push(WholeSlide::File {
                blob: slide.blob.clone(),
                name: slide.name.clone(),
                kind: slide.kind,
            });
        } else if i.sop_class.as_str() == WSI_SOP_CLASS {
            wsi_series
                .entry(i.series_uid.to_string())
                .or_default()
                .push(i);
        }
    }
    let count = files.len() + wsi_series.len();
    if count == 0 {
        return Err(AppError::not_found(
            ErrorCode::NoWholeSlide,
            format!("no whole slide has the barcode {barcode}"),
        ));
    }
    if count > 1 {
        return Err(AppError::conflict(
            ErrorCode::SeveralWholeSlides,
            format!("{count} whole slides have the barcode {barcode}"),
        ));
    }
    if let Some(file) = files.pop() {
        return Ok(file);
    }
    let series = wsi_series.into_values().next().unwrap_or_default();
    let largest = series.iter().map(area).max().unwrap_or(0);
    let baseline: Vec<StoredInstance> = series.into_iter().filter(|i| area(i) == largest).collect();
    let name = match baseline.as_slice() {
        [one] => format!("{}.dcm", one.sop_uid),
        _ => format!("{}.zip", file_safe(barcode)),
    };
    Ok(WholeSlide::Dicom {
        instances: baseline,
        name,
    })
}

/// A barcode as a file name: path separators and controls replaced.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Writes `instances` as a zip (`<SOP Instance UID>.dcm` each) to `out`
/// (blocking): all are opened first, then read one after the other.
pub fn write_instances_zip(
    ports: &Ports,
    instances: &[StoredInstance],
    out: impl std::io::Write,
) -> std::io::Result<()> {
    let mut entries = Vec::with_capacity(instances.len());
    for inst in instances {
        let reader = crate::retrieve::open_reader(ports, inst).map_err(std::io::Error::other)?;
        entries.push(pacs_dicom_ops::ZipEntry {
            name: format!("{}.dcm", inst.sop_uid),
            reader,
        });
    }
    pacs_dicom_ops::write_stored_zip(entries, out)
}
