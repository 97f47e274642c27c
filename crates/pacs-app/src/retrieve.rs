//! WADO-RS and WADO-URI retrieval: finding instances and opening their bytes,
//! with the database's current patient and study values in every header.

use std::io::{Read, Seek, SeekFrom};

use bytes::Bytes;
use futures_util::StreamExt;
use pacs_dicom_ops::{
    BulkPath, Tag, corrected_metadata, json_array, read_bulk_value, rewrite_header,
    with_bulk_references,
};
use pacs_domain::ids::{AeTitle, SeriesInstanceUid, SopInstanceUid, StudyInstanceUid};
use pacs_domain::model::{BlobLocation, StoredInstance};
use pacs_domain::ports::{ByteRange, ByteStream};

use crate::blocking::blocking;
use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};

/// The `{AET}` of a QIDO/WADO path must be the tenant's archive AE title.
pub fn check_aet(tenant: &Tenant, aet: &str) -> Result<(), AppError> {
    match AeTitle::new(aet) {
        Ok(a) if a == tenant.ae_title => Ok(()),
        _ => Err(AppError::not_found(
            ErrorCode::NotFound,
            format!("unknown AE title {aet:?}"),
        )),
    }
}

/// What a retrieval asks for: a study, a series of it, or one instance.
#[derive(Debug, Clone)]
pub struct Target {
    pub study: StudyInstanceUid,
    pub series: Option<SeriesInstanceUid>,
    pub sop: Option<SopInstanceUid>,
}

impl Target {
    pub fn parse(study: &str, series: Option<&str>, sop: Option<&str>) -> Result<Self, AppError> {
        Ok(Self {
            study: StudyInstanceUid::new(study)?,
            series: series.map(SeriesInstanceUid::new).transpose()?,
            sop: sop.map(SopInstanceUid::new).transpose()?,
        })
    }
}

/// The live instances of `target`; `NotFound` when there are none.
pub fn locate(
    ports: &Ports,
    tenant: &Tenant,
    target: &Target,
    with_headers: bool,
) -> Result<Vec<StoredInstance>, AppError> {
    let found = ports.retrieval.locate(
        &tenant.name,
        &target.study,
        target.series.as_ref(),
        target.sop.as_ref(),
        with_headers,
    )?;
    if found.is_empty() {
        let what = match (&target.series, &target.sop) {
            (_, Some(sop)) => format!("instance {sop}"),
            (Some(series), None) => format!("series {series}"),
            (None, None) => format!("study {}", target.study),
        };
        return Err(AppError::not_found(
            ErrorCode::NotFound,
            format!("{what} not found"),
        ));
    }
    Ok(found)
}

/// One instance by SOP Instance UID, checked against the given study and series
/// (WADO-URI).
pub fn locate_object(
    ports: &Ports,
    tenant: &Tenant,
    study: &str,
    series: &str,
    sop: &str,
) -> Result<StoredInstance, AppError> {
    let target = Target::parse(study, Some(series), Some(sop))?;
    let sop = target.sop.as_ref().expect("parsed above");
    match ports.retrieval.locate_instance(&tenant.name, sop)? {
        Some(i) if i.study_uid == target.study && Some(&i.series_uid) == target.series.as_ref() => {
            Ok(i)
        }
        _ => Err(AppError::not_found(
            ErrorCode::NotFound,
            format!("instance {sop} not found in that study and series"),
        )),
    }
}

/// The bytes of an instance as retrieval returns them, streamed from its medium.
pub struct InstanceBytes {
    /// Total length of what the stream yields.
    pub len: u64,
    pub stream: ByteStream,
}

impl std::fmt::Debug for InstanceBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InstanceBytes({} bytes)", self.len)
    }
}

/// Opens an instance for retrieval: the stored file as received while its
/// patient and study were not corrected, else a header with the database's
/// current values followed by the stored pixel data. The stored file is never
/// changed; the rewritten header is built from the start of the file (read
/// synchronously off the async workers), the rest streams from the medium.
pub async fn open(ports: &Ports, instance: &StoredInstance) -> Result<InstanceBytes, AppError> {
    let medium = ports.media.get(&instance.blob.medium)?.clone();
    let key = &instance.blob.key;
    if instance.uncorrected() {
        return Ok(InstanceBytes {
            len: instance.blob.size,
            stream: medium.read(key, ByteRange::ALL).await?,
        });
    }
    let (m, k) = (medium.clone(), key.clone());
    let (offset, patient, study) = (
        instance.pixel_data_offset,
        instance.patient.clone(),
        instance.study.clone(),
    );
    let rewritten = blocking(move || {
        let reader = m.blocking_reader(&k)?;
        Ok(rewrite_header(reader, offset, &patient, &study)?)
    })
    .await?;
    let head_len = rewritten.bytes.len() as u64;
    let head = futures_util::stream::once(std::future::ready(Ok(Bytes::from(rewritten.bytes))));
    Ok(match rewritten.resume_at {
        Some(at) => InstanceBytes {
            len: head_len + instance.blob.size.saturating_sub(at),
            stream: Box::pin(head.chain(medium.read(key, ByteRange::from(at)).await?)),
        },
        None => InstanceBytes {
            len: head_len,
            stream: Box::pin(head),
        },
    })
}

/// The length of a stored object, as its medium has it.
pub async fn stored_len(ports: &Ports, blob: &BlobLocation) -> Result<u64, AppError> {
    Ok(ports.media.get(&blob.medium)?.len(&blob.key).await?)
}

/// `range` of a stored object, streamed from its medium.
pub async fn read_stored(
    ports: &Ports,
    blob: &BlobLocation,
    range: ByteRange,
) -> Result<ByteStream, AppError> {
    Ok(ports
        .media
        .get(&blob.medium)?
        .read(&blob.key, range)
        .await?)
}

/// The bytes of an instance as retrieval returns them, as one reader
/// (blocking), for the synchronous writers (zips).
pub fn open_reader(
    ports: &Ports,
    instance: &StoredInstance,
) -> Result<Box<dyn Read + Send>, AppError> {
    let medium = ports.media.get(&instance.blob.medium)?;
    let reader = medium.blocking_reader(&instance.blob.key)?;
    if instance.uncorrected() {
        return Ok(Box::new(reader));
    }
    let rewritten = rewrite_header(
        reader,
        instance.pixel_data_offset,
        &instance.patient,
        &instance.study,
    )?;
    let head = std::io::Cursor::new(rewritten.bytes);
    Ok(match rewritten.resume_at {
        Some(offset) => {
            let mut r = medium.blocking_reader(&instance.blob.key)?;
            r.seek(SeekFrom::Start(offset))
                .map_err(|e| AppError::internal_from("seeking in a stored object", e))?;
            Box::new(head.chain(r))
        }
        None => Box::new(head),
    })
}

/// WADO-RS metadata (DICOM JSON array) of located instances, with the
/// database's current patient and study values.
pub fn metadata(instances: &[StoredInstance], retrieve_base: &str) -> Result<Vec<u8>, AppError> {
    let objects = instances
        .iter()
        .map(|i| {
            let header = i.header_json.as_deref().unwrap_or("{}");
            let header = if i.uncorrected() {
                // The stored header already says what the stored file says.
                std::borrow::Cow::Borrowed(header)
            } else {
                std::borrow::Cow::Owned(corrected_metadata(header, &i.patient, &i.study)?)
            };
            let url = format!(
                "{retrieve_base}/studies/{}/series/{}/instances/{}",
                i.study_uid, i.series_uid, i.sop_uid
            );
            with_bulk_references(&header, &url, has_pixels(i), i.transfer_syntax.as_str())
                .map_err(AppError::from)
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(json_array(&objects))
}

/// Whether an instance has pixel data (rows, or a frame index).
pub fn has_pixels(i: &StoredInstance) -> bool {
    i.rows.is_some() || i.frame_index.is_some()
}

/// Whether bulk data resource `tag` (`GGGGEEEE`) is Pixel Data, which is
/// answered by the frames (`frames::read_frames`), not by [`bulk_value`].
pub fn is_pixel_data_tag(tag: &str) -> bool {
    tag.eq_ignore_ascii_case("7FE00010")
}

/// A bulk data value of an instance (blocking) as little-endian bytes: `path`
/// as metadata's BulkDataURI ends, `GGGGEEEE` or through sequences
/// `GGGGEEEE/item/GGGGEEEE` (items from 0), before Pixel Data.
pub fn bulk_value(ports: &Ports, inst: &StoredInstance, path: &str) -> Result<Vec<u8>, AppError> {
    let bulk_path = parse_bulk_path(path)?;
    let reader = ports
        .media
        .get(&inst.blob.medium)?
        .blocking_reader(&inst.blob.key)?;
    read_bulk_value(reader, &bulk_path)?.ok_or_else(|| {
        AppError::not_found(
            ErrorCode::NotFound,
            format!("the instance has no bulk data value at {path}"),
        )
    })
}

/// `GGGGEEEE[/item/GGGGEEEE…]` of a bulk data resource.
fn parse_bulk_path(text: &str) -> Result<BulkPath, AppError> {
    let segments: Vec<&str> = text.split('/').collect();
    if segments.len().is_multiple_of(2) || segments.len() > 2 * 8 + 1 {
        return Err(AppError::invalid(
            ErrorCode::InvalidParameter,
            format!("{text:?} is not a bulk data path (GGGGEEEE, or GGGGEEEE/item/GGGGEEEE)"),
        ));
    }
    let mut sequences = Vec::new();
    for pair in segments[..segments.len() - 1].chunks(2) {
        let item = pair[1].parse::<usize>().map_err(|_| {
            AppError::invalid(
                ErrorCode::InvalidParameter,
                format!("{:?} is not an item number (from 0)", pair[1]),
            )
        })?;
        sequences.push((parse_bulk_tag(pair[0])?, item));
    }
    let tag = parse_bulk_tag(segments[segments.len() - 1])?;
    Ok(BulkPath { sequences, tag })
}

/// `GGGGEEEE`.
fn parse_bulk_tag(text: &str) -> Result<Tag, AppError> {
    let bad = || {
        AppError::invalid(
            ErrorCode::InvalidParameter,
            format!("{text:?} is not an attribute tag (8 hexadecimal digits)"),
        )
    };
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let n = u32::from_str_radix(text, 16).map_err(|_| bad())?;
    Ok(Tag((n >> 16) as u16, (n & 0xFFFF) as u16))
}
/// An instance's data set without its preamble and File Meta Information (what
/// a C-STORE sends), with the database's current values as `open` writes them.
pub async fn open_data_set(
    ports: &Ports,
    instance: &StoredInstance,
) -> Result<InstanceBytes, AppError> {
    let whole = open(ports, instance).await?;
    let mut stream = whole.stream;
    // The File Meta group is small: gather the first bytes until it is whole.
    let mut head = Vec::new();
    let start = loop {
        if head.len() >= 144 {
            let at = pacs_dicom_ops::dataset_start(&mut std::io::Cursor::new(&head))
                .map_err(|e| AppError::internal_from("reading a stored File Meta group", e))?;
            if (at as usize) < head.len() || head.len() >= 1024 * 1024 {
                break at as usize;
            }
        }
        match stream.next().await {
            Some(chunk) => head.extend_from_slice(
                &chunk.map_err(|e| AppError::internal_from("reading a stored object", e))?,
            ),
            None => {
                let at = pacs_dicom_ops::dataset_start(&mut std::io::Cursor::new(&head))
                    .map_err(|e| AppError::internal_from("reading a stored File Meta group", e))?;
                break (at as usize).min(head.len());
            }
        }
    };
    let rest = Bytes::from(head).slice(start..);
    let len = whole.len.saturating_sub(start as u64);
    Ok(InstanceBytes {
        len,
        stream: Box::pin(futures_util::stream::once(std::future::ready(Ok(rest))).chain(stream)),
    })
}
