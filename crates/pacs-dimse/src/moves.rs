//! C-MOVE SCP: the located instances go by C-STORE, on an association the
//! archive opens, to the destination named in the request, which must be one
//! of the tenant's nodes with an address (else 0xA801).

use std::collections::BTreeSet;

use dicom_ul::ClientAssociationOptions;
use pacs_dicom_ops::dimse::SubOperations;
use pacs_dicom_ops::find::MAX_IDENTIFIER_BYTES;

use crate::association::Session;
use crate::get::{counted, finished, located, progressed, store_on_peer};
use crate::link::{Link, LinkError, Received};
use crate::status::{CANNOT_UNDERSTAND, MOVE_DESTINATION_UNKNOWN, Outcome, SUB_OPERATIONS_FAILED};

pub(crate) const PATIENT_ROOT_MOVE: &str = "1.2.840.10008.5.1.4.1.2.1.2";
pub(crate) const STUDY_ROOT_MOVE: &str = "1.2.840.10008.5.1.4.1.2.2.2";

/// Answers one C-MOVE-RQ.
pub(crate) async fn c_move(session: &mut Session, rq: Received) -> Result<(), LinkError> {
    let Some(identifier) = session.link.small_data(MAX_IDENTIFIER_BYTES).await? else {
        let too_large = format!("the identifier is larger than {MAX_IDENTIFIER_BYTES} bytes");
        return session
            .respond(&rq, Outcome::failure(CANNOT_UNDERSTAND, too_large))
            .await;
    };
    let destination = rq.command.move_destination.clone().unwrap_or_default();
    let node = session
        .nodes
        .iter()
        .find(|n| n.ae_title.as_str() == destination.trim())
        .and_then(|n| Some((n.ae_title.clone(), n.host.clone()?, n.port?)));
    let Some((dest_ae, host, port)) = node else {
        let unknown = format!("move destination {destination:?} is not a node of this archive");
        return session
            .respond(&rq, Outcome::failure(MOVE_DESTINATION_UNKNOWN, unknown))
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
    if !instances.is_empty() {
        // One context per SOP class and stored transfer syntax: nothing is transcoded.
        let contexts: BTreeSet<(String, String)> = instances
            .iter()
            .map(|i| (i.sop_class.to_string(), i.transfer_syntax.to_string()))
            .collect();
        let mut options = ClientAssociationOptions::new()
            .calling_ae_title(session.tenant.ae_title.as_str().to_owned())
            .called_ae_title(dest_ae.as_str().to_owned())
            .max_pdu_length(session.settings.max_pdu_length)
            .connection_timeout(session.settings.idle_timeout)
            .read_timeout(session.settings.idle_timeout)
            .write_timeout(session.settings.idle_timeout);
        for (class, ts) in contexts {
            options = options.with_presentation_context(class, vec![ts]);
        }
        let mut out = match options.establish_async((host.as_str(), port)).await {
            Ok(mut a) => {
                if let Err(e) = a.inner_stream().set_nodelay(true) {
                    log::warn!("TCP_NODELAY: {e}");
                }
                Link::new(a)
            }
            Err(e) => {
                log::warn!("C-MOVE: destination {dest_ae} at {host}:{port} not reached: {e}");
                counts.failed = counts.remaining;
                counts.remaining = 0;
                let mut done = counted(&rq, SUB_OPERATIONS_FAILED, counts);
                done.error_comment = Some(format!("move destination {dest_ae} not reached"));
                return session.link.send_command(rq.context, &done).await;
            }
        };
        let originator = (
            session.calling.as_str().to_owned(),
            rq.command.message_id.unwrap_or(0),
        );
        for (n, instance) in instances.iter().enumerate() {
            let id = u16::try_from(n % 0xFFFF + 1).unwrap_or(1);
            let stored = match store_on_peer(
                &mut out,
                &session.ports,
                instance,
                id,
                Some(originator.clone()),
            )
            .await
            {
                Ok(s) => s,
                Err(e) => {
                    // The destination broke off: the rest fail too.
                    log::warn!("C-MOVE to {dest_ae}: {e}");
                    counts.failed += counts.remaining;
                    counts.remaining = 0;
                    break;
                }
            };
            progressed(session, &rq, &mut counts, stored).await?;
        }
        if let Err(e) = out.release().await {
            log::info!("C-MOVE: release by {dest_ae}: {e}");
        }
    }
    finished(session, &rq, counts).await
}
