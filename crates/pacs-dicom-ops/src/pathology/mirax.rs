//! Checking a MIRAX upload: a zip of one `.mrxs` index and its data folder.
//! Every entry is checked before anything is kept: no absolute paths, no
//! `..`, no links, no control characters in names, no name twice, nothing
//! outside the slide, a bounded entry count and uncompressed size (zip
//! bombs), and every entry is read through (CRC).

use std::io::{self, Read, Seek};

use sha1::{Digest, Sha1};

use crate::error::DicomError;

/// Bounds on what a MIRAX zip may expand to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MiraxLimits {
    pub max_entries: usize,
    pub max_uncompressed_bytes: u64,
    /// Largest uncompressed/compressed ratio of an entry over 1 MiB (slide
    /// tiles are JPEG and barely compress; bombs compress 1000:1).
    pub max_ratio: u64,
}

impl Default for MiraxLimits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_uncompressed_bytes: 64 << 30,
            max_ratio: 100,
        }
    }
}

/// What a valid MIRAX zip holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiraxCheck {
    /// The `.mrxs` entry's path in the zip.
    pub mrxs_path: String,
    /// SHA-1 of the `.mrxs` entry, lower-case hex (what `fileHash` names).
    pub mrxs_sha1: String,
    pub entries: usize,
    pub uncompressed_bytes: u64,
}

/// The source document's message for a zip without a `.mrxs`.
pub const NO_MRXS: &str =
    "the uploaded archive does not containt the Mirax descriptor file (.mrxs file)";

fn refuse(why: String) -> DicomError {
    DicomError::Archive(why)
}

/// Checks a zip's names: relative, no `..`, no backslashes (control
/// characters are refused before, with their own message).
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name.as_bytes().get(1) != Some(&b':')
        && name.split('/').all(|c| c != ".." && c != ".")
}

struct Entry {
    name: String,
    is_dir: bool,
}

/// Checks a MIRAX zip read from `r` (the staged upload).
pub fn check_mirax<R: Read + Seek>(r: R, limits: &MiraxLimits) -> Result<MiraxCheck, DicomError> {
    let mut zip = zip::ZipArchive::new(r)
        .map_err(|e| refuse(format!("the file part is not a readable zip archive: {e}")))?;
    if zip.len() > limits.max_entries {
        return Err(refuse(format!(
            "the archive has {} entries, more than the {} allowed",
            zip.len(),
            limits.max_entries
        )));
    }
    // The zip reader keys entries by name, so of two with one name only the
    // last would be seen (and hashed): refuse the ambiguity.
    if zip.has_duplicate_names() {
        return Err(refuse(
            "the archive holds two entries with the same name; each name must be unique".into(),
        ));
    }
    let mut entries = Vec::with_capacity(zip.len());
    let mut declared: u64 = 0;
    for i in 0..zip.len() {
        let f = zip
            .by_index_raw(i)
            .map_err(|e| refuse(format!("zip entry {i} is unreadable: {e}")))?;
        let name = f
            .name()
            .map_err(|_| refuse(format!("zip entry {i} has an undecodable name")))?
            .into_owned();
        // A NUL cuts the name short for C readers (OpenSlide): another file.
        if name.chars().any(char::is_control) {
            return Err(refuse(format!(
                "zip entry {name:?} has a control character in its name"
            )));
        }
        if !safe_name(&name) || f.enclosed_name().is_none() {
            return Err(refuse(format!(
                "zip entry {name:?} has an absolute or escaping path"
            )));
        }
        if f.is_symlink() {
            return Err(refuse(format!("zip entry {name:?} is a link")));
        }
        if f.encrypted() {
            return Err(refuse(format!("zip entry {name:?} is encrypted")));
        }
        declared = declared.saturating_add(f.size());
        if f.size() > (1 << 20) && f.size() / f.compressed_size().max(1) > limits.max_ratio {
            return Err(refuse(format!(
                "zip entry {name:?} expands more than {}:1 (zip bomb?)",
                limits.max_ratio
            )));
        }
        entries.push(Entry {
            is_dir: f.is_dir(),
            name,
        });
    }
    if declared > limits.max_uncompressed_bytes {
        return Err(refuse(format!(
            "the archive expands to {declared} bytes, more than the {} allowed",
            limits.max_uncompressed_bytes
        )));
    }
    let mrxs: Vec<usize> = (0..entries.len())
        .filter(|&i| !entries[i].is_dir && entries[i].name.to_ascii_lowercase().ends_with(".mrxs"))
        .collect();
    let mrxs_index = match mrxs.as_slice() {
        [] => return Err(DicomError::NoMrxs(NO_MRXS.into())),
        [one] => *one,
        _ => {
            return Err(refuse(format!(
                "the archive holds {} .mrxs files; a MIRAX slide has exactly one",
                mrxs.len()
            )));
        }
    };
    let mrxs_path = entries[mrxs_index].name.clone();
    let folder = format!("{}/", &mrxs_path[..mrxs_path.len() - ".mrxs".len()]);
    let mut data_files = 0usize;
    for e in &entries {
        let inside = e.name.starts_with(&folder);
        let ancestor = e.is_dir && folder.starts_with(e.name.as_str());
        if e.name == mrxs_path || ancestor {
            continue;
        }
        if !inside {
            return Err(refuse(format!(
                "zip entry {:?} is neither the .mrxs nor in its data folder {folder}",
                e.name
            )));
        }
        if !e.is_dir {
            data_files += 1;
        }
    }
    if data_files == 0 {
        return Err(refuse(format!(
            "the MIRAX data folder {folder} is missing or empty"
        )));
    }
    // Read every entry through: real sizes must match the declared ones (the
    // bound holds even when headers lie) and CRCs must check.
    let mut total: u64 = 0;
    let mut mrxs_sha1 = String::new();
    for (i, e) in entries.iter().enumerate() {
        if e.is_dir {
            continue;
        }
        let mut f = zip
            .by_index(i)
            .map_err(|err| refuse(format!("zip entry {:?} is unreadable: {err}", e.name)))?;
        let declared = f.size();
        let mut hasher = (i == mrxs_index).then(Sha1::new);
        let mut sink = HashSink {
            hasher: hasher.as_mut(),
            written: 0,
        };
        let copied = io::copy(&mut (&mut f).take(declared + 1), &mut sink)
            .map_err(|err| refuse(format!("zip entry {:?} is corrupt: {err}", e.name)))?;
        if copied != declared {
            return Err(refuse(format!(
                "zip entry {:?} holds {copied} bytes, not the {declared} its header says",
                e.name
            )));
        }
        total += copied;
        if total > limits.max_uncompressed_bytes {
            return Err(refuse(format!(
                "the archive expands to more than the {} bytes allowed",
                limits.max_uncompressed_bytes
            )));
        }
        if let Some(h) = hasher {
            mrxs_sha1 = hex(&h.finalize());
        }
    }
    Ok(MiraxCheck {
        mrxs_path,
        mrxs_sha1,
        entries: entries.len(),
        uncompressed_bytes: total,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct HashSink<'h> {
    hasher: Option<&'h mut Sha1>,
    written: u64,
}

impl io::Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(h) = self.hasher.as_mut() {
            h.update(buf);
        }
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            if name.ends_with('/') {
                w.add_directory(*name, SimpleFileOptions::default())
                    .unwrap();
            } else {
                w.start_file(*name, SimpleFileOptions::default()).unwrap();
                w.write_all(data).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn check(bytes: Vec<u8>) -> Result<MiraxCheck, DicomError> {
        check_mirax(Cursor::new(bytes), &MiraxLimits::default())
    }

    #[test]
    fn a_valid_slide() {
        let c = check(zip_of(&[
            ("s.mrxs", b"index"),
            ("s/", b""),
            ("s/Slidedat.ini", b"[GENERAL]"),
            ("s/Data0000.dat", b"tiles"),
        ]))
        .unwrap();
        assert_eq!(c.mrxs_path, "s.mrxs");
        assert_eq!(c.mrxs_sha1, hex(&Sha1::digest(b"index")));
        assert_eq!(c.uncompressed_bytes, 5 + 9 + 5);
    }

    #[test]
    fn refusals() {
        let no_mrxs = check(zip_of(&[("s/Slidedat.ini", b"x")])).unwrap_err();
        assert!(matches!(no_mrxs, DicomError::NoMrxs(_)));
        let outside = check(zip_of(&[
            ("s.mrxs", b""),
            ("s/a", b"x"),
            ("other.txt", b"x"),
        ]));
        assert!(outside.unwrap_err().to_string().contains("other.txt"));
        let slip = check(zip_of(&[("s.mrxs", b""), ("s/../../etc/x", b"x")]));
        assert!(slip.unwrap_err().to_string().contains("escaping"));
        let empty = check(zip_of(&[("s.mrxs", b"")]));
        assert!(empty.unwrap_err().to_string().contains("data folder"));
        let bomb = {
            let zeros = vec![0u8; 8 << 20];
            check(zip_of(&[("s.mrxs", b""), ("s/a", &zeros)]))
        };
        assert!(bomb.unwrap_err().to_string().contains("bomb"));
        assert!(check(b"not a zip".to_vec()).is_err());
    }

    /// `zip_of`, with `from` replaced by `to` (as long) in the raw bytes: what
    /// the writer refuses to produce (one name twice, a NUL in a name).
    fn patched(entries: &[(&str, &[u8])], from: &[u8], to: &[u8]) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let mut bytes = zip_of(entries);
        let mut at = 0;
        while let Some(i) = bytes[at..].windows(from.len()).position(|w| w == from) {
            bytes[at + i..at + i + from.len()].copy_from_slice(to);
            at += i + from.len();
        }
        bytes
    }

    #[test]
    fn names_twice_or_with_control_characters_are_refused() {
        let slide: [(&str, &[u8]); 3] = [
            ("s.mrxs", b"i"),
            ("s/Data0.dat", b"a"),
            ("s/Data1.dat", b"b"),
        ];
        assert!(check(zip_of(&slide)).is_ok());
        let twice = check(patched(&slide, b"s/Data1.dat", b"s/Data0.dat")).unwrap_err();
        assert!(twice.to_string().contains("same name"), "{twice}");
        for c in [b'\0', b'\n', 0x7f] {
            let err = check(patched(
                &slide,
                b"s/Data1.dat",
                &[
                    b's', b'/', b'D', b'a', b't', b'a', c, b'.', b'd', b'a', b't',
                ],
            ))
            .unwrap_err();
            assert!(err.to_string().contains("control character"), "{c}: {err}");
        }
    }
}
