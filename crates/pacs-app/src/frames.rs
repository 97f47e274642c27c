//! WADO-RS frames: the stored bytes of chosen frames, read through the frame
//! index (one frame of a 10,000-frame object is read without the rest), or
//! decoded to native pixels when the client asks for uncompressed data.

use std::io::{BufReader, Seek, SeekFrom};

use pacs_dicom_ops::{DicomError, read_frame};
use pacs_domain::model::StoredInstance;

use crate::context::Ports;
use crate::error::AppError;

/// Explicit VR Little Endian.
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

/// The media type of a frame stored in transfer syntax `ts` (PS3.18 §8.7.3.3).
pub fn frame_media_type(ts: &str) -> &'static str {
    match ts {
        "1.2.840.10008.1.2.4.50"
        | "1.2.840.10008.1.2.4.51"
        | "1.2.840.10008.1.2.4.57"
        | "1.2.840.10008.1.2.4.70" => "image/jpeg",
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => "image/jls",
        "1.2.840.10008.1.2.4.90" | "1.2.840.10008.1.2.4.91" => "image/jp2",
        "1.2.840.10008.1.2.4.92" | "1.2.840.10008.1.2.4.93" => "image/jpx",
        "1.2.840.10008.1.2.4.201" | "1.2.840.10008.1.2.4.202" | "1.2.840.10008.1.2.4.203" => {
            "image/jphc"
        }
        "1.2.840.10008.1.2.5" => "image/x-dicom-rle",
        _ => "application/octet-stream",
    }
}

/// Whether `ts` stores frames uncompressed, little endian.
pub fn is_native_le(ts: &str) -> bool {
    matches!(ts, "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1")
}

/// One frame to send: its bytes and how to label them.
#[derive(Debug)]
pub struct FramePart {
    pub media_type: &'static str,
    pub transfer_syntax: String,
    pub bytes: Vec<u8>,
}

/// Parses `1,2,5` (1-based frame numbers).
pub fn parse_frame_list(list: &str) -> Result<Vec<u32>, AppError> {
    let frames: Vec<u32> = list
        .split(',')
        .map(|f| f.trim().parse::<u32>().ok().filter(|n| *n > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            AppError::invalid(
                "invalid_frame_list",
                format!("{list:?} is not a list of frame numbers"),
            )
        })?;
    if frames.is_empty() || frames.len() > 10_000 {
        return Err(AppError::invalid(
            "invalid_frame_list",
            "between 1 and 10,000 frames may be asked",
        ));
    }
    Ok(frames)
}

fn no_frame(n: u32, total: usize) -> AppError {
    AppError::not_found(
        "no_such_frame",
        format!("frame {n} does not exist (the instance has {total})"),
    )
}

/// Reads frames as stored (`native` false) or as native little-endian pixels.
pub fn read_frames(
    ports: &Ports,
    inst: &StoredInstance,
    numbers: &[u32],
    native: bool,
) -> Result<Vec<FramePart>, AppError> {
    let ts = inst.transfer_syntax.as_str();
    let medium = ports.media.get(&inst.blob.medium)?;
    if let (Some(index), false) = (&inst.frame_index, native && !is_native_le(ts)) {
        let mut r = medium.open(&inst.blob.key)?;
        let media_type = frame_media_type(ts);
        return numbers
            .iter()
            .map(|n| {
                let bytes = read_frame(&mut r, index, *n).map_err(|e| match e {
                    DicomError::NoSuchFrame { .. } => no_frame(*n, index.len()),
                    other => AppError::from(other),
                })?;
                Ok(FramePart {
                    media_type,
                    transfer_syntax: ts.to_owned(),
                    bytes,
                })
            })
            .collect();
    }
    if inst.rows.is_none() {
        return Err(AppError::not_found(
            "no_pixel_data",
            "the instance has no pixel data",
        ));
    }
    // Decoded: compressed data asked as uncompressed, or no index (big endian,
    // deflated): the object is read whole, which is what these rare cases cost.
    let mut r = medium.open(&inst.blob.key)?;
    r.seek(SeekFrom::Start(0))
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let frames =
        pacs_dicom_ops::decode_native_frames(BufReader::new(r), numbers).map_err(|e| match e {
            DicomError::NoSuchFrame { asked, frames } => no_frame(asked, frames as usize),
            other => AppError::from(other),
        })?;
    Ok(frames
        .into_iter()
        .map(|bytes| FramePart {
            media_type: "application/octet-stream",
            transfer_syntax: EXPLICIT_LE.into(),
            bytes,
        })
        .collect())
}
