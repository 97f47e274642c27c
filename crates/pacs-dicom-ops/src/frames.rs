//! The frame index of an object: byte ranges of each frame in its file.

use std::io::{Read, Seek, SeekFrom};

use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use pacs_domain::model::FrameIndex;

use crate::error::DicomError;
use crate::layout::PixelLayout;
use crate::values::{frame_count, int};

/// What native frames need to be found: their count and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameGeometry {
    pub frames: u32,
    /// Bytes per native frame, when it is a whole number of bytes.
    pub native_frame_size: Option<u64>,
}

impl FrameGeometry {
    pub fn of(obj: &InMemDicomObject) -> Self {
        let frames = frame_count(obj);
        let dims = (
            int(obj, tags::ROWS),
            int(obj, tags::COLUMNS),
            int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1),
            int(obj, tags::BITS_ALLOCATED),
        );
        let native_frame_size = match dims {
            (Some(r), Some(c), spp, Some(bits))
                if r > 0 && c > 0 && spp > 0 && bits >= 8 && bits % 8 == 0 =>
            {
                Some(r as u64 * c as u64 * spp as u64 * (bits as u64 / 8))
            }
            // One bit per pixel packs frames without byte alignment: no index.
            (Some(r), Some(c), spp, Some(1)) if frames == 1 => {
                Some((r as u64 * c as u64 * spp.max(1) as u64).div_ceil(8))
            }
            _ => None,
        };
        Self {
            frames,
            native_frame_size,
        }
    }
}

/// Byte ranges per frame.
type Frames = Vec<Vec<(u64, u64)>>;

/// Groups encapsulated fragments into frames with the Basic Offset Table, whose
/// values are offsets of each frame's first item from the first fragment item.
fn by_offset_table<R: Read + Seek>(
    r: &mut R,
    bot: (u64, u64),
    fragments: &[(u64, u64)],
    frames: u32,
) -> Result<Option<Frames>, DicomError> {
    if bot.1 != u64::from(frames) * 4 || fragments.is_empty() {
        return Ok(None);
    }
    let mut raw = vec![0u8; bot.1 as usize];
    r.seek(SeekFrom::Start(bot.0))?;
    r.read_exact(&mut raw)?;
    let starts: Vec<u64> = raw
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
        .collect();
    let base = fragments[0].0 - 8;
    let mut out: Frames = vec![Vec::new(); frames as usize];
    for &(off, len) in fragments {
        let rel = off - 8 - base;
        let Some(frame) = starts.iter().rposition(|s| *s <= rel) else {
            return Ok(None);
        };
        out[frame].push((off, len));
    }
    Ok(out.iter().all(|f| !f.is_empty()).then_some(out))
}

/// Where each frame lies, when that can be known.
pub fn frame_index<R: Read + Seek>(
    r: &mut R,
    layout: &PixelLayout,
    g: &FrameGeometry,
) -> Result<Option<FrameIndex>, DicomError> {
    let frames = match layout {
        PixelLayout::Native { value, len } => {
            let Some(size) = g.native_frame_size else {
                return Ok(None);
            };
            if size == 0 || size * u64::from(g.frames) > *len {
                return Ok(None);
            }
            (0..u64::from(g.frames))
                .map(|i| vec![(value + i * size, size)])
                .collect()
        }
        PixelLayout::Encapsulated { items } => {
            let Some((bot, fragments)) = items.split_first() else {
                return Ok(None);
            };
            if fragments.len() == g.frames as usize {
                fragments.iter().map(|f| vec![*f]).collect()
            } else if g.frames == 1 {
                vec![fragments.to_vec()]
            } else {
                match by_offset_table(r, *bot, fragments, g.frames)? {
                    Some(f) => f,
                    None => return Ok(None),
                }
            }
        }
    };
    Ok(Some(FrameIndex { frames }))
}

/// The bytes of frame `n` (1-based) as stored (fragments concatenated).
pub fn read_frame<R: Read + Seek>(
    r: &mut R,
    index: &FrameIndex,
    n: u32,
) -> Result<Vec<u8>, DicomError> {
    let ranges = index.frame(n).ok_or(DicomError::NoSuchFrame {
        asked: n,
        frames: index.len() as u32,
    })?;
    let total: u64 = ranges.iter().map(|(_, l)| l).sum();
    let mut out = Vec::with_capacity(total as usize);
    for &(off, len) in ranges {
        r.seek(SeekFrom::Start(off))?;
        let start = out.len();
        out.resize(start + len as usize, 0);
        r.read_exact(&mut out[start..])?;
    }
    Ok(out)
}
