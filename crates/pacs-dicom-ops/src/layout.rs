//! Byte layout of a Part 10 file: where the data set and the Pixel Data element
//! start. dicom-rs parses values but does not report element offsets, and
//! retrieval needs them to splice a corrected header in front of the stored
//! pixel data without decoding it.

use std::io::{self, Read, Seek, SeekFrom};

const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQ_END: (u16, u16) = (0xFFFE, 0xE0DD);
const UNDEFINED: u32 = 0xFFFF_FFFF;
/// Nesting deeper than this is treated as a malformed file.
const MAX_DEPTH: u32 = 64;

/// How a data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

impl Encoding {
    /// The encoding of a transfer syntax, `None` for deflated ones (no byte layout).
    pub fn of_transfer_syntax(ts: &str) -> Option<Self> {
        match ts.trim_end_matches(['\0', ' ']) {
            "1.2.840.10008.1.2" => Some(Encoding::ImplicitLe),
            "1.2.840.10008.1.2.2" => Some(Encoding::ExplicitBe),
            "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" => None,
            _ => Some(Encoding::ExplicitLe),
        }
    }
}

/// A reader that remembers a window of the file so that walking element headers
/// costs no system call per element, and skipping a value costs nothing.
struct Window<'r, R> {
    inner: &'r mut R,
    buf: Vec<u8>,
    start: u64,
    len: u64,
}

impl<'r, R: Read + Seek> Window<'r, R> {
    fn new(inner: &'r mut R) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        Ok(Self {
            inner,
            buf: Vec::new(),
            start: 0,
            len,
        })
    }

    /// `n` bytes at `pos`, or `None` past the end of the file.
    fn bytes(&mut self, pos: u64, n: usize) -> io::Result<Option<&[u8]>> {
        if pos + n as u64 > self.len {
            return Ok(None);
        }
        let end_in_buf = self.start + self.buf.len() as u64;
        if pos < self.start || pos + n as u64 > end_in_buf {
            let want = (64 * 1024).max(n).min((self.len - pos) as usize);
            self.inner.seek(SeekFrom::Start(pos))?;
            self.buf.resize(want, 0);
            self.inner.read_exact(&mut self.buf)?;
            self.start = pos;
        }
        let off = (pos - self.start) as usize;
        Ok(Some(&self.buf[off..off + n]))
    }
}

struct Header {
    tag: (u16, u16),
    vr: [u8; 2],
    len: u32,
    /// Offset of the value.
    value: u64,
}

fn u16_at(b: &[u8], be: bool) -> u16 {
    if be {
        u16::from_be_bytes([b[0], b[1]])
    } else {
        u16::from_le_bytes([b[0], b[1]])
    }
}

fn u32_at(b: &[u8], be: bool) -> u32 {
    if be {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    } else {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_owned())
}

fn read_header<R: Read + Seek>(
    w: &mut Window<'_, R>,
    pos: u64,
    enc: Encoding,
) -> io::Result<Option<Header>> {
    let be = enc == Encoding::ExplicitBe;
    let Some(b) = w.bytes(pos, 8)? else {
        return Ok(None);
    };
    let (group, elem) = (u16_at(&b[0..2], be), u16_at(&b[2..4], be));
    // Item and delimitation tags always have a 4-byte length and no VR.
    if group == 0xFFFE || enc == Encoding::ImplicitLe {
        let len = u32_at(&b[4..8], be);
        return Ok(Some(Header {
            tag: (group, elem),
            vr: *b"  ",
            len,
            value: pos + 8,
        }));
    }
    let vr = [b[4], b[5]];
    match &vr {
        b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"UC" | b"UR" | b"UT" | b"UN"
        | b"SV" | b"UV" => {
            let Some(l) = w.bytes(pos + 8, 4)? else {
                return Ok(None);
            };
            let len = u32_at(l, be);
            Ok(Some(Header {
                tag: (group, elem),
                vr,
                len,
                value: pos + 12,
            }))
        }
        _ => Ok(Some(Header {
            tag: (group, elem),
            vr,
            len: u16_at(&b[6..8], be) as u32,
            value: pos + 8,
        })),
    }
}

/// Skips a sequence (or undefined-length UN) value whose items start at `pos`;
/// returns the offset just after it.
fn skip_undefined<R: Read + Seek>(
    w: &mut Window<'_, R>,
    mut pos: u64,
    enc: Encoding,
    depth: u32,
) -> io::Result<u64> {
    if depth > MAX_DEPTH {
        return Err(bad("sequences nested too deeply"));
    }
    loop {
        let h = read_header(w, pos, enc)?.ok_or_else(|| bad("sequence not terminated"))?;
        match h.tag {
            SEQ_END => return Ok(h.value),
            ITEM if h.len != UNDEFINED => pos = h.value + h.len as u64,
            ITEM => pos = skip_elements_until_item_end(w, h.value, enc, depth + 1)?,
            _ => return Err(bad("unexpected element inside a sequence")),
        }
    }
}

fn skip_elements_until_item_end<R: Read + Seek>(
    w: &mut Window<'_, R>,
    mut pos: u64,
    enc: Encoding,
    depth: u32,
) -> io::Result<u64> {
    loop {
        let h = read_header(w, pos, enc)?.ok_or_else(|| bad("item not terminated"))?;
        if h.tag == ITEM_END {
            return Ok(h.value);
        }
        pos = skip_value(w, &h, enc, depth)?;
    }
}

fn skip_value<R: Read + Seek>(
    w: &mut Window<'_, R>,
    h: &Header,
    enc: Encoding,
    depth: u32,
) -> io::Result<u64> {
    if h.len != UNDEFINED {
        return Ok(h.value + h.len as u64);
    }
    // Undefined-length UN holds an implicit VR little endian sequence (PS3.5 §6.2.2).
    let nested = if &h.vr == b"UN" {
        Encoding::ImplicitLe
    } else {
        enc
    };
    skip_undefined(w, h.value, nested, depth + 1)
}

/// Offset where the data set starts: after the preamble, `DICM` and the File Meta
/// group (always explicit VR little endian), found by walking the group.
pub fn dataset_start<R: Read + Seek>(r: &mut R) -> io::Result<u64> {
    let mut w = Window::new(r)?;
    let mut pos = 132;
    loop {
        let Some(h) = read_header(&mut w, pos, Encoding::ExplicitLe)? else {
            return Ok(pos);
        };
        if h.tag.0 != 0x0002 {
            return Ok(pos);
        }
        pos = skip_value(&mut w, &h, Encoding::ExplicitLe, 0)?;
    }
}

/// Offset of the top-level Pixel Data element's tag, if the data set has one.
/// `start` is the data set offset; `enc` its encoding.
pub fn pixel_data_offset<R: Read + Seek>(
    r: &mut R,
    start: u64,
    enc: Encoding,
) -> io::Result<Option<u64>> {
    let mut w = Window::new(r)?;
    let mut pos = start;
    loop {
        let Some(h) = read_header(&mut w, pos, enc)? else {
            return Ok(None);
        };
        if h.tag == PIXEL_DATA {
            return Ok(Some(pos));
        }
        if h.tag > PIXEL_DATA {
            return Ok(None);
        }
        pos = skip_value(&mut w, &h, enc, 0)?;
    }
}

/// The Transfer Syntax UID of the File Meta group (which starts at 132), read
/// from the element itself, before anything is parsed; `None` when absent.
pub fn meta_transfer_syntax<R: Read + Seek>(r: &mut R) -> io::Result<Option<String>> {
    let mut w = Window::new(r)?;
    let mut pos = 132;
    while let Some(h) = read_header(&mut w, pos, Encoding::ExplicitLe)? {
        if h.tag.0 != 0x0002 {
            break;
        }
        if h.tag == (0x0002, 0x0010) && h.len != UNDEFINED && h.len <= 128 {
            let Some(v) = w.bytes(h.value, h.len as usize)? else {
                return Ok(None);
            };
            let uid = String::from_utf8_lossy(v);
            return Ok(Some(uid.trim_end_matches(['\0', ' ']).to_owned()));
        }
        pos = skip_value(&mut w, &h, Encoding::ExplicitLe, 0)?;
    }
    Ok(None)
}

/// A declared length the input cannot hold (or a structure the walk cannot
/// follow): what [`check_declared_lengths`] refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLength(pub String);

/// Walks every element header of the data set at `start` (sequences, items and
/// fragments included, as dicom-rs will meet them) and refuses any declared
/// length larger than what the file still holds after it. dicom-rs reserves
/// and zero-fills a value's declared length before reading it, so a 10 KB
/// file declaring 3 GB costs 3 GB; this walk reads headers only. With
/// `until`, the walk stops at that top-level tag (what a header-only parse
/// reads). `is_sequence` tells, for Implicit VR, which tags hold sequences.
pub fn check_declared_lengths<R: Read + Seek>(
    r: &mut R,
    start: u64,
    enc: Encoding,
    until: Option<(u16, u16)>,
    is_sequence: &dyn Fn((u16, u16)) -> bool,
) -> io::Result<Result<(), BadLength>> {
    let mut w = Window::new(r)?;
    let mut walk = LengthWalk {
        w: &mut w,
        is_sequence,
    };
    match walk.elements(start, u64::MAX, enc, 0, until, false) {
        Ok(_) => Ok(Ok(())),
        Err(WalkError::Io(e)) => Err(e),
        Err(WalkError::Bad(why)) => Ok(Err(BadLength(why))),
    }
}

enum WalkError {
    Io(io::Error),
    Bad(String),
}

impl From<io::Error> for WalkError {
    fn from(e: io::Error) -> Self {
        WalkError::Io(e)
    }
}

struct LengthWalk<'a, 'r, R> {
    w: &'a mut Window<'r, R>,
    is_sequence: &'a dyn Fn((u16, u16)) -> bool,
}

impl<R: Read + Seek> LengthWalk<'_, '_, R> {
    /// The header at `pos` with its defined length checked against the file.
    fn header(&mut self, pos: u64, enc: Encoding) -> Result<Option<Header>, WalkError> {
        let Some(h) = read_header(self.w, pos, enc)? else {
            return Ok(None);
        };
        self.fits(h).map(Some)
    }

    fn fits(&self, h: Header) -> Result<Header, WalkError> {
        if h.len != UNDEFINED && h.value + u64::from(h.len) > self.w.len {
            return Err(WalkError::Bad(format!(
                "element ({:04X},{:04X}) declares {} bytes but only {} remain in the file",
                h.tag.0,
                h.tag.1,
                h.len,
                self.w.len.saturating_sub(h.value)
            )));
        }
        Ok(h)
    }

    /// Elements from `pos` up to `end` (a defined-length item), to an item
    /// delimiter (`in_item`), or to the end of the file; returns where they end.
    fn elements(
        &mut self,
        mut pos: u64,
        end: u64,
        enc: Encoding,
        depth: u32,
        until: Option<(u16, u16)>,
        in_item: bool,
    ) -> Result<u64, WalkError> {
        if depth > MAX_DEPTH {
            return Err(WalkError::Bad("sequences nested too deeply".into()));
        }
        while pos < end {
            // The end of the file: dicom-rs reports a truncated element itself.
            let Some(h) = read_header(self.w, pos, enc)? else {
                return Ok(pos);
            };
            if in_item && h.tag == ITEM_END {
                return Ok(h.value);
            }
            // Where a partial parse stops, before the length is looked at.
            if until.is_some_and(|t| h.tag >= t) {
                return Ok(pos);
            }
            let h = self.fits(h)?;
            let sequence = &h.vr == b"SQ"
                || (h.vr == *b"  " && (self.is_sequence)(h.tag))
                || (h.len == UNDEFINED && h.tag != PIXEL_DATA);
            pos = if h.tag == PIXEL_DATA && h.len == UNDEFINED {
                self.fragments(h.value, enc)?
            } else if sequence {
                // Undefined-length UN holds Implicit VR Little Endian (PS3.5 §6.2.2).
                let nested = if &h.vr == b"UN" {
                    Encoding::ImplicitLe
                } else {
                    enc
                };
                let limit = (h.len != UNDEFINED).then(|| h.value + u64::from(h.len));
                self.items(h.value, limit, nested, depth + 1)?
            } else {
                h.value + u64::from(h.len)
            };
        }
        Ok(pos)
    }

    /// The items of a sequence, up to `limit` or its delimiter.
    fn items(
        &mut self,
        mut pos: u64,
        limit: Option<u64>,
        enc: Encoding,
        depth: u32,
    ) -> Result<u64, WalkError> {
        loop {
            if limit.is_some_and(|l| pos >= l) {
                return Ok(pos);
            }
            let Some(h) = self.header(pos, enc)? else {
                return Ok(pos);
            };
            pos = match h.tag {
                SEQ_END => return Ok(h.value),
                ITEM if h.len == UNDEFINED => {
                    self.elements(h.value, u64::MAX, enc, depth, None, true)?
                }
                ITEM => {
                    let end = h.value + u64::from(h.len);
                    self.elements(h.value, end, enc, depth, None, false)?;
                    end
                }
                (g, e) => {
                    return Err(WalkError::Bad(format!(
                        "element ({g:04X},{e:04X}) where a sequence item was expected"
                    )));
                }
            };
        }
    }

    /// Encapsulated Pixel Data: fragments up to the sequence delimiter.
    fn fragments(&mut self, mut pos: u64, enc: Encoding) -> Result<u64, WalkError> {
        loop {
            let Some(h) = self.header(pos, enc)? else {
                return Ok(pos);
            };
            match h.tag {
                SEQ_END => return Ok(h.value),
                ITEM if h.len != UNDEFINED => pos = h.value + u64::from(h.len),
                _ => return Err(WalkError::Bad("malformed encapsulated Pixel Data".into())),
            }
        }
    }
}

/// Where the Pixel Data value lies: native (one run of bytes) or encapsulated
/// (the offset table item, then fragments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PixelLayout {
    Native {
        value: u64,
        len: u64,
    },
    /// `(offset of the fragment's value, length)` for the basic offset table
    /// (first) and every fragment after it.
    Encapsulated {
        items: Vec<(u64, u64)>,
    },
}

/// Reads the layout of the Pixel Data element at `offset`, checking that it is
/// complete: a value that runs past the end of the file, or fragments without
/// their sequence delimiter, mean a truncated file.
pub fn pixel_layout<R: Read + Seek>(
    r: &mut R,
    offset: u64,
    enc: Encoding,
) -> io::Result<PixelLayout> {
    let mut w = Window::new(r)?;
    let file_len = w.len;
    let h =
        read_header(&mut w, offset, enc)?.ok_or_else(|| bad("Pixel Data header is truncated"))?;
    if h.len != UNDEFINED {
        if h.value + h.len as u64 > file_len {
            return Err(bad("Pixel Data is truncated"));
        }
        return Ok(PixelLayout::Native {
            value: h.value,
            len: h.len as u64,
        });
    }
    let mut items = Vec::new();
    let mut pos = h.value;
    loop {
        let item = read_header(&mut w, pos, enc)?
            .ok_or_else(|| bad("encapsulated Pixel Data is truncated"))?;
        match item.tag {
            SEQ_END => return Ok(PixelLayout::Encapsulated { items }),
            ITEM if item.len != UNDEFINED => {
                let end = item.value + item.len as u64;
                if end > file_len {
                    return Err(bad("a Pixel Data fragment is truncated"));
                }
                items.push((item.value, item.len as u64));
                pos = end;
            }
            _ => return Err(bad("malformed encapsulated Pixel Data")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn el_le(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(tag.0.to_le_bytes());
        v.extend(tag.1.to_le_bytes());
        v.extend(vr);
        if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN") {
            v.extend([0, 0]);
            v.extend((value.len() as u32).to_le_bytes());
        } else {
            v.extend((value.len() as u16).to_le_bytes());
        }
        v.extend(value);
        v
    }

    #[test]
    fn finds_pixel_data_after_undefined_length_sequence() {
        let mut file = vec![0u8; 128];
        file.extend(b"DICM");
        file.extend(el_le((0x0002, 0x0010), b"UI", b"1.2.840.10008.1.2.1\0"));
        let start = file.len() as u64;
        file.extend(el_le((0x0008, 0x0018), b"UI", b"1.2.3\0"));
        // (0008,1115) SQ undefined length with one undefined-length item
        file.extend([0x08, 0x00, 0x15, 0x11]);
        file.extend(b"SQ\0\0");
        file.extend(UNDEFINED.to_le_bytes());
        file.extend([0xFE, 0xFF, 0x00, 0xE0]);
        file.extend(UNDEFINED.to_le_bytes());
        file.extend(el_le((0x0008, 0x1150), b"UI", b"1.2\0"));
        file.extend([0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        file.extend([0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
        let pixel = file.len() as u64;
        file.extend(el_le((0x7FE0, 0x0010), b"OB", &[1, 2, 3, 4]));
        let mut c = Cursor::new(file);
        assert_eq!(dataset_start(&mut c).unwrap(), start);
        assert_eq!(
            pixel_data_offset(&mut c, start, Encoding::ExplicitLe).unwrap(),
            Some(pixel)
        );
    }

    #[test]
    fn truncated_pixel_data_is_detected() {
        let mut file = el_le((0x7FE0, 0x0010), b"OW", &[0; 16]);
        // claim 16 bytes but keep 8
        file.truncate(file.len() - 8);
        let mut c = Cursor::new(file);
        assert!(pixel_layout(&mut c, 0, Encoding::ExplicitLe).is_err());
        let mut whole = Cursor::new(el_le((0x7FE0, 0x0010), b"OB", &[0; 4]));
        assert_eq!(
            pixel_layout(&mut whole, 0, Encoding::ExplicitLe).unwrap(),
            PixelLayout::Native { value: 12, len: 4 }
        );
    }

    #[test]
    fn no_pixel_data_is_none() {
        let mut file = el_le((0x0008, 0x0018), b"UI", b"1.2.3\0");
        file.extend(el_le((0xFFFC, 0xFFFC), b"OB", &[0; 4]));
        let mut c = Cursor::new(file);
        assert_eq!(
            pixel_data_offset(&mut c, 0, Encoding::ExplicitLe).unwrap(),
            None
        );
    }
}
