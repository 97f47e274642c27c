//! Writing a zip as it is sent: entries stored (slide data is already
//! compressed), local headers followed by data descriptors, so nothing needs
//! to be seeked back to or held in memory.

use std::io::{self, Read, Write};

use zip::write::SimpleFileOptions;

/// One file of a zip being written.
pub struct ZipEntry {
    pub name: String,
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for ZipEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipEntry")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Writes `entries` to `out` as a zip (Zip64 where sizes need it).
pub fn write_stored_zip<W: Write>(
    entries: impl IntoIterator<Item = ZipEntry>,
    out: W,
) -> io::Result<()> {
    let mut zip = zip::ZipWriter::new_stream(out);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for mut e in entries {
        zip.start_file(e.name.as_str(), options)
            .map_err(io::Error::other)?;
        io::copy(&mut e.reader, &mut zip)?;
    }
    zip.finish().map_err(io::Error::other)?;
    Ok(())
}
