//! Storing received DICOM instances (STOW-RS, later DIMSE C-STORE).
//!
//! Each part is staged on the tenant's medium while it arrives, then parsed and
//! checked; when every part is in, all of them are committed durably under
//! their final keys and indexed in one transaction. Only then is the request
//! acknowledged, and files whose indexing did not happen are removed.

use std::time::SystemTime;

use pacs_domain::ids::{AeTitle, SeriesInstanceUid, SopClassUid, SopInstanceUid, StudyInstanceUid};
use pacs_domain::model::{
    BlobLocation, InstanceHeader, NewInstance, PatientKey, StoreOutcome, StudyOwner,
};
use pacs_domain::ports::{IncomingBytes, ObjectName, StagedBlob};

use crate::blocking::blocking;
use crate::context::{Ports, Tenant};
use crate::error::AppError;

/// PS3.4 / PS3.18 status codes used as FailureReason.
pub mod failure {
    /// Processing failure.
    pub const PROCESSING: u16 = 0x0110;
    /// Duplicate SOP Instance (the same UID with other content).
    pub const DUPLICATE_SOP: u16 = 0x0111;
    /// The instance's Study Instance UID differs from the one in the request URL.
    pub const STUDY_MISMATCH: u16 = 0xC409;
    /// The data set is not the instance its C-STORE request announced
    /// (PS3.4 B.2.3 "Data Set does not match SOP Class").
    pub const INSTANCE_MISMATCH: u16 = 0xA900;
    /// The instance names a study of another patient. PS3.18 has no code of its
    /// own for it: a processing failure, as dcm4chee and Orthanc answer.
    pub const OTHER_PATIENT: u16 = PROCESSING;
}

/// The source document's words for a request in conflict with the archive.
pub const CONFLICT_WITH_STORED: &str =
    "The specified metadata is in conflict with data already present in the system";

/// The rule for an instance joining a study the archive holds: it must be of
/// the study's patient (or of a patient merged into it). Without it an
/// instance of another patient would silently show as this patient's.
pub(crate) fn same_patient(header: &InstanceHeader, owner: &StudyOwner) -> Result<(), String> {
    let p = &header.patient;
    let is = |k: &PatientKey| {
        k.patient_id == p.patient_id
            && k.issuer.as_deref().unwrap_or("") == p.issuer.as_deref().unwrap_or("")
    };
    if is(&owner.patient) || owner.merged.iter().any(is) {
        return Ok(());
    }
    // No patient identifier in the message: it may reach logs and other systems.
    Err(format!(
        "{CONFLICT_WITH_STORED}: study {} belongs to another patient",
        header.study.study_uid
    ))
}

/// A stored (or already present) instance, as the store response lists it.
#[derive(Debug, Clone)]
pub struct StoredRef {
    pub study: StudyInstanceUid,
    pub series: SeriesInstanceUid,
    pub sop: SopInstanceUid,
    pub sop_class: SopClassUid,
}

/// An instance that was not stored.
#[derive(Debug, Clone)]
pub struct FailedRef {
    pub sop: SopInstanceUid,
    pub sop_class: SopClassUid,
    pub reason: u16,
    pub message: String,
}

/// The outcome of a store request.
#[derive(Debug, Default)]
pub struct StoreReport {
    pub stored: Vec<StoredRef>,
    pub failed: Vec<FailedRef>,
}

/// A parsed part waiting for the commit.
struct Parsed {
    header: InstanceHeader,
    staged: Box<dyn StagedBlob>,
}

/// A part committed to the medium.
struct Placed {
    header: InstanceHeader,
    blob: BlobLocation,
    created: bool,
}

/// One store request in progress. Dropping it before `finish` discards every
/// staged part: nothing of a refused request is kept.
pub struct StoreRequest {
    ports: Ports,
    tenant: Tenant,
    calling_aet: AeTitle,
    expected_study: Option<StudyInstanceUid>,
    expected_instance: Option<(SopClassUid, SopInstanceUid)>,
    parsed: Vec<Parsed>,
    failed: Vec<FailedRef>,
    received_at: SystemTime,
}

impl std::fmt::Debug for StoreRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRequest")
            .field("parts", &self.parsed.len())
            .finish_non_exhaustive()
    }
}

impl StoreRequest {
    /// `expected_study` is the `{study}` of `…/studies/{study}` when given.
    pub fn new(
        ports: Ports,
        tenant: Tenant,
        calling_aet: AeTitle,
        expected_study: Option<StudyInstanceUid>,
    ) -> Self {
        Self {
            ports,
            tenant,
            calling_aet,
            expected_study,
            expected_instance: None,
            parsed: Vec::new(),
            failed: Vec::new(),
            received_at: SystemTime::now(),
        }
    }

    /// The SOP class and instance the next parts must be (a C-STORE request
    /// names them in its command): a data set that is another instance is
    /// refused, not stored.
    pub fn expecting_instance(mut self, sop_class: SopClassUid, sop: SopInstanceUid) -> Self {
        self.expected_instance = Some((sop_class, sop));
        self
    }

    /// Stages one part's bytes as they arrive on the default medium, then
    /// parses its header. A part that is not a valid DICOM Part 10 object is an
    /// `Invalid` error: the caller answers 400 and drops the request. Conflicts
    /// with stored instances are decided when indexing, in one transaction.
    pub async fn add_part(&mut self, bytes: IncomingBytes<'_>) -> Result<(), AppError> {
        let part = self.parsed.len() + self.failed.len() + 1;
        let mut staged = self.ports.media.default_medium().stage(bytes).await?;
        // Parsing is synchronous: the staged bytes are local, read off the async workers.
        let (staged, header) = blocking(move || {
            let header =
                pacs_dicom_ops::read_header(staged.reader()?).map_err(
                    |e| match AppError::from(e) {
                        AppError::Invalid { code, message } => AppError::invalid(
                            code,
                            format!("part {part} is not a valid DICOM instance: {message}"),
                        ),
                        other => other,
                    },
                )?;
            Ok((staged, header))
        })
        .await?;
        if let Some(expected) = &self.expected_study
            && expected != &header.study.study_uid
        {
            self.failed.push(FailedRef {
                sop: header.instance.sop_uid.clone(),
                sop_class: header.instance.sop_class.clone(),
                reason: failure::STUDY_MISMATCH,
                message: format!(
                    "Study Instance UID {} differs from {expected} in the request",
                    header.study.study_uid
                ),
            });
            return Ok(());
        }
        if let Some((class, sop)) = &self.expected_instance
            && (class != &header.instance.sop_class || sop != &header.instance.sop_uid)
        {
            self.failed.push(FailedRef {
                sop: header.instance.sop_uid.clone(),
                sop_class: header.instance.sop_class.clone(),
                reason: failure::INSTANCE_MISMATCH,
                message: format!(
                    "the data set is SOP instance {} of class {}, not {sop} of class {class} as announced",
                    header.instance.sop_uid, header.instance.sop_class
                ),
            });
            return Ok(());
        }
        self.parsed.push(Parsed { header, staged });
        Ok(())
    }

    /// Commits every parsed part to the medium (durably, under its final key),
    /// then indexes them all in one transaction, and reports.
    pub async fn finish(mut self) -> Result<StoreReport, AppError> {
        let medium = self.ports.media.default_medium().clone();
        let parsed = std::mem::take(&mut self.parsed);
        let mut headers = Vec::with_capacity(parsed.len());
        let mut items = Vec::with_capacity(parsed.len());
        for p in parsed {
            let name = ObjectName {
                tenant: self.tenant.name.clone(),
                groups: vec![
                    p.header.study.study_uid.to_string(),
                    p.header.series.series_uid.to_string(),
                ],
                name: p.header.instance.sop_uid.to_string(),
                sha1: p.staged.sha1().to_owned(),
            };
            headers.push((p.header, p.staged.size(), p.staged.sha1().to_owned()));
            items.push((p.staged, name));
        }
        let committed = medium.commit(items).await?;
        let placed: Vec<Placed> = headers
            .into_iter()
            .zip(committed)
            .map(|((header, size, sha1), c)| Placed {
                header,
                blob: BlobLocation {
                    medium: medium.name().clone(),
                    key: c.key,
                    size,
                    sha1,
                },
                created: c.created,
            })
            .collect();
        let batch: Vec<NewInstance> = placed
            .iter()
            .map(|p| NewInstance {
                header: p.header.clone(),
                blob: p.blob.clone(),
                calling_aet: self.calling_aet.clone(),
                received_at: self.received_at,
                slide: None,
            })
            .collect();
        let outcomes = if batch.is_empty() {
            Vec::new()
        } else {
            let (ports, tenant) = (self.ports.clone(), self.tenant.clone());
            match blocking(move || Ok(crate::journal::index(&ports, &tenant, &batch, false)?)).await
            {
                Ok(o) => o,
                Err(e) => {
                    self.remove_created(placed.iter()).await;
                    return Err(e);
                }
            }
        };
        let mut report = StoreReport {
            stored: Vec::new(),
            failed: std::mem::take(&mut self.failed),
        };
        for (p, outcome) in placed.iter().zip(outcomes) {
            let i = &p.header.instance;
            match outcome {
                StoreOutcome::Stored | StoreOutcome::AlreadyStored => {
                    report.stored.push(StoredRef {
                        study: p.header.study.study_uid.clone(),
                        series: p.header.series.series_uid.clone(),
                        sop: i.sop_uid.clone(),
                        sop_class: i.sop_class.clone(),
                    })
                }
                refused => {
                    let message = refused.refusal().unwrap_or_default();
                    let reason = match refused {
                        StoreOutcome::NotAdmitted(_) => failure::OTHER_PATIENT,
                        _ => failure::DUPLICATE_SOP,
                    };
                    self.remove_created(std::iter::once(p)).await;
                    report.failed.push(FailedRef {
                        sop: i.sop_uid.clone(),
                        sop_class: i.sop_class.clone(),
                        reason,
                        message,
                    });
                }
            }
        }
        Ok(report)
    }

    async fn remove_created<'p>(&self, placed: impl Iterator<Item = &'p Placed>) {
        for p in placed.filter(|p| p.created) {
            // Another request may have stored the same content under the same key.
            let (index, tenant) = (self.ports.instances.clone(), self.tenant.name.clone());
            let sop = p.header.instance.sop_uid.clone();
            if let Ok(Some(live)) = blocking(move || Ok(index.find_live(&tenant, &sop)?)).await
                && live.key == p.blob.key
                && live.medium == p.blob.medium
            {
                continue;
            }
            let removed = match self.ports.media.get(&p.blob.medium) {
                Ok(m) => m.delete(&p.blob.key).await.map_err(AppError::from),
                Err(e) => Err(e),
            };
            if let Err(e) = removed {
                log::warn!("could not remove unindexed object {}: {e}", p.blob.key);
            }
        }
    }
}
