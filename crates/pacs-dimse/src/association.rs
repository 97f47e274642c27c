//! One association from negotiation to release: who called, for which tenant,
//! and the loop that answers each command in turn.

use std::sync::Arc;

use dicom_ul::association::Association;
use dicom_ul::association::server::{Negotiation, ServerAssociationOptions};
use dicom_ul::pdu::{PresentationContextResultReason, RequestorRoles};
use pacs_app::{Ports, Tenant};
use pacs_dicom_ops::dimse::{DimseCommand, field};
use pacs_domain::ids::AeTitle;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::access::Access;
use crate::directory::{Directory, Node};
use crate::link::{Link, LinkError, Received};
use crate::settings::ListenerSettings;
use crate::status::{Outcome, SOP_CLASS_NOT_SUPPORTED, UNRECOGNIZED_OPERATION};

const VERIFICATION: &str = "1.2.840.10008.1.1";

/// What every association shares.
pub(crate) struct Shared {
    pub ports: Ports,
    pub directory: Arc<Directory>,
    pub settings: ListenerSettings,
}

/// An established association and the tenant it acts for.
pub(crate) struct Session {
    pub link: Link,
    pub ports: Ports,
    pub tenant: Tenant,
    /// The tenant's nodes (C-MOVE destinations).
    pub nodes: Vec<Node>,
    pub calling: AeTitle,
    pub settings: ListenerSettings,
}

impl Session {
    /// The transfer syntax accepted for presentation context `id`.
    pub fn transfer_syntax(&self, id: u8) -> Option<String> {
        self.link
            .contexts()
            .iter()
            .find(|pc| pc.id == id && pc.reason == PresentationContextResultReason::Acceptance)
            .map(|pc| pc.transfer_syntax.trim_end_matches(['\0', ' ']).to_owned())
    }

    /// The abstract syntax (SOP class) of presentation context `id`.
    fn abstract_syntax(&self, id: u8) -> Option<String> {
        self.link
            .contexts()
            .iter()
            .find(|pc| pc.id == id)
            .map(|pc| pc.abstract_syntax.trim_end_matches(['\0', ' ']).to_owned())
    }

    /// Answers `rq` with `outcome` (no data set).
    pub async fn respond(&mut self, rq: &Received, outcome: Outcome) -> Result<(), LinkError> {
        let mut rsp = DimseCommand::response_to(&rq.command, outcome.status);
        rsp.error_comment = outcome.comment;
        self.link.send_command(rq.context, &rsp).await
    }
}

/// Grants the roles a requestor asks for: C-GET sends its instances back as
/// C-STORE requests, which the requestor answers as an SCP.
struct GrantRoles;

impl Negotiation for GrantRoles {
    fn negotiate_roles(&self, _sop_class: &str, scu: bool, scp: bool) -> Option<RequestorRoles> {
        Some(RequestorRoles { scu, scp })
    }
}

/// Serves one connection until it is released, aborted, idle too long, or the
/// archive stops.
pub(crate) async fn serve(socket: TcpStream, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let peer = socket
        .peer_addr()
        .map_or_else(|_| "?".into(), |a| a.to_string());
    let s = &shared.settings;
    // Every SOP class is accepted (promiscuous): a storage SOP class is stored
    // like STOW-RS stores it; a service not given here answers 0x0122.
    let options = ServerAssociationOptions::new()
        .ae_access_control(Access {
            directory: shared.directory.clone(),
            policy: s.calling_ae_policy,
        })
        .promiscuous(true)
        // A C-GET SCU asks to be the storage SCP of the classes it retrieves.
        .with_negotiation(GrantRoles)
        .max_pdu_length(s.max_pdu_length)
        .read_timeout(s.idle_timeout)
        .write_timeout(s.idle_timeout);
    let established = tokio::select! {
        a = options.establish_async(socket) => a,
        // A connection still negotiating is dropped when the archive stops.
        _ = stop.changed() => return,
    };
    let assoc = match established {
        Ok(a) => a,
        Err(e) => {
            log::info!("association from {peer} not established: {e}");
            return;
        }
    };
    let (Some(tenant), Ok(calling)) = (
        shared.directory.called(assoc.called_ae_title()).cloned(),
        AeTitle::new(assoc.peer_ae_title()),
    ) else {
        // The access control admitted it, so this does not happen.
        let _ = assoc.abort().await;
        return;
    };
    log::info!(
        "association from {calling} ({peer}) to {} of tenant {}",
        tenant.tenant.ae_title,
        tenant.tenant.name
    );
    let mut session = Session {
        link: Link::new(assoc),
        ports: shared.ports.clone(),
        tenant: tenant.tenant,
        nodes: tenant.nodes,
        calling,
        settings: shared.settings.clone(),
    };
    let ended = loop {
        let next = tokio::select! {
            next = session.link.next_command() => next,
            _ = stop.changed() => break Err(LinkError::Lost("the archive is stopping".into())),
        };
        let rq = match next {
            Ok(Some(rq)) => rq,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        if let Err(e) = answer(&mut session, rq).await {
            break Err(e);
        }
    };
    match ended {
        Ok(()) => log::info!("association from {} released", session.calling),
        Err(e) => {
            log::info!("association from {} ended: {e}", session.calling);
            session.link.abort().await;
        }
    }
}

/// Answers one request.
async fn answer(session: &mut Session, rq: Received) -> Result<(), LinkError> {
    let class = session.abstract_syntax(rq.context).unwrap_or_default();
    match rq.command.field {
        field::C_ECHO_RQ if class == VERIFICATION => session.respond(&rq, Outcome::success()).await,
        field::C_STORE_RQ => crate::store::c_store(session, rq).await,
        field::C_FIND_RQ
            if [
                crate::find::PATIENT_ROOT_FIND,
                crate::find::STUDY_ROOT_FIND,
                crate::find::MODALITY_WORKLIST_FIND,
            ]
            .contains(&class.as_str()) =>
        {
            crate::find::c_find(session, rq, &class).await
        }
        field::C_GET_RQ
            if class == crate::get::PATIENT_ROOT_GET || class == crate::get::STUDY_ROOT_GET =>
        {
            crate::get::c_get(session, rq).await
        }
        field::C_MOVE_RQ
            if class == crate::moves::PATIENT_ROOT_MOVE
                || class == crate::moves::STUDY_ROOT_MOVE =>
        {
            crate::moves::c_move(session, rq).await
        }
        field::N_ACTION_RQ if class == crate::commit::STORAGE_COMMITMENT => {
            crate::commit::n_action(session, rq).await
        }
        // Nothing is in progress to cancel when a request is read, and a
        // C-CANCEL has no response.
        field::C_CANCEL_RQ => Ok(()),
        field::C_ECHO_RQ | field::C_FIND_RQ | field::C_MOVE_RQ | field::C_GET_RQ => {
            session.link.drain_data().await?;
            let outcome = Outcome::failure(
                SOP_CLASS_NOT_SUPPORTED,
                format!("SOP class {class} is not supported for this service"),
            );
            session.respond(&rq, outcome).await
        }
        other => {
            session.link.drain_data().await?;
            log::info!("unsupported DIMSE command field {other:#06x}");
            let outcome = Outcome::failure(
                UNRECOGNIZED_OPERATION,
                format!("command field {other:#06x} is not supported"),
            );
            session.respond(&rq, outcome).await
        }
    }
}
