//! C-GET SCP, Patient Root and Study Root, study, series and instance level:
//! the located instances go back as C-STORE sub-operations on the same
//! association, each in its stored transfer syntax (nothing is transcoded).

use futures_util::StreamExt;
use pacs_app::retrieve::{Target, locate, open_data_set};
use pacs_app::{AppError, ErrorCode, Ports};
use pacs_dicom_ops::dimse::{DimseCommand, SubOperations, field};
use pacs_dicom_ops::find::{MAX_IDENTIFIER_BYTES, read_identifier};
use pacs_domain::model::StoredInstance;

use crate::association::Session;
use crate::link::{Link, LinkError, Peer, Received};
use crate::status::{CANNOT_UNDERSTAND, Outcome, PENDING, SUB_OPERATIONS_FAILED, SUCCESS};

pub(crate) const PATIENT_ROOT_GET: &str = "1.2.840.10008.5.1.4.1.2.1.3";
pub(crate) const STUDY_ROOT_GET: &str = "1.2.840.10008.5.1.4.1.2.2.3";

/// Answers one C-GET-RQ.
pub(crate) async fn c_get(session: &mut Session, rq: Received) -> Result<(), LinkError> {
    let Some(identifier) = session.link.small_data(MAX_IDENTIFIER_BYTES).await? else {
        let too_large = format!("the identifier is larger than {MAX_IDENTIFIER_BYTES} bytes");
        return session
            .respond(&rq, Outcome::failure(CANNOT_UNDERSTAND, too_large))
            .await;
    };
    let ts = session.transfer_syntax(rq.context).unwrap_or_default();
    let instances = match located(session, &identifier, &ts).await {
        Ok(i) => i,
        Err(e) => return session.respond(&rq, Outcome::from(e)).await,
    };
    let mut counts = SubOperations {
        remaining: u16::try_from(instances.len()).unwrap_or(u16::MAX),
        ..SubOperations::default()
    };
    for (n, instance) in instances.iter().enumerate() {
        let id = u16::try_from(n % 0xFFFF + 1).unwrap_or(1);
        let stored = store_on_peer(&mut session.link, &session.ports, instance, id, None).await?;
        progressed(session, &rq, &mut counts, stored).await?;
    }
    finished(session, &rq, counts).await
}

/// A C-GET or C-MOVE response carrying the sub-operation counts.
pub(crate) fn counted(rq: &Received, status: u16, counts: SubOperations) -> DimseCommand {
    let mut response = DimseCommand::response_to(&rq.command, status);
    response.sop_instance = None;
    response.sub_operations = Some(counts);
    response
}

/// Counts one sub-operation's outcome and, while some remain, tells the
/// requester how far it is (a pending response).
pub(crate) async fn progressed(
    session: &mut Session,
    rq: &Received,
    counts: &mut SubOperations,
    stored: bool,
) -> Result<(), LinkError> {
    counts.remaining = counts.remaining.saturating_sub(1);
    if stored {
        counts.completed += 1;
    } else {
        counts.failed += 1;
    }
    if counts.remaining == 0 {
        return Ok(());
    }
    let pending = counted(rq, PENDING, *counts);
    session.link.send_command(rq.context, &pending).await
}

/// The final response: success, or "sub-operations failed" when one did.
pub(crate) async fn finished(
    session: &mut Session,
    rq: &Received,
    counts: SubOperations,
) -> Result<(), LinkError> {
    let status = if counts.failed > 0 {
        SUB_OPERATIONS_FAILED
    } else {
        SUCCESS
    };
    let done = counted(rq, status, counts);
    session.link.send_command(rq.context, &done).await
}

/// The live instances the identifier names (UID lists with `\` allowed at
/// the level asked for).
pub(crate) async fn located(
    session: &Session,
    identifier: &[u8],
    transfer_syntax: &str,
) -> Result<Vec<StoredInstance>, AppError> {
    let keys = read_identifier(identifier, transfer_syntax)?;
    let bad = |m: String| AppError::invalid(ErrorCode::InvalidQuery, m);
    let value = |tag| {
        keys.keys
            .iter()
            .find(|(t, _)| *t == tag)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    use pacs_dicom_ops::dimse::{SERIES_INSTANCE_UID, SOP_INSTANCE_UID, STUDY_INSTANCE_UID};
    let study = value(STUDY_INSTANCE_UID);
    let series = value(SERIES_INSTANCE_UID);
    let sop = value(SOP_INSTANCE_UID);
    let level = keys.level.as_deref().unwrap_or("");
    let targets: Vec<(String, Option<String>, Option<String>)> = match (level, study, series, sop) {
        ("STUDY", Some(st), _, _) => st.split('\\').map(|s| (s.to_owned(), None, None)).collect(),
        ("SERIES", Some(st), Some(se), _) => se
            .split('\\')
            .map(|s| (st.clone(), Some(s.to_owned()), None))
            .collect(),
        ("IMAGE", Some(st), Some(se), Some(i)) => i
            .split('\\')
            .map(|s| (st.clone(), Some(se.clone()), Some(s.to_owned())))
            .collect(),
        _ => {
            return Err(bad(format!(
                "a retrieval at level {level:?} needs the UIDs of that level and those above"
            )));
        }
    };
    let (ports, tenant) = (session.ports.clone(), session.tenant.clone());
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for (st, se, i) in targets {
            let target = Target::parse(&st, se.as_deref(), i.as_deref())?;
            match locate(&ports, &tenant, &target, false) {
                Ok(found) => out.extend(found),
                // Nothing there: no sub-operation for it.
                Err(AppError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    })
    .await
    .map_err(|e| AppError::internal_from("the retrieval stopped", e))?
}

/// Sends one instance as a C-STORE sub-operation on `link` and reads its
/// response; false when it could not be sent or the peer did not store it.
pub(crate) async fn store_on_peer<A: Peer>(
    link: &mut Link<A>,
    ports: &Ports,
    instance: &StoredInstance,
    message_id: u16,
    move_originator: Option<(String, u16)>,
) -> Result<bool, LinkError> {
    let Some(context) = link.context_for(
        instance.sop_class.as_str(),
        instance.transfer_syntax.as_str(),
    ) else {
        log::info!(
            "no presentation context for SOP class {} in {}",
            instance.sop_class,
            instance.transfer_syntax
        );
        return Ok(false);
    };
    let data = match open_data_set(ports, instance).await {
        Ok(d) => d,
        Err(e) => {
            log::warn!("a stored instance could not be opened: {e}");
            return Ok(false);
        }
    };
    let rq = DimseCommand {
        field: field::C_STORE_RQ,
        message_id: Some(message_id),
        sop_class: Some(instance.sop_class.to_string()),
        sop_instance: Some(instance.sop_uid.to_string()),
        priority: Some(0),
        has_data_set: true,
        move_originator,
        ..DimseCommand::default()
    };
    link.send_command(context, &rq).await?;
    let mut stream = data.stream;
    link.start_data(context);
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => link.push_data(&bytes).await?,
            // A half-sent data set cannot be taken back.
            Err(e) => {
                return Err(LinkError::Lost(format!(
                    "a stored object could not be read: {e}"
                )));
            }
        }
    }
    link.finish_data().await?;
    match link.next_command().await? {
        Some(rsp) if rsp.command.field == field::C_STORE_RSP => Ok(rsp
            .command
            .status
            .is_some_and(|s| s == SUCCESS || s & 0xF000 == 0xB000)),
        Some(other) => Err(LinkError::Protocol(format!(
            "command {:#06x} while a C-STORE response was awaited",
            other.command.field
        ))),
        None => Err(LinkError::Lost("released during a retrieval".into())),
    }
}
