//! Storage Commitment Push Model SCP (PS3.4 J.3): an N-ACTION asks which
//! instances the archive holds; it is answered at once, then the result goes
//! back as an N-EVENT-REPORT on the same association.

use pacs_app::AppError;
use pacs_app::commitment::commit;
use pacs_dicom_ops::commitment::{read_commitment_request, write_commitment_result};
use pacs_dicom_ops::dimse::{DimseCommand, field};
use pacs_dicom_ops::find::MAX_IDENTIFIER_BYTES;

use crate::association::Session;
use crate::link::{LinkError, Received};
use crate::status::{CANNOT_UNDERSTAND, Outcome, SUCCESS};

pub(crate) const STORAGE_COMMITMENT: &str = "1.2.840.10008.1.20.1";
const STORAGE_COMMITMENT_INSTANCE: &str = "1.2.840.10008.1.20.1.1";

/// Answers an N-ACTION-RQ (Request Storage Commitment), then reports.
pub(crate) async fn n_action(session: &mut Session, rq: Received) -> Result<(), LinkError> {
    let Some(data) = session.link.small_data(MAX_IDENTIFIER_BYTES).await? else {
        let too_large = format!("the request is larger than {MAX_IDENTIFIER_BYTES} bytes");
        return session
            .respond(&rq, Outcome::failure(CANNOT_UNDERSTAND, too_large))
            .await;
    };
    let ts = session.transfer_syntax(rq.context).unwrap_or_default();
    let result = match check(session, &data, &ts).await {
        Ok(r) => r,
        Err(e) => return session.respond(&rq, Outcome::from(e)).await,
    };
    let mut rsp = DimseCommand::response_to(&rq.command, SUCCESS);
    rsp.sop_class = Some(STORAGE_COMMITMENT.into());
    rsp.sop_instance = Some(STORAGE_COMMITMENT_INSTANCE.into());
    rsp.type_id = rq.command.type_id;
    session.link.send_command(rq.context, &rsp).await?;
    let (transaction, committed, failed) = result;
    let report = match write_commitment_result(&transaction, &committed, &failed, &ts) {
        Ok(r) => r,
        Err(e) => {
            log::error!("storage commitment result not written: {e}");
            return Ok(());
        }
    };
    let event = DimseCommand {
        field: field::N_EVENT_REPORT_RQ,
        message_id: Some(rq.command.message_id.unwrap_or(0).wrapping_add(1)),
        sop_class: Some(STORAGE_COMMITMENT.into()),
        sop_instance: Some(STORAGE_COMMITMENT_INSTANCE.into()),
        has_data_set: true,
        // 1: every instance committed; 2: some failed.
        type_id: Some(if failed.is_empty() { 1 } else { 2 }),
        ..DimseCommand::default()
    };
    session.link.send_command(rq.context, &event).await?;
    session.link.send_data(rq.context, &report).await?;
    match session.link.next_command().await? {
        Some(r) if r.command.field == field::N_EVENT_REPORT_RSP => Ok(()),
        Some(other) => Err(LinkError::Protocol(format!(
            "command {:#06x} while an N-EVENT-REPORT response was awaited",
            other.command.field
        ))),
        None => Ok(()),
    }
}

type Checked = (String, Vec<(String, String)>, Vec<(String, String, u16)>);

async fn check(session: &Session, data: &[u8], ts: &str) -> Result<Checked, AppError> {
    let request = read_commitment_request(data, ts)?;
    let (ports, tenant) = (session.ports.clone(), session.tenant.clone());
    let references = request.references.clone();
    let (committed, failed) =
        tokio::task::spawn_blocking(move || commit(&ports, &tenant, &references))
            .await
            .map_err(|e| AppError::internal_from("the commitment check stopped", e))??;
    Ok((request.transaction_uid, committed, failed))
}
