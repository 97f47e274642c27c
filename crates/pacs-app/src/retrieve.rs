//! WADO-RS and WADO-URI retrieval: finding instances and opening their bytes,
//! with the database's current patient and study values in every header.

use std::io::{Seek, SeekFrom};

use pacs_dicom_ops::{corrected_metadata, json_array, rewrite_header};
use pacs_domain::ids::{AeTitle, SeriesInstanceUid, SopInstanceUid, StudyInstanceUid};
use pacs_domain::model::StoredInstance;
use pacs_domain::ports::BlobRead;

use crate::context::{Ports, Tenant};
use crate::error::AppError;

/// The `{AET}` of a QIDO/WADO path must be the tenant's archive AE title.
pub fn check_aet(tenant: &Tenant, aet: &str) -> Result<(), AppError> {
    match AeTitle::new(aet) {
        Ok(a) if a == tenant.ae_title => Ok(()),
        _ => Err(AppError::not_found(
            "not_found",
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
            "not_found",
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
            "not_found",
            format!("instance {sop} not found in that study and series"),
        )),
    }
}

/// The bytes of an instance as retrieval returns them.
pub enum InstanceBytes {
    /// The stored file as it is (its header is current).
    AsStored(Box<dyn BlobRead>),
    /// A corrected header, then (when present) the stored bytes from the reader's
    /// current position to its end.
    Corrected {
        head: Vec<u8>,
        tail: Option<Box<dyn BlobRead>>,
    },
}

impl std::fmt::Debug for InstanceBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstanceBytes::AsStored(r) => write!(f, "AsStored({} bytes)", r.len()),
            InstanceBytes::Corrected { head, .. } => {
                write!(f, "Corrected(head {} bytes)", head.len())
            }
        }
    }
}

impl InstanceBytes {
    /// Total length of what will be returned.
    pub fn len(&mut self) -> Result<u64, AppError> {
        Ok(match self {
            InstanceBytes::AsStored(r) => r.len(),
            InstanceBytes::Corrected { head, tail } => {
                let rest = match tail {
                    Some(t) => {
                        let pos = t
                            .stream_position()
                            .map_err(|e| AppError::Internal(e.to_string()))?;
                        t.len() - pos
                    }
                    None => 0,
                };
                head.len() as u64 + rest
            }
        })
    }

    pub fn is_empty(&mut self) -> Result<bool, AppError> {
        Ok(self.len()? == 0)
    }

    /// The bytes as one reader, from where they start.
    pub fn into_reader(self) -> Box<dyn std::io::Read + Send> {
        match self {
            InstanceBytes::AsStored(r) => Box::new(r),
            InstanceBytes::Corrected { head, tail } => {
                let head = std::io::Cursor::new(head);
                match tail {
                    Some(t) => Box::new(std::io::Read::chain(head, t)),
                    None => Box::new(head),
                }
            }
        }
    }
}

/// Opens an instance for retrieval (blocking): the stored file as received while
/// its patient and study were not corrected, else a header with the database's
/// current values spliced in front of the stored pixel data. The stored file is
/// never changed.
pub fn open(ports: &Ports, instance: &StoredInstance) -> Result<InstanceBytes, AppError> {
    let medium = ports.media.get(&instance.blob.medium)?;
    let reader = medium.open(&instance.blob.key)?;
    if instance.uncorrected() {
        return Ok(InstanceBytes::AsStored(reader));
    }
    let rewritten = rewrite_header(
        reader,
        instance.pixel_data_offset,
        &instance.patient,
        &instance.study,
    )?;
    let tail = match rewritten.resume_at {
        Some(offset) => {
            let mut r = medium.open(&instance.blob.key)?;
            r.seek(SeekFrom::Start(offset))
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Some(r)
        }
        None => None,
    };
    Ok(InstanceBytes::Corrected {
        head: rewritten.bytes,
        tail,
    })
}

/// WADO-RS metadata (DICOM JSON array) of located instances, with the
/// database's current patient and study values.
pub fn metadata(instances: &[StoredInstance]) -> Result<Vec<u8>, AppError> {
    let objects = instances
        .iter()
        .map(|i| {
            let header = i.header_json.as_deref().unwrap_or("{}");
            if i.uncorrected() {
                // The stored header already says what the stored file says.
                Ok(std::borrow::Cow::Borrowed(header))
            } else {
                corrected_metadata(header, &i.patient, &i.study)
                    .map(std::borrow::Cow::Owned)
                    .map_err(AppError::from)
            }
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    Ok(json_array(&objects))
}
