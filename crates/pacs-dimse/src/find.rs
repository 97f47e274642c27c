//! C-FIND SCP, Patient Root and Study Root: the identifier's keys go to the
//! same search use case as QIDO-RS; each match is a pending response.

use pacs_app::search::{FindRequest, find};
use pacs_app::worklist::{WorklistRequest, worklist};
use pacs_app::{AppError, ErrorCode};
use pacs_dicom_ops::dimse::DimseCommand;
use pacs_dicom_ops::find::{MAX_IDENTIFIER_BYTES, read_identifier};

use crate::association::Session;
use crate::link::{LinkError, Received};
use crate::status::{CANNOT_UNDERSTAND, Outcome, PENDING};

pub(crate) const PATIENT_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.1.1";
pub(crate) const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";
pub(crate) const MODALITY_WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";

/// Answers one C-FIND-RQ on a Query/Retrieve FIND context.
pub(crate) async fn c_find(
    session: &mut Session,
    rq: Received,
    class: &str,
) -> Result<(), LinkError> {
    let identifier = match session.link.small_data(MAX_IDENTIFIER_BYTES).await? {
        Some(bytes) => bytes,
        None => {
            let too_large = format!("the identifier is larger than {MAX_IDENTIFIER_BYTES} bytes");
            return session
                .respond(&rq, Outcome::failure(CANNOT_UNDERSTAND, too_large))
                .await;
        }
    };
    let transfer_syntax = session.transfer_syntax(rq.context).unwrap_or_default();
    let answers = match matches(session, &identifier, &transfer_syntax, class).await {
        Ok(a) => a,
        Err(e) => return session.respond(&rq, Outcome::from(e)).await,
    };
    for identifier in answers {
        let mut pending = DimseCommand::response_to(&rq.command, PENDING);
        pending.sop_instance = None;
        pending.has_data_set = true;
        session.link.send_command(rq.context, &pending).await?;
        session.link.send_data(rq.context, &identifier).await?;
    }
    let mut done = DimseCommand::response_to(&rq.command, crate::status::SUCCESS);
    done.sop_instance = None;
    session.link.send_command(rq.context, &done).await
}

async fn matches(
    session: &Session,
    identifier: &[u8],
    transfer_syntax: &str,
    class: &str,
) -> Result<Vec<Vec<u8>>, AppError> {
    let keys = read_identifier(identifier, transfer_syntax)?;
    let (ports, tenant, ts) = (
        session.ports.clone(),
        session.tenant.clone(),
        transfer_syntax.to_owned(),
    );
    if class == MODALITY_WORKLIST_FIND {
        return tokio::task::spawn_blocking(move || {
            worklist(
                &ports,
                &tenant,
                &WorklistRequest {
                    keys: &keys,
                    transfer_syntax: &ts,
                },
            )
        })
        .await
        .map_err(|e| AppError::internal_from("the worklist query stopped", e))?;
    }
    let level = keys.level.clone().ok_or_else(|| {
        AppError::invalid(
            ErrorCode::InvalidQuery,
            "the identifier has no QueryRetrieveLevel",
        )
    })?;
    let study_root = class == STUDY_ROOT_FIND;
    // The search use case is blocking (the database port).
    tokio::task::spawn_blocking(move || {
        find(
            &ports,
            &tenant,
            &FindRequest {
                level: &level,
                keys: &keys.keys,
                study_root,
                transfer_syntax: &ts,
            },
        )
    })
    .await
    .map_err(|e| AppError::internal_from("the search stopped", e))?
}
