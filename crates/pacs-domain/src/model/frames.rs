//! Where each frame of a stored object lies in its file, so that one frame of a
//! 10,000-frame object is read without reading the others.

/// Byte ranges of each frame (a frame may span several fragments).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameIndex {
    /// Per frame, its `(offset, length)` ranges in file order.
    pub frames: Vec<Vec<(u64, u64)>>,
}

impl FrameIndex {
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Ranges of frame `n` (1-based, as in DICOMweb).
    pub fn frame(&self, n: u32) -> Option<&[(u64, u64)]> {
        let i = usize::try_from(n).ok()?.checked_sub(1)?;
        self.frames.get(i).map(Vec::as_slice)
    }

    /// Compact text for the index: `off:len+off:len,off:len,…`.
    pub fn to_text(&self) -> String {
        let mut s = String::with_capacity(self.frames.len() * 16);
        for (i, f) in self.frames.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            for (j, (off, len)) in f.iter().enumerate() {
                if j > 0 {
                    s.push('+');
                }
                s.push_str(&off.to_string());
                s.push(':');
                s.push_str(&len.to_string());
            }
        }
        s
    }

    /// Parses [`FrameIndex::to_text`]; `None` for malformed text.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() {
            return Some(Self::default());
        }
        let frames = text
            .split(',')
            .map(|f| {
                f.split('+')
                    .map(|r| {
                        let (o, l) = r.split_once(':')?;
                        Some((o.parse().ok()?, l.parse().ok()?))
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self { frames })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_one_based_frames() {
        let idx = FrameIndex {
            frames: vec![vec![(10, 5)], vec![(20, 3), (31, 4)]],
        };
        let text = idx.to_text();
        assert_eq!(text, "10:5,20:3+31:4");
        assert_eq!(FrameIndex::parse(&text), Some(idx.clone()));
        assert_eq!(idx.frame(2), Some(&[(20, 3), (31, 4)][..]));
        assert_eq!(idx.frame(0), None);
        assert_eq!(idx.frame(3), None);
        assert_eq!(FrameIndex::parse("1:x"), None);
    }
}
