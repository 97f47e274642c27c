//! C-STORE SCP: the received data set goes, as it arrives, to the same ingest
//! use case as a STOW-RS part (same validation, duplicates policy, events,
//! audit), behind the File Meta Information its command describes.

use bytes::Bytes;
use futures_util::StreamExt;
use pacs_app::ingest::{StoreReport, StoreRequest};
use pacs_app::{AppError, ErrorCode};
use pacs_dicom_ops::dimse::{ReceivedObject, part10_header};
use pacs_domain::ids::{SopClassUid, SopInstanceUid};

use crate::association::Session;
use crate::link::{LinkError, Received};
use crate::status::{CANNOT_UNDERSTAND, Outcome};

/// Stores one instance and answers its C-STORE-RQ.
pub(crate) async fn c_store(session: &mut Session, rq: Received) -> Result<(), LinkError> {
    let outcome = match store(session, &rq).await {
        Ok(report) => outcome_of(report),
        Err(e) => Outcome::from(e),
    };
    // After a refusal the peer still sends the rest of its data set.
    session.link.drain_data().await?;
    session.respond(&rq, outcome).await
}

async fn store(session: &mut Session, rq: &Received) -> Result<StoreReport, AppError> {
    let bad = |m: &str| AppError::invalid(ErrorCode::InvalidField, m.to_owned());
    let c = &rq.command;
    if !c.has_data_set {
        return Err(bad("the C-STORE request has no data set"));
    }
    let class = c
        .sop_class
        .as_deref()
        .ok_or_else(|| bad("the C-STORE request names no Affected SOP Class UID"))?;
    let instance = c
        .sop_instance
        .as_deref()
        .ok_or_else(|| bad("the C-STORE request names no Affected SOP Instance UID"))?;
    let expected_class =
        SopClassUid::new(class).map_err(|e| bad(&format!("Affected SOP Class UID: {e}")))?;
    let expected_sop = SopInstanceUid::new(instance)
        .map_err(|e| bad(&format!("Affected SOP Instance UID: {e}")))?;
    let transfer_syntax = session
        .transfer_syntax(rq.context)
        .ok_or_else(|| bad("the presentation context of the request was not accepted"))?;
    let header = part10_header(&ReceivedObject {
        sop_class: class,
        sop_instance: instance,
        transfer_syntax: &transfer_syntax,
        source_ae: session.calling.as_str(),
    })
    .map_err(AppError::from)?;
    let mut request = StoreRequest::new(
        session.ports.clone(),
        session.tenant.clone(),
        session.calling.clone(),
        None,
    )
    .expecting_instance(expected_class, expected_sop);
    let bytes = futures_util::stream::once(async move { Ok(Bytes::from(header)) })
        .chain(session.link.data());
    request.add_part(Box::pin(bytes)).await?;
    request.finish().await
}

/// The status of a one-instance store report.
fn outcome_of(report: StoreReport) -> Outcome {
    match report.failed.into_iter().next() {
        None if !report.stored.is_empty() => Outcome::success(),
        None => Outcome::failure(CANNOT_UNDERSTAND, "nothing was stored"),
        Some(f) => Outcome::failure(f.reason, f.message),
    }
}
