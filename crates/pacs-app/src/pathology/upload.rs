//! Storing a slide file with its describing object (API.md §4).
//!
//! The file is staged on the medium while it arrives (the caller streams it),
//! checked (MIRAX entries, fileHash, fileLength, barcode), and only then are
//! the slide and its object committed and indexed together. Anything refused
//! leaves nothing: staged bytes are dropped, created objects removed.

use std::time::SystemTime;

use bytes::Bytes;

use pacs_dicom_ops::Tag;
use pacs_dicom_ops::{
    MiraxLimits, Sidecar, SidecarUids, SlideDescription, build_sidecar, check_mirax, read_sidecar,
};
use pacs_domain::ids::{AeTitle, SeriesInstanceUid, SopInstanceUid, StudyInstanceUid};
use pacs_domain::model::{
    BlobLocation, NewInstance, SlideFacts, SlideFile, SlideKind, StoreOutcome,
};
use pacs_domain::ports::{IncomingBytes, ObjectName, StagedBlob};

use super::uids::derived_uid;
use crate::blocking::blocking;
use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};

const STUDY_UID: Tag = Tag(0x0020, 0x000D);
const SERIES_UID: Tag = Tag(0x0020, 0x000E);
const SOP_UID: Tag = Tag(0x0008, 0x0018);
const ACCESSION: Tag = Tag(0x0008, 0x0050);
const CONTAINER: Tag = Tag(0x0040, 0x0512);

/// What an upload stored.
#[derive(Debug, Clone)]
pub struct SlideStored {
    pub study_uid: StudyInstanceUid,
    pub series_uid: SeriesInstanceUid,
    pub sop_uid: SopInstanceUid,
    pub container_identifier: String,
    pub file_name: String,
    pub kind: SlideKind,
    /// The same slide and object were already stored: nothing was added.
    pub already_stored: bool,
}

/// The uploaded file, staged.
struct StagedFile {
    staged: Box<dyn StagedBlob>,
    name: String,
    zip: bool,
}

/// One slide upload in progress: parts arrive in any order; `finish` stores.
/// Dropping it discards whatever was staged.
pub struct SlideUpload {
    ports: Ports,
    tenant: Tenant,
    calling_aet: AeTitle,
    limits: MiraxLimits,
    description: Option<SlideDescription>,
    sidecar: Option<Sidecar>,
    file: Option<StagedFile>,
    file_hash: Option<String>,
    file_length: Option<u64>,
}

impl std::fmt::Debug for SlideUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlideUpload")
            .field("file", &self.file.as_ref().map(|f| f.staged.size()))
            .finish_non_exhaustive()
    }
}

fn invalid(code: ErrorCode, message: impl Into<String>) -> AppError {
    AppError::invalid(code, message)
}

/// The name a file part is stored and returned under: its last path component.
fn clean_file_name(raw: &str) -> Result<String, AppError> {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(invalid(
            ErrorCode::MissingFileName,
            "the file part must have a file name (Content-Disposition filename)",
        ));
    }
    if name.chars().any(char::is_control) || name.len() > 255 {
        return Err(invalid(
            ErrorCode::InvalidFileName,
            "the file name has control characters or is longer than 255 bytes",
        ));
    }
    Ok(name.to_owned())
}

impl SlideUpload {
    pub fn new(ports: Ports, tenant: Tenant, calling_aet: AeTitle, limits: MiraxLimits) -> Self {
        Self {
            ports,
            tenant,
            calling_aet,
            limits,
            description: None,
            sidecar: None,
            file: None,
            file_hash: None,
            file_length: None,
        }
    }

    fn duplicate(part: &str) -> AppError {
        invalid(
            ErrorCode::DuplicatePart,
            format!("the {part} part is given twice"),
        )
    }

    /// The `metadata` part (JSON).
    pub fn set_metadata(&mut self, bytes: &[u8]) -> Result<(), AppError> {
        if self.description.is_some() {
            return Err(Self::duplicate("metadata"));
        }
        self.description = Some(SlideDescription::parse(bytes)?);
        Ok(())
    }

    /// The `sidecar` part: staged as it arrives, then parsed.
    pub async fn set_sidecar(&mut self, bytes: IncomingBytes<'_>) -> Result<(), AppError> {
        let staged = self.ports.media.default_medium().stage(bytes).await?;
        if self.sidecar.is_some() {
            return Err(Self::duplicate("sidecar"));
        }
        let sidecar = blocking(move || {
            let mut staged = staged;
            read_sidecar(staged.reader()?).map_err(|e| match AppError::from(e) {
                AppError::Invalid { message, .. } => invalid(ErrorCode::InvalidSidecar, message),
                other => other,
            })
        })
        .await?;
        self.sidecar = Some(sidecar);
        Ok(())
    }

    /// The `file` part, staged as it arrives (a slide of any size: memory stays
    /// bounded), with its file name and whether it came as a zip
    /// (`Content-Type: application/zip`, or a `.zip` name).
    pub async fn set_file(
        &mut self,
        bytes: IncomingBytes<'_>,
        file_name: Option<&str>,
        zip: bool,
    ) -> Result<(), AppError> {
        let staged = self.ports.media.default_medium().stage(bytes).await?;
        if self.file.is_some() {
            return Err(Self::duplicate("file"));
        }
        let name = clean_file_name(file_name.unwrap_or(""))?;
        let zip = zip || name.to_ascii_lowercase().ends_with(".zip");
        self.file = Some(StagedFile { staged, name, zip });
        Ok(())
    }

    /// The `fileHash` part: SHA-1, hex, any case.
    pub fn set_file_hash(&mut self, text: &str) -> Result<(), AppError> {
        if self.file_hash.is_some() {
            return Err(Self::duplicate("fileHash"));
        }
        let t = text.trim();
        if t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                ErrorCode::InvalidFileHash,
                "fileHash must be a SHA-1 digest: 40 hexadecimal digits",
            ));
        }
        self.file_hash = Some(t.to_ascii_lowercase());
        Ok(())
    }

    /// The `fileLength` part: bytes, decimal.
    pub fn set_file_length(&mut self, text: &str) -> Result<(), AppError> {
        if self.file_length.is_some() {
            return Err(Self::duplicate("fileLength"));
        }
        let n = text.trim().parse::<u64>().map_err(|_| {
            invalid(
                ErrorCode::InvalidFileLength,
                "fileLength must be a non-negative whole number of bytes",
            )
        })?;
        self.file_length = Some(n);
        Ok(())
    }

    /// Checks everything, then commits and indexes the slide and its object.
    pub async fn finish(mut self) -> Result<SlideStored, AppError> {
        let Some(file) = self.file.take() else {
            return Err(invalid(ErrorCode::MissingPart, "the file part is missing"));
        };
        if file.staged.size() == 0 {
            return Err(invalid(ErrorCode::EmptyFile, "the file part is empty"));
        }
        // The checks read the staged file (a MIRAX zip) and build the object:
        // synchronous work, off the async workers.
        let (this, file, object, header, facts) = blocking(move || {
            let mut file = file;
            let (object, facts) = self.describe(&mut file)?;
            let header = pacs_dicom_ops::read_header(std::io::Cursor::new(&object))?;
            Ok((self, file, object, header, facts))
        })
        .await?;
        this.store(file, object, header, &facts).await
    }

    /// Checks the file and the declared values, and builds the object that
    /// describes the slide.
    fn describe(&mut self, file: &mut StagedFile) -> Result<(Vec<u8>, SlideFacts), AppError> {
        let (kind, mirax_sha1) = self.check_file(file)?;
        self.check_declared(file, mirax_sha1.as_deref())?;
        let facts = SlideFacts {
            kind,
            file_name: file.name.clone(),
            size: file.staged.size(),
            sha1: file.staged.sha1().to_owned(),
        };
        let object = match (self.description.take(), self.sidecar.take()) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    ErrorCode::ConflictingParts,
                    "send either a metadata part or a sidecar part, not both",
                ));
            }
            (None, None) => {
                return Err(invalid(
                    ErrorCode::MissingPart,
                    "a metadata part (or a sidecar part) is required",
                ));
            }
            (Some(d), None) => self.generate(d, &facts)?,
            (None, Some(sidecar)) => {
                if sidecar.referenced_file != facts.file_name {
                    return Err(invalid(
                        ErrorCode::InvalidSidecar,
                        format!(
                            "the sidecar describes {:?}, not the file sent ({:?})",
                            sidecar.referenced_file, facts.file_name
                        ),
                    ));
                }
                sidecar.restamp(&facts)?
            }
        };
        Ok((object, facts))
    }

    /// The slide's kind, and for MIRAX the SHA-1 of its `.mrxs` (after every
    /// entry of the zip is checked).
    fn check_file(&self, file: &mut StagedFile) -> Result<(SlideKind, Option<String>), AppError> {
        let kind = if file.zip {
            SlideKind::Mirax
        } else {
            SlideKind::File
        };
        if let Some(sidecar) = &self.sidecar
            && sidecar.kind != kind
        {
            return Err(invalid(
                ErrorCode::WrongSlideType,
                format!(
                    "the uploaded archive does not contain the correct slide type: the sidecar \
                     describes a {} slide",
                    if sidecar.kind == SlideKind::Mirax {
                        "MIRAX (zip)"
                    } else {
                        "single-file"
                    }
                ),
            ));
        }
        if kind == SlideKind::File {
            return Ok((kind, None));
        }
        let check = check_mirax(file.staged.reader()?, &self.limits).map_err(|e| match e {
            pacs_dicom_ops::DicomError::NoMrxs(m) => invalid(ErrorCode::NoMrxs, m),
            pacs_dicom_ops::DicomError::Archive(m) => invalid(ErrorCode::InvalidArchive, m),
            other => other.into(),
        })?;
        Ok((kind, Some(check.mrxs_sha1)))
    }

    /// `fileLength` and `fileHash` against what was received: 409 when they differ.
    fn check_declared(&self, file: &StagedFile, mrxs_sha1: Option<&str>) -> Result<(), AppError> {
        let size = file.staged.size();
        if let Some(n) = self.file_length
            && n != size
        {
            return Err(AppError::conflict(
                ErrorCode::FileLengthMismatch,
                format!("fileLength is {n} but {size} bytes were received"),
            ));
        }
        if let Some(h) = &self.file_hash {
            // MIRAX: the .mrxs entry's SHA-1 (the source document); the zip's
            // own is accepted too, for senders that fingerprint what they send.
            let ok = h == file.staged.sha1() || mrxs_sha1 == Some(h.as_str());
            if !ok {
                let what = if mrxs_sha1.is_some() {
                    "the .mrxs entry"
                } else {
                    "the file"
                };
                return Err(AppError::conflict(
                    ErrorCode::FileHashMismatch,
                    format!("fileHash {h} does not match the SHA-1 of {what} received"),
                ));
            }
        }
        Ok(())
    }

    /// Generates the object from the metadata, deriving absent UIDs.
    fn generate(&self, d: SlideDescription, facts: &SlideFacts) -> Result<Vec<u8>, AppError> {
        let t = &self.tenant.name;
        let a = &d.attributes;
        let accession = a.text(ACCESSION).unwrap_or_default();
        let barcode = a.text(CONTAINER).unwrap_or_default();
        let uids = SidecarUids {
            study: a
                .text(STUDY_UID)
                .unwrap_or_else(|| derived_uid(t, "study", &accession)),
            series: a
                .text(SERIES_UID)
                .unwrap_or_else(|| derived_uid(t, "series", &barcode)),
            sop: a
                .text(SOP_UID)
                .unwrap_or_else(|| derived_uid(t, "instance", &barcode)),
        };
        let specimen_uid = |id: &str| derived_uid(t, "specimen", &format!("{barcode}\u{1f}{id}"));
        Ok(build_sidecar(
            d.attributes,
            d.hierarchy.as_ref(),
            &uids,
            &specimen_uid,
            facts,
        )?)
    }

    /// Commits the slide and its object, then indexes them.
    async fn store(
        self,
        file: StagedFile,
        object: Vec<u8>,
        header: pacs_domain::model::InstanceHeader,
        facts: &SlideFacts,
    ) -> Result<SlideStored, AppError> {
        let barcode = header
            .instance
            .container_identifier
            .clone()
            .unwrap_or_default();
        let medium = self.ports.media.default_medium().clone();
        let object = futures_util::stream::once(std::future::ready(Ok(Bytes::from(object))));
        let staged_object = medium.stage(Box::pin(object)).await?;
        let (study_uid, series_uid, sop_uid) = (
            header.study.study_uid.clone(),
            header.series.series_uid.clone(),
            header.instance.sop_uid.clone(),
        );
        let (study, series, sop) = (
            study_uid.to_string(),
            series_uid.to_string(),
            sop_uid.to_string(),
        );
        let object_blob = (staged_object.size(), staged_object.sha1().to_owned());
        let items = vec![
            (
                file.staged,
                ObjectName {
                    tenant: self.tenant.name.clone(),
                    groups: vec![study.clone(), series.clone(), sop.clone()],
                    name: facts.file_name.clone(),
                    sha1: facts.sha1.clone(),
                },
            ),
            (
                staged_object,
                ObjectName {
                    tenant: self.tenant.name.clone(),
                    groups: vec![study.clone(), series.clone()],
                    name: sop.clone(),
                    sha1: object_blob.1.clone(),
                },
            ),
        ];
        let committed = medium.commit(items).await?;
        let location = |i: usize, size: u64, sha1: &str| BlobLocation {
            medium: medium.name().clone(),
            key: committed[i].key.clone(),
            size,
            sha1: sha1.to_owned(),
        };
        let slide_blob = location(0, facts.size, &facts.sha1);
        let object_loc = location(1, object_blob.0, &object_blob.1);
        let created: Vec<&BlobLocation> = [&slide_blob, &object_loc]
            .into_iter()
            .zip(&committed)
            .filter(|(_, c)| c.created)
            .map(|(b, _)| b)
            .collect();
        let instance = NewInstance {
            header,
            blob: object_loc.clone(),
            calling_aet: self.calling_aet.clone(),
            received_at: SystemTime::now(),
            slide: Some(SlideFile {
                kind: facts.kind,
                blob: slide_blob.clone(),
                name: facts.file_name.clone(),
            }),
        };
        // A barcode names one slide: the index refuses another live object with it.
        let (ports, tenant) = (self.ports.clone(), self.tenant.clone());
        let indexed =
            blocking(move || Ok(crate::journal::index(&ports, &tenant, &[instance], true)?));
        let outcome = match indexed.await {
            Ok(mut o) => o.pop().unwrap_or(StoreOutcome::Stored),
            Err(e) => {
                self.remove(&created, &barcode).await;
                return Err(e);
            }
        };
        let already_stored = match outcome {
            StoreOutcome::Stored => false,
            StoreOutcome::AlreadyStored => true,
            taken @ StoreOutcome::BarcodeTaken { .. } => {
                self.remove(&created, &barcode).await;
                return Err(AppError::conflict(
                    ErrorCode::BarcodeInUse,
                    taken.refusal().unwrap_or_default(),
                ));
            }
            StoreOutcome::NotAdmitted(message) => {
                self.remove(&created, &barcode).await;
                return Err(AppError::conflict(ErrorCode::PatientMismatch, message));
            }
            StoreOutcome::Conflict(message) => {
                self.remove(&created, &barcode).await;
                return Err(AppError::conflict(
                    ErrorCode::SlideConflict,
                    format!("{message}: the slide or its metadata differ from what is stored"),
                ));
            }
        };
        Ok(SlideStored {
            study_uid,
            series_uid,
            sop_uid,
            container_identifier: barcode,
            file_name: facts.file_name.clone(),
            kind: facts.kind,
            already_stored,
        })
    }

    /// Removes objects this upload created, unless a live row now uses them
    /// (another upload of the same content may have won the race).
    async fn remove(&self, created: &[&BlobLocation], barcode: &str) {
        let holders = self.holders(barcode).await.unwrap_or_default();
        for b in created {
            let used = holders.iter().any(|h| {
                h.blob.key == b.key || h.slide.as_ref().is_some_and(|s| s.blob.key == b.key)
            });
            if used {
                continue;
            }
            let Ok(medium) = self.ports.media.get(&b.medium) else {
                continue;
            };
            if let Err(e) = medium.delete(&b.key).await {
                log::warn!("could not remove unindexed object {}: {e}", b.key);
            }
        }
    }

    /// The live objects that carry `barcode`.
    async fn holders(
        &self,
        barcode: &str,
    ) -> Result<Vec<pacs_domain::model::StoredInstance>, AppError> {
        let (retrieval, tenant) = (self.ports.retrieval.clone(), self.tenant.name.clone());
        let barcode = barcode.to_owned();
        blocking(move || Ok(retrieval.locate_by_container(&tenant, &barcode)?)).await
    }
}
