//! WADO-RS frames: the stored bytes of chosen frames, read through the frame
//! index (one frame of a 10,000-frame object is read without the rest), or
//! decoded to native pixels when the client asks for uncompressed data.

use std::io::{BufReader, Seek, SeekFrom};

use pacs_dicom_ops::{DicomError, read_frame};
use pacs_domain::model::StoredInstance;

use crate::context::Ports;
use crate::error::{AppError, ErrorCode};

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

/// Parses `1,2,5` (1-based frame numbers). A frame may be listed once: the
/// answer holds each asked frame once, so its size is bounded by the
/// instance's, never by the length of the URL.
pub fn parse_frame_list(list: &str) -> Result<Vec<u32>, AppError> {
    let frames: Vec<u32> = list
        .split(',')
        .map(|f| f.trim().parse::<u32>().ok().filter(|n| *n > 0))
        .collect::<Option<_>>()
        .ok_or_else(|| {
            AppError::invalid(
                ErrorCode::InvalidFrameList,
                format!("{list:?} is not a list of frame numbers"),
            )
        })?;
    if frames.is_empty() || frames.len() > 10_000 {
        return Err(AppError::invalid(
            ErrorCode::InvalidFrameList,
            "between 1 and 10,000 frames may be asked",
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(frames.len());
    if let Some(twice) = frames.iter().find(|n| !seen.insert(**n)) {
        return Err(AppError::invalid(
            ErrorCode::InvalidFrameList,
            format!("frame {twice} is listed more than once"),
        ));
    }
    Ok(frames)
}

fn no_frame(n: u32, total: usize) -> AppError {
    AppError::not_found(
        ErrorCode::NoSuchFrame,
        format!("frame {n} does not exist (the instance has {total})"),
    )
}

/// The frames of one answer, read one at a time as the response is sent: at
/// most one frame is in memory, whatever the list asks.
pub struct FrameReader {
    source: Source,
    numbers: std::vec::IntoIter<u32>,
    /// How every part is labelled: as stored, or native Explicit VR LE.
    media_type: &'static str,
    transfer_syntax: String,
}

enum Source {
    /// Through the frame index: as stored, or decoded one frame at a time.
    Indexed {
        blob: Box<dyn pacs_domain::ports::BlobRead>,
        index: pacs_domain::model::FrameIndex,
        decode: bool,
    },
    /// No index (big endian, deflated): decoded from the whole object up front.
    Decoded(std::vec::IntoIter<Vec<u8>>),
}

impl std::fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameReader")
            .field("left", &self.numbers.len())
            .finish_non_exhaustive()
    }
}

impl Iterator for FrameReader {
    type Item = Result<FramePart, AppError>;

    fn next(&mut self) -> Option<Self::Item> {
        let n = self.numbers.next()?;
        let bytes = match &mut self.source {
            Source::Indexed {
                blob,
                index,
                decode,
            } => {
                let read = if *decode {
                    pacs_dicom_ops::decode_native_frame(&mut *blob, index, n)
                } else {
                    read_frame(&mut *blob, index, n)
                };
                read.map_err(|e| match e {
                    DicomError::NoSuchFrame { .. } => no_frame(n, index.len()),
                    other => AppError::from(other),
                })
            }
            Source::Decoded(frames) => Ok(frames.next().expect("one decoded frame per number")),
        };
        Some(bytes.map(|bytes| FramePart {
            media_type: self.media_type,
            transfer_syntax: self.transfer_syntax.clone(),
            bytes,
        }))
    }
}

/// Explicit VR Big Endian: its native frames are decoded from the whole
/// object, not one by one through the index.
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// Opens the frames `numbers` of `inst`, as stored (`native` false) or as
/// native little-endian pixels. Every number is checked before the first frame
/// is read, so a missing frame is a 404, never a cut answer.
pub fn read_frames(
    ports: &Ports,
    inst: &StoredInstance,
    numbers: Vec<u32>,
    native: bool,
) -> Result<FrameReader, AppError> {
    let ts = inst.transfer_syntax.as_str();
    let medium = ports.media.get(&inst.blob.medium)?;
    // Native frames asked of native little-endian data are sent as stored.
    let decode = native && !is_native_le(ts);
    let (media_type, transfer_syntax) = if decode {
        ("application/octet-stream", EXPLICIT_LE.to_owned())
    } else {
        (frame_media_type(ts), ts.to_owned())
    };
    if let Some(index) = &inst.frame_index
        && !(decode && ts == EXPLICIT_BE)
    {
        if let Some(n) = numbers.iter().find(|n| **n as usize > index.len()) {
            return Err(no_frame(*n, index.len()));
        }
        return Ok(FrameReader {
            source: Source::Indexed {
                blob: medium.blocking_reader(&inst.blob.key)?,
                index: index.clone(),
                decode,
            },
            numbers: numbers.into_iter(),
            media_type,
            transfer_syntax,
        });
    }
    if inst.rows.is_none() {
        return Err(AppError::not_found(
            ErrorCode::NoPixelData,
            "the instance has no pixel data",
        ));
    }
    // No index (big endian, deflated): the object is read whole, which is what
    // these rare, small cases cost.
    let mut r = medium.blocking_reader(&inst.blob.key)?;
    r.seek(SeekFrom::Start(0))
        .map_err(|e| AppError::internal_from("seeking in a stored object", e))?;
    let frames =
        pacs_dicom_ops::decode_native_frames(BufReader::new(r), &numbers).map_err(|e| match e {
            DicomError::NoSuchFrame { asked, frames } => no_frame(asked, frames as usize),
            other => AppError::from(other),
        })?;
    Ok(FrameReader {
        source: Source::Decoded(frames.into_iter()),
        numbers: numbers.into_iter(),
        media_type: "application/octet-stream",
        transfer_syntax: EXPLICIT_LE.to_owned(),
    })
}
