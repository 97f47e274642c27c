//! `POST /studies/relocation`: moves a study's stored objects to another
//! physical medium, synchronously. Copies first, each verified by its SHA-1,
//! then switches the index in one transaction, then deletes the old copies: a
//! failure at any step leaves the study readable where it was.

use std::sync::Arc;

use pacs_domain::model::{
    Change, MediumKind, MediumName, RelocatedFile, RelocationLookup, StudyFile, StudyRef,
    StudySelector,
};
use pacs_domain::ports::{BlobStore, ByteRange, RepositoryError, StorageError};

use crate::blocking::blocking;
use crate::context::{Ports, Tenant};
use crate::error::{AppError, ErrorCode};
use crate::journal;

/// Where a study is to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelocationTarget {
    /// A configured physical medium, by the name asked for (a name that is
    /// not a valid medium name names no medium).
    Medium(String),
    /// An S3 bucket.
    Bucket(String),
}

/// `POST /studies/relocation`: which study, where to, who asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelocateStudy {
    pub selector: StudySelector,
    pub target: RelocationTarget,
    pub author: String,
}

fn system_error(detail: impl std::fmt::Display) -> AppError {
    log::error!("relocation failed: {detail}");
    AppError::conflict(
        ErrorCode::SystemError,
        "System error relocating study: the study stays where it was",
    )
}

const BUCKET_ERROR: &str = "Bucket error: the requested bucket does not exist or it was impossible to load its configuration";

fn bucket_error(detail: impl std::fmt::Display) -> AppError {
    log::error!("relocation failed: {detail}");
    AppError::conflict(ErrorCode::BucketError, BUCKET_ERROR)
}

/// A failure on the target: an unreachable bucket is the documented "Bucket
/// error"; anything else a system error.
fn target_error(to: &dyn BlobStore, key: &str, e: StorageError) -> AppError {
    match e {
        e @ StorageError::Unavailable { .. } if to.kind() == MediumKind::Bucket => {
            bucket_error(format!("copy of {key}: {e}"))
        }
        e => system_error(format!("copy of {key}: {e}")),
    }
}

/// The configured physical medium or bucket the request names: a name of the
/// other kind names nothing.
fn target<'a>(ports: &'a Ports, r: &RelocateStudy) -> Result<&'a Arc<dyn BlobStore>, AppError> {
    let not_found = || {
        AppError::not_found(
            ErrorCode::MediumNotFound,
            "Physical medium not found: the physical medium requested does not exist",
        )
    };
    let find = |name: &str, kind: MediumKind| {
        MediumName::new(name)
            .ok()
            .and_then(|n| ports.media.find(&n))
            .filter(|m| m.kind() == kind)
    };
    match &r.target {
        RelocationTarget::Medium(name) => find(name, MediumKind::Filesystem).ok_or_else(not_found),
        RelocationTarget::Bucket(name) => find(name, MediumKind::Bucket)
            .ok_or_else(|| AppError::conflict(ErrorCode::BucketError, BUCKET_ERROR)),
    }
}

/// Copies one object to `to` (streamed from one medium into the other's
/// staging), verifying its SHA-1; returns its key there and whether this call
/// created it.
async fn copy(
    ports: &Ports,
    file: &StudyFile,
    to: &dyn BlobStore,
) -> Result<(String, bool), AppError> {
    let from = ports.media.get(&file.medium)?;
    let source = |e: StorageError| system_error(format!("copy of {}: {e}", file.key));
    let storage = |e: StorageError| target_error(to, &file.key, e);
    let bytes = from.read(&file.key, ByteRange::ALL).await.map_err(source)?;
    let staged = to.stage(bytes).await.map_err(storage)?;
    if !staged.sha1().eq_ignore_ascii_case(&file.sha1) {
        return Err(system_error(format!(
            "copy of {} does not have the recorded SHA-1",
            file.key
        )));
    }
    let placed = to.place(staged, &file.key).await.map_err(storage)?;
    if !placed.created {
        // An object was already at the key (a copy left by an interrupted
        // relocation): it replaces the verified one only if it is the same.
        let existing = to
            .read(&placed.key, ByteRange::ALL)
            .await
            .map_err(storage)?;
        let rehashed = to.stage(existing).await.map_err(storage)?;
        if !rehashed.sha1().eq_ignore_ascii_case(&file.sha1) {
            return Err(system_error(format!(
                "an object already at {} on the target differs from the recorded SHA-1",
                file.key
            )));
        }
    }
    Ok((placed.key, placed.created))
}

/// Removes the copies this relocation created, after a failure.
async fn undo(to: &dyn BlobStore, created: &[String]) {
    for key in created {
        if let Err(e) = to.delete(key).await {
            log::warn!("relocation: could not remove the copy {key}: {e}");
        }
    }
}

/// `POST /studies/relocation`.
pub async fn relocate_study(
    ports: &Ports,
    tenant: &Tenant,
    r: &RelocateStudy,
) -> Result<(), AppError> {
    let selector = r.selector.clone();
    let author = r.author.clone();
    let to = Arc::clone(target(ports, r)?);
    let change = Change {
        author,
        reason: None,
    };
    let (relocations, name) = (ports.relocations.clone(), tenant.name.clone());
    let found = blocking(move || {
        relocations
            .study_files(&name, &selector)
            .map_err(system_error)
    })
    .await?;
    let (study, files) = match found {
        RelocationLookup::NotFound => {
            return Err(AppError::not_found(
                ErrorCode::StudyNotFound,
                "Study not found",
            ));
        }
        RelocationLookup::MultipleStudies => {
            return Err(AppError::conflict(
                ErrorCode::MultipleStudies,
                "Multiple studies found: multiple studies with the same Accession Number were found",
            ));
        }
        RelocationLookup::Found { study, files } => (study, files),
    };
    let (in_flight, key) = (
        ports.in_flight.clone(),
        format!("{}/relocation/{study}", tenant.name),
    );
    // Released when the relocation ends (a quick query when nodes share locks).
    let Some(_guard) = blocking(move || in_flight.try_begin(key)).await? else {
        return Err(AppError::conflict(
            ErrorCode::RelocationPending,
            "Study has already a pending relocation",
        ));
    };
    let to_move: Vec<StudyFile> = files
        .into_iter()
        .filter(|f| &f.medium != to.name())
        .collect();
    let in_a_bucket = |f: &StudyFile| {
        ports
            .media
            .find(&f.medium)
            .is_some_and(|m| m.kind() == MediumKind::Bucket)
    };
    if to.kind() == MediumKind::Bucket && to_move.iter().any(in_a_bucket) {
        return Err(AppError::conflict(
            ErrorCode::RelocationNotSupported,
            "Relocation not supported: a study in a bucket cannot be relocated to another bucket",
        ));
    }
    if to.kind() == MediumKind::Bucket && !to_move.is_empty() {
        // An unreachable bucket is refused before anything is copied.
        to.check().await.map_err(bucket_error)?;
    }
    let mut moved = Vec::new();
    let mut created = Vec::new();
    for file in to_move {
        match copy(ports, &file, to.as_ref()).await {
            Ok((new_key, was_created)) => {
                if was_created {
                    created.push(new_key.clone());
                }
                moved.push(RelocatedFile { file, new_key });
            }
            Err(e) => {
                undo(to.as_ref(), &created).await;
                return Err(e);
            }
        }
    }
    if moved.is_empty() {
        return Ok(());
    }
    let (relocations, name, medium) = (
        ports.relocations.clone(),
        tenant.name.clone(),
        to.name().clone(),
    );
    let switched = blocking(move || {
        let journal = |s: &StudyRef| journal::relocation(&change, medium.as_str(), moved.len(), s);
        relocations
            .switch_medium(&name, &study, &medium, &moved, &journal)
            .map_err(|e| match e {
                RepositoryError::Conflict(why) => system_error(why),
                other => system_error(other),
            })
    })
    .await;
    let orphans = match switched {
        Ok(o) => o,
        Err(e) => {
            undo(to.as_ref(), &created).await;
            return Err(e);
        }
    };
    // The index names the new copies now: the old ones can go. A failure here
    // only leaves an unreferenced file behind.
    for old in orphans {
        let deleted = match ports.media.get(&old.medium) {
            Ok(m) => m.delete(&old.key).await.map_err(AppError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = deleted {
            log::warn!("relocation: old copy {} not removed: {e}", old.key);
        }
    }
    Ok(())
}
