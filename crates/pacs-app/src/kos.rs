//! Key Object Selection manifests of a study (source document "KOS APIs"):
//! generated on request, or created and stored as a new instance of the study.

use bytes::Bytes;

use pacs_dicom_ops::{DicomError, KosInput, KosReference, ReferenceKind, build_kos};
use pacs_domain::ids::{AeTitle, StudyInstanceUid};
use pacs_domain::model::StoredInstance;
use pacs_domain::ports::{RepositoryError, StorageError};

use crate::blocking::blocking;
use crate::context::{Ports, Tenant};
pub use crate::error::KosErrorCode;
use crate::error::{AppError, ErrorCode};
use crate::ingest::StoreRequest;
use crate::retrieve::{Target, locate};

/// Key Object Selection Document Storage.
pub const KOS_SOP_CLASS: &str = "1.2.840.10008.5.1.4.1.1.88.59";

/// A failure of `createKos`, with the source document's error code.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct KosError {
    pub code: KosErrorCode,
    pub message: String,
    #[source]
    cause: Option<AppError>,
}

impl KosError {
    pub fn new(code: KosErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            cause: None,
        }
    }

    /// The vendor code for a use-case failure: by kind for client errors,
    /// by the port or parser that failed for the archive's own.
    fn from_app(e: AppError) -> Self {
        let code = match &e {
            AppError::NotFound { .. } => KosErrorCode::StudyNotFound,
            AppError::Invalid { .. } => KosErrorCode::MalformedJson,
            _ if e.caused_by::<StorageError>().is_some() => KosErrorCode::InternalIoError,
            _ if e.caused_by::<RepositoryError>().is_some() => KosErrorCode::InternalSqlError,
            _ if e.caused_by::<DicomError>().is_some() => KosErrorCode::InternalDicomError,
            _ => KosErrorCode::InternalGenericError,
        };
        Self {
            code,
            message: e.to_string(),
            cause: Some(e),
        }
    }
}

/// A new UID in the `2.25` arc (a random UUID as a decimal integer).
pub fn new_uid() -> String {
    format!("2.25.{}", uuid::Uuid::new_v4().as_u128())
}

fn kind(i: &StoredInstance) -> ReferenceKind {
    if i.sop_class
        .as_str()
        .starts_with("1.2.840.10008.5.1.4.1.1.9.")
    {
        ReferenceKind::Waveform
    } else if i.rows.is_some() {
        ReferenceKind::Image
    } else {
        ReferenceKind::Composite
    }
}

/// Builds a manifest of every live instance of the study (manifests excluded:
/// a manifest does not list other manifests). Returns its SOP Instance UID and
/// its bytes (blocking).
pub fn generate(
    ports: &Ports,
    tenant: &Tenant,
    study: &StudyInstanceUid,
    retrieve_base_url: &str,
) -> Result<(String, Vec<u8>), AppError> {
    let target = Target {
        study: study.clone(),
        series: None,
        sop: None,
    };
    let instances = locate(ports, tenant, &target, false)?;
    let references: Vec<KosReference> = instances
        .iter()
        .filter(|i| i.sop_class.as_str() != KOS_SOP_CLASS)
        .map(|i| KosReference {
            series_uid: i.series_uid.to_string(),
            sop_class: i.sop_class.to_string(),
            sop_uid: i.sop_uid.to_string(),
            kind: kind(i),
        })
        .collect();
    if references.is_empty() {
        return Err(AppError::not_found(
            ErrorCode::NotFound,
            format!("study {study} has no instance to reference"),
        ));
    }
    let first = &instances[0];
    let now = chrono::Utc::now();
    let (date, time) = (
        now.format("%Y%m%d").to_string(),
        now.format("%H%M%S").to_string(),
    );
    let sop_uid = new_uid();
    let series_uid = new_uid();
    let bytes = build_kos(&KosInput {
        patient: &first.patient,
        study: &first.study,
        series_uid: &series_uid,
        sop_uid: &sop_uid,
        series_number: 999,
        date: &date,
        time: &time,
        retrieve_ae: tenant.ae_title.as_str(),
        retrieve_base_url,
        references: &references,
    })?;
    Ok((sop_uid, bytes))
}

/// `POST /studies/createKos`: generates the manifest and stores it as a new
/// instance in a new KO series of the study, received from `calling_ae`.
pub async fn create(
    ports: &Ports,
    tenant: &Tenant,
    study: &StudyInstanceUid,
    calling_ae: Option<AeTitle>,
    retrieve_base_url: &str,
) -> Result<String, KosError> {
    // Without a calling AE the manifest is recorded as the archive's own.
    let calling = calling_ae.unwrap_or_else(|| tenant.ae_title.clone());
    let study = study.clone();
    let (p, t, s, base) = (
        ports.clone(),
        tenant.clone(),
        study.clone(),
        retrieve_base_url.to_owned(),
    );
    let (sop_uid, bytes) = blocking(move || generate(&p, &t, &s, &base))
        .await
        .map_err(|e| match e {
            AppError::NotFound { .. } => KosError::new(
                KosErrorCode::StudyNotFound,
                format!("study {study} not found"),
            ),
            other => KosError::from_app(other),
        })?;
    let mut store = StoreRequest::new(ports.clone(), tenant.clone(), calling, Some(study));
    let part = futures_util::stream::once(std::future::ready(Ok(Bytes::from(bytes))));
    store
        .add_part(Box::pin(part))
        .await
        .map_err(KosError::from_app)?;
    let report = store.finish().await.map_err(KosError::from_app)?;
    if report.stored.len() != 1 {
        let why = report
            .failed
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_default();
        return Err(KosError::new(
            KosErrorCode::InternalGenericError,
            format!("the manifest was not stored: {why}"),
        ));
    }
    Ok(sop_uid)
}
