//! Rendering a frame to JPEG or PNG: modality LUT (rescale), VOI window (the object's,
//! a requested one, or min/max), MONOCHROME1 inverted, palette and YBR to RGB,
//! fitted into a box without upscaling.

use std::io::{Read, Seek};

use dicom_core::Tag;
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use dicom_pixeldata::image::{DynamicImage, imageops::FilterType};
use dicom_pixeldata::{
    ConvertOptions, ModalityLutOption, PhotometricInterpretation, PixelDecoder, VoiLutOption,
};
use pacs_domain::model::FrameIndex;

use crate::error::DicomError;
use crate::frames::read_frame;
use crate::layout::Encoding;
use crate::parse::{open_header, open_whole, transfer_syntax_of};
use crate::values::{frame_count, int};

/// What to render.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderSpec {
    /// 1-based frame number.
    pub frame: u32,
    /// Box to fit into (0 = no limit). Images are never enlarged.
    pub max_width: u32,
    pub max_height: u32,
    /// Window center and width; `None` uses the object's, else min/max.
    pub window: Option<(f64, f64)>,
    /// JPEG quality, 1–100 (PNG is lossless and ignores it).
    pub quality: u8,
    /// The encoding of the image.
    pub format: ImageFormat,
}

/// How a rendered image is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// Baseline JPEG, the default of every rendering resource.
    #[default]
    Jpeg,
    /// PNG (8-bit grey or RGB), lossless.
    Png,
}

impl ImageFormat {
    /// The media type of images in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Png => "image/png",
        }
    }
}

impl Default for RenderSpec {
    fn default() -> Self {
        Self {
            frame: 1,
            max_width: 0,
            max_height: 0,
            window: None,
            quality: 90,
            format: ImageFormat::Jpeg,
        }
    }
}

fn unsupported(e: impl std::fmt::Display) -> DicomError {
    DicomError::CannotRender(e.to_string())
}

/// The object's header `obj` with only frame `n` as its pixel data. Decoding it
/// touches one frame however many the object has.
fn single_frame<R: Read + Seek>(
    mut obj: DefaultDicomObject,
    ts: &str,
    r: &mut R,
    index: &FrameIndex,
    n: u32,
) -> Result<DefaultDicomObject, DicomError> {
    let bytes = read_frame(r, index, n)?;
    let encapsulated = !matches!(
        ts,
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.2"
    );
    let pixel = if encapsulated {
        let mut fragment = bytes;
        if fragment.len() % 2 == 1 {
            fragment.push(0);
        }
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PixelFragmentSequence::new(Vec::<u32>::new(), vec![fragment]),
        )
    } else {
        let vr = if int(&obj, tags::BITS_ALLOCATED).unwrap_or(8) > 8 {
            VR::OW
        } else {
            VR::OB
        };
        DataElement::new(tags::PIXEL_DATA, vr, PrimitiveValue::U8(bytes.into()))
    };
    obj.put(pixel);
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("1"),
    ));
    Ok(obj)
}

/// Decodes frame `spec.frame` to an 8-bit image.
fn decode<R: Read + Seek>(
    mut r: R,
    index: Option<&FrameIndex>,
    spec: &RenderSpec,
) -> Result<DynamicImage, DicomError> {
    let mut opts = ConvertOptions::new().force_8bit();
    let header = open_header(&mut r)?;
    let header_ts = transfer_syntax_of(&header);
    // Little endian, not deflated, indexed: decode only the frame asked for.
    let fast = index.is_some()
        && matches!(Encoding::of_transfer_syntax(&header_ts), Some(e) if e != Encoding::ExplicitBe);
    let (obj, frame) = if let (true, Some(index)) = (fast, index) {
        (
            single_frame(header, &header_ts, &mut r, index, spec.frame)?,
            0,
        )
    } else {
        let obj = open_whole(r, 256 * 1024)?;
        let frames = frame_count(&obj);
        if spec.frame == 0 || spec.frame > frames {
            return Err(DicomError::NoSuchFrame {
                asked: spec.frame,
                frames,
            });
        }
        (obj, spec.frame - 1)
    };
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(DicomError::NoPixelData);
    }
    let decoded = obj.decode_pixel_data_frame(frame).map_err(unsupported)?;
    // dicom-pixeldata does not apply palettes: map the indices ourselves.
    if matches!(
        decoded.photometric_interpretation(),
        PhotometricInterpretation::PaletteColor
    ) {
        return apply_palette(&obj, &decoded);
    }
    // Grey levels: our own pipeline (rescale, window or min/max, MONOCHROME1),
    // for every bit depth and sign.
    if decoded.samples_per_pixel() == 1 {
        return grey_image(&decoded, spec.window);
    }
    // Colour images carry display values already: no LUT, no window, no stretch.
    opts = opts
        .with_modality_lut(ModalityLutOption::None)
        .with_voi_lut(VoiLutOption::Identity);
    decoded
        .to_dynamic_image_with_options(0, &opts)
        .map_err(unsupported)
}

/// One channel of a palette: 8-bit display values by index.
struct Channel {
    first: i64,
    values: Vec<u8>,
}

/// Expands a segmented palette (PS3.3 C.7.9.2): discrete, linear and indirect
/// segments, into one value per entry.
fn expand_segments(words: &[u16], entries: usize) -> Result<Vec<u16>, DicomError> {
    let bad = || unsupported("malformed segmented palette");
    let mut out: Vec<u16> = Vec::with_capacity(entries);
    let mut i = 0;
    let mut depth = 0;
    let mut stack: Vec<(usize, usize)> = Vec::new(); // (resume position, segments left)
    while i < words.len() && out.len() < entries {
        let (op, len) = (
            words[i],
            words.get(i + 1).copied().ok_or_else(bad)? as usize,
        );
        match op {
            0 => {
                let vals = words.get(i + 2..i + 2 + len).ok_or_else(bad)?;
                out.extend_from_slice(vals);
                i += 2 + len;
            }
            1 => {
                let y1 = f64::from(*words.get(i + 2).ok_or_else(bad)?);
                let y0 = f64::from(*out.last().ok_or_else(bad)?);
                for k in 1..=len {
                    out.push((y0 + (y1 - y0) * k as f64 / len as f64).round() as u16);
                }
                i += 3;
            }
            2 => {
                let (lo, hi) = (
                    *words.get(i + 2).ok_or_else(bad)?,
                    *words.get(i + 3).ok_or_else(bad)?,
                );
                let offset = (usize::from(hi) << 16 | usize::from(lo)) / 2;
                depth += 1;
                if depth > 64 || offset >= words.len() {
                    return Err(bad());
                }
                stack.push((i + 4, len));
                i = offset;
                continue;
            }
            _ => return Err(bad()),
        }
        // Back from an indirection after the number of segments it asked for.
        while let Some((resume, left)) = stack.last_mut() {
            *left -= 1;
            if *left > 0 {
                break;
            }
            i = *resume;
            stack.pop();
        }
    }
    out.resize(entries, out.last().copied().unwrap_or(0));
    Ok(out)
}

fn channel(
    obj: &InMemDicomObject,
    descriptor: Tag,
    data: Tag,
    segmented: Tag,
) -> Result<Channel, DicomError> {
    let d = obj
        .get(descriptor)
        .and_then(|e| e.to_multi_int::<i64>().ok())
        .filter(|d| d.len() == 3)
        .ok_or_else(|| unsupported("palette lookup table descriptor missing"))?;
    let entries = if d[0] == 0 { 65536 } else { d[0] as usize };
    let bits = d[2];
    let words_of = |raw: &[u8]| -> Vec<u16> {
        raw.chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect()
    };
    if let Some(seg) = obj.get(segmented).and_then(|e| e.to_bytes().ok()) {
        let values = expand_segments(&words_of(&seg), entries)?;
        let values = values
            .iter()
            .map(|w| {
                if bits == 16 {
                    (w >> 8) as u8
                } else {
                    (w & 0xFF) as u8
                }
            })
            .collect();
        return Ok(Channel {
            first: d[1],
            values,
        });
    }
    let raw = obj
        .get(data)
        .and_then(|e| e.to_bytes().ok())
        .ok_or_else(|| unsupported("palette lookup table data missing"))?;
    let words: Vec<u16> = words_of(&raw);
    let values: Vec<u8> = if bits == 16 && words.len() >= entries {
        words[..entries].iter().map(|w| (w >> 8) as u8).collect()
    } else if words.len() >= entries {
        words[..entries].iter().map(|w| (w & 0xFF) as u8).collect()
    } else if raw.len() >= entries {
        raw[..entries].to_vec()
    } else {
        return Err(unsupported(
            "palette lookup table shorter than its descriptor",
        ));
    };
    Ok(Channel {
        first: d[1],
        values,
    })
}

/// Maps palette indices through the object's red, green and blue tables.
fn apply_palette(
    obj: &InMemDicomObject,
    px: &dicom_pixeldata::DecodedPixelData<'_>,
) -> Result<DynamicImage, DicomError> {
    let channels = [
        channel(
            obj,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        )?,
        channel(
            obj,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        )?,
        channel(
            obj,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        )?,
    ];
    let raw = px.frame_data(0).map_err(unsupported)?;
    let indices: Vec<i64> = match px.bits_allocated() {
        8 => raw.iter().map(|b| i64::from(*b)).collect(),
        16 => raw
            .chunks_exact(2)
            .map(|b| i64::from(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        n => return Err(unsupported(format!("palette indices of {n} bits"))),
    };
    let mut rgb = Vec::with_capacity(indices.len() * 3);
    for v in indices {
        for c in &channels {
            let i = (v - c.first).clamp(0, c.values.len() as i64 - 1) as usize;
            rgb.push(c.values[i]);
        }
    }
    dicom_pixeldata::image::RgbImage::from_raw(px.columns(), px.rows(), rgb)
        .map(DynamicImage::ImageRgb8)
        .ok_or_else(|| unsupported("pixel data smaller than the image"))
}

/// Stored sample values of the first frame: masked to Bits Stored and sign
/// extended when signed.
fn samples(px: &dicom_pixeldata::DecodedPixelData<'_>) -> Result<Vec<f64>, DicomError> {
    let raw = px.frame_data(0).map_err(unsupported)?;
    let stored = u32::from(px.bits_stored()).clamp(1, 32);
    let signed = px.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed;
    let value = |v: u32| -> f64 {
        let v = if stored < 32 {
            v & ((1u32 << stored) - 1)
        } else {
            v
        };
        if signed && stored < 32 && v & (1 << (stored - 1)) != 0 {
            (i64::from(v) - (1i64 << stored)) as f64
        } else if signed && stored == 32 {
            f64::from(v as i32)
        } else {
            f64::from(v)
        }
    };
    Ok(match px.bits_allocated() {
        8 => raw.iter().map(|b| value(u32::from(*b))).collect(),
        16 => raw
            .chunks_exact(2)
            .map(|b| value(u32::from(u16::from_le_bytes([b[0], b[1]]))))
            .collect(),
        32 => raw
            .chunks_exact(4)
            .map(|b| value(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        n => return Err(unsupported(format!("{n} bits allocated"))),
    })
}

/// An 8-bit grey image: modality LUT (rescale), then the VOI window (asked, else
/// the object's first, PS3.3 C.11.2.1.2 linear) or a min/max stretch, then
/// MONOCHROME1 inverted.
fn grey_image(
    px: &dicom_pixeldata::DecodedPixelData<'_>,
    window: Option<(f64, f64)>,
) -> Result<DynamicImage, DicomError> {
    let (slope, intercept) = px
        .rescale()
        .ok()
        .and_then(|r| r.first().map(|r| (r.slope, r.intercept)))
        .unwrap_or((1.0, 0.0));
    let values: Vec<f64> = samples(px)?
        .into_iter()
        .map(|v| v * slope + intercept)
        .collect();
    let window = window.or_else(|| {
        px.window()
            .ok()
            .flatten()
            .and_then(|w| w.first().map(|w| (w.center, w.width)))
            .filter(|(_, w)| *w >= 1.0)
    });
    let map: Box<dyn Fn(f64) -> f64> = match window {
        Some((c, w)) => Box::new(move |x| {
            let (c, w) = (c - 0.5, (w - 1.0).max(1.0));
            ((x - c) / w + 0.5).clamp(0.0, 1.0)
        }),
        None => {
            let (lo, hi) = values
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
            let span = if hi > lo { hi - lo } else { 1.0 };
            Box::new(move |x| ((x - lo) / span).clamp(0.0, 1.0))
        }
    };
    let invert = matches!(
        px.photometric_interpretation(),
        PhotometricInterpretation::Monochrome1
    );
    let bytes: Vec<u8> = values
        .iter()
        .map(|v| {
            let y = map(*v);
            ((if invert { 1.0 - y } else { y }) * 255.0).round() as u8
        })
        .collect();
    dicom_pixeldata::image::GrayImage::from_raw(px.columns(), px.rows(), bytes)
        .map(DynamicImage::ImageLuma8)
        .ok_or_else(|| unsupported("pixel data smaller than the image"))
}

/// Renders a frame as an image in `spec.format`.
pub fn render_image<R: Read + Seek>(
    r: R,
    index: Option<&FrameIndex>,
    spec: &RenderSpec,
) -> Result<Vec<u8>, DicomError> {
    let mut img = decode(r, index, spec)?;
    let (w, h) = (img.width(), img.height());
    let (bw, bh) = (
        if spec.max_width == 0 {
            w
        } else {
            spec.max_width
        },
        if spec.max_height == 0 {
            h
        } else {
            spec.max_height
        },
    );
    if w > bw || h > bh {
        img = img.resize(bw, bh, FilterType::Triangle);
    }
    match spec.format {
        ImageFormat::Jpeg => encode_jpeg(&img, spec.quality),
        ImageFormat::Png => encode_png(&img),
    }
}

/// Encodes an image as an 8-bit PNG (grey or RGB), through the `image` crate
/// that dicom-pixeldata already brings.
pub fn encode_png(img: &DynamicImage) -> Result<Vec<u8>, DicomError> {
    let grey = matches!(
        img,
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA8(_)
    );
    let img = if grey {
        DynamicImage::ImageLuma8(img.to_luma8())
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
    };
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, dicom_pixeldata::image::ImageFormat::Png)
        .map_err(|e| DicomError::Encode(e.to_string()))?;
    Ok(out.into_inner())
}

/// Encodes an image as a baseline JPEG (grey or RGB).
pub fn encode_jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, DicomError> {
    let (w, h) = (img.width(), img.height());
    let (w16, h16) = (
        u16::try_from(w).map_err(|_| unsupported("image too wide for JPEG"))?,
        u16::try_from(h).map_err(|_| unsupported("image too tall for JPEG"))?,
    );
    let mut out = Vec::with_capacity((w * h / 4) as usize);
    let encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    let grey = matches!(
        img,
        DynamicImage::ImageLuma8(_) | DynamicImage::ImageLuma16(_) | DynamicImage::ImageLumaA8(_)
    );
    let result = if grey {
        encoder.encode(
            img.to_luma8().as_raw(),
            w16,
            h16,
            jpeg_encoder::ColorType::Luma,
        )
    } else {
        encoder.encode(
            img.to_rgb8().as_raw(),
            w16,
            h16,
            jpeg_encoder::ColorType::Rgb,
        )
    };
    result.map_err(|e| DicomError::Encode(e.to_string()))?;
    Ok(out)
}

/// Frame `n` decoded to native pixels, read through the frame index: one
/// frame's bytes are read and decoded, however many the object holds.
pub fn decode_native_frame<R: Read + Seek>(
    mut r: R,
    index: &FrameIndex,
    n: u32,
) -> Result<Vec<u8>, DicomError> {
    r.seek(std::io::SeekFrom::Start(0))?;
    let header = open_header(&mut r)?;
    let ts = transfer_syntax_of(&header);
    let obj = single_frame(header, &ts, &mut r, index, n)?;
    let px = obj.decode_pixel_data_frame(0).map_err(unsupported)?;
    Ok(px.data().to_vec())
}

/// Native little-endian pixel bytes of frames (1-based) of a whole object,
/// decoding compressed pixel data.
pub fn decode_native_frames<R: Read + Seek>(
    r: R,
    frames: &[u32],
) -> Result<Vec<Vec<u8>>, DicomError> {
    let obj = open_whole(r, 256 * 1024)?;
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(DicomError::NoPixelData);
    }
    let total = frame_count(&obj);
    frames
        .iter()
        .map(|n| {
            if *n == 0 || *n > total {
                return Err(DicomError::NoSuchFrame {
                    asked: *n,
                    frames: total,
                });
            }
            let px = obj.decode_pixel_data_frame(n - 1).map_err(unsupported)?;
            Ok(px.data().to_vec())
        })
        .collect()
}
