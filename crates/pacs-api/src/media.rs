//! Media types as clients send them (RFC 9110 §12.5.1 and §8.3.1), read
//! leniently: DICOMweb clients send parameter values unquoted although they
//! hold a `/` (Cornerstone: `type=application/octet-stream`), `*` alone for
//! `*/*`, and several ranges with q-values. The `mime` crate refuses the
//! unquoted forms, so every `Accept` and `Content-Type` of the DICOMweb
//! resources is read here, by one parser.

/// One media range of an `Accept` header, or the media type of a
/// `Content-Type`: type and subtype in lower case, parameters with their
/// names in lower case and their values unquoted, and the weight.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRange {
    pub kind: String,
    pub subtype: String,
    params: Vec<(String, String)>,
    /// The `q` weight, 0 to 1 (1 when not given).
    pub q: f32,
}

impl MediaRange {
    /// `type/subtype`.
    pub fn essence(&self) -> String {
        format!("{}/{}", self.kind, self.subtype)
    }

    /// Whether this range is exactly `essence` (`type/subtype`).
    pub fn is(&self, essence: &str) -> bool {
        essence
            .split_once('/')
            .is_some_and(|(t, s)| self.kind == t && self.subtype == s)
    }

    /// Whether the concrete media type `essence` falls in this range
    /// (`*/*`, `type/*` or itself).
    pub fn covers(&self, essence: &str) -> bool {
        covers(&self.kind, &self.subtype, essence)
    }

    /// The value of parameter `name` (case-insensitive), unquoted.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `type` parameter of a multipart range as a range of its own
    /// (`type="application/*"` covers `application/octet-stream`); `None`
    /// when absent.
    pub fn part_type(&self) -> Option<(String, String)> {
        let t = self.param("type")?.trim().to_ascii_lowercase();
        let t = if t == "*" { "*/*".to_owned() } else { t };
        let (k, s) = t.split_once('/')?;
        Some((k.to_owned(), s.to_owned()))
    }

    /// Whether the parts this multipart range asks for may be `essence`:
    /// no `type` parameter takes any part.
    pub fn parts_may_be(&self, essence: &str) -> bool {
        self.part_type()
            .is_none_or(|(k, s)| covers(&k, &s, essence))
    }

    /// The `transfer-syntax` asked for; `None` when absent or `*` (as stored).
    pub fn transfer_syntax(&self) -> Option<&str> {
        self.param("transfer-syntax")
            .map(str::trim)
            .filter(|t| *t != "*" && !t.is_empty())
    }
}

fn covers(kind: &str, subtype: &str, essence: &str) -> bool {
    let Some((t, s)) = essence.split_once('/') else {
        return false;
    };
    (kind == "*" && subtype == "*") || (kind == t && (subtype == "*" || subtype == s))
}

/// Splits `text` at `sep` outside quoted strings.
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            out.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&text[start..]);
    out
}

/// A parameter value: a quoted string without its quotes and escapes, or the
/// text as sent (which may hold `/`, as clients send it).
fn unquote(v: &str) -> String {
    let v = v.trim();
    match v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if escaped || c != '\\' {
                    out.push(c);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            out
        }
        None => v.to_owned(),
    }
}

/// One media type with its parameters; `None` when it has no `type/subtype`.
pub fn parse_media_type(text: &str) -> Option<MediaRange> {
    let mut pieces = split_unquoted(text, ';').into_iter();
    let essence = pieces.next()?.trim().to_ascii_lowercase();
    // `*` alone is sent by some clients (Java's URLConnection) for `*/*`.
    let (kind, subtype) = match essence.as_str() {
        "*" => ("*".to_owned(), "*".to_owned()),
        e => {
            let (k, s) = e.split_once('/')?;
            (k.trim().to_owned(), s.trim().to_owned())
        }
    };
    if kind.is_empty() || subtype.is_empty() || (kind == "*" && subtype != "*") {
        return None;
    }
    let mut range = MediaRange {
        kind,
        subtype,
        params: Vec::new(),
        q: 1.0,
    };
    for p in pieces {
        let Some((name, value)) = p.split_once('=') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = unquote(value);
        if name == "q" {
            range.q = value.parse::<f32>().unwrap_or(1.0).clamp(0.0, 1.0);
        } else {
            range.params.push((name, value));
        }
    }
    Some(range)
}

/// The ranges of an `Accept` header, most preferred first (by `q`, then in
/// the order sent); ranges with `q=0` (not acceptable) and unreadable ones
/// are left out.
pub fn parse_accept(header: &str) -> Vec<MediaRange> {
    let mut ranges: Vec<MediaRange> = split_unquoted(header, ',')
        .into_iter()
        .filter(|r| !r.trim().is_empty())
        .filter_map(parse_media_type)
        .filter(|r| r.q > 0.0)
        .collect();
    // A stable sort keeps the client's order among equal weights.
    ranges.sort_by(|a, b| b.q.total_cmp(&a.q));
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> MediaRange {
        let mut r = parse_accept(text);
        assert_eq!(r.len(), 1, "{text}: {r:?}");
        r.remove(0)
    }

    #[test]
    fn cornerstone_frames_unquoted_type() {
        let r = one("multipart/related; type=application/octet-stream; transfer-syntax=*");
        assert!(r.is("multipart/related"));
        assert_eq!(r.param("type"), Some("application/octet-stream"));
        assert!(r.parts_may_be("application/octet-stream"));
        assert!(!r.parts_may_be("image/jpeg"));
        assert_eq!(r.transfer_syntax(), None, "* is as stored");
    }

    #[test]
    fn quoted_type_and_transfer_syntax() {
        let r = one(
            "multipart/related; type=\"application/octet-stream\"; transfer-syntax=1.2.840.10008.1.2.1",
        );
        assert_eq!(r.param("type"), Some("application/octet-stream"));
        assert_eq!(r.transfer_syntax(), Some("1.2.840.10008.1.2.1"));
        let r = one("multipart/related;type=\"application/dicom\";transfer-syntax=\"*\"");
        assert!(r.parts_may_be("application/dicom"));
        assert_eq!(r.transfer_syntax(), None);
    }

    #[test]
    fn wildcard_part_types() {
        let any = one("multipart/related; type=\"*/*\"");
        assert!(any.parts_may_be("application/octet-stream"));
        assert!(any.parts_may_be("image/jpeg"));
        let app = one("multipart/related; type=\"application/*\"");
        assert!(app.parts_may_be("application/octet-stream"));
        assert!(app.parts_may_be("application/dicom"));
        assert!(!app.parts_may_be("image/jpeg"));
        let bare = one("multipart/related");
        assert!(bare.parts_may_be("image/jpeg"));
    }

    #[test]
    fn q_values_order_the_ranges_and_zero_refuses() {
        let r = parse_accept(
            "image/jpeg;q=0.5, image/png, multipart/related; type=\"image/jpeg\"; q=0.8, image/gif;q=0",
        );
        let order: Vec<String> = r.iter().map(MediaRange::essence).collect();
        assert_eq!(order, ["image/png", "multipart/related", "image/jpeg"]);
        assert_eq!(r[1].param("type"), Some("image/jpeg"));
        assert!((r[2].q - 0.5).abs() < f32::EPSILON);
    }

    #[test]
    fn several_alternatives_keep_their_order_at_equal_weight() {
        let r = parse_accept(
            "multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.50, \
             multipart/related; type=application/octet-stream; transfer-syntax=*",
        );
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].transfer_syntax(), Some("1.2.840.10008.1.2.4.50"));
        assert_eq!(r[1].transfer_syntax(), None);
    }

    #[test]
    fn wildcards_and_case() {
        let r = one("*/*");
        assert!(r.covers("image/png") && r.covers("application/dicom"));
        let r = one("*");
        assert!(r.covers("image/png"));
        let r = one("Image/*");
        assert!(r.covers("image/png") && !r.covers("application/dicom"));
        let r = one("Application/DICOM");
        assert!(r.is("application/dicom"));
        assert!(parse_accept("").is_empty());
        assert!(parse_accept("garbage, ,").is_empty());
        assert!(parse_accept("*/jpeg").is_empty());
    }

    #[test]
    fn commas_inside_quotes_do_not_split() {
        let r = one("multipart/related; type=\"application/dicom\"; note=\"a, b\"");
        assert_eq!(r.param("note"), Some("a, b"));
    }

    #[test]
    fn content_type_with_unquoted_type_and_boundary() {
        let r = parse_media_type("multipart/related; type=application/dicom; boundary=\"abc;def\"")
            .unwrap();
        assert!(r.is("multipart/related"));
        assert_eq!(r.param("type"), Some("application/dicom"));
        assert_eq!(r.param("boundary"), Some("abc;def"));
    }
}
