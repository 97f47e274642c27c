//! Storage Commitment (PS3.4 J): which of the instances a modality asks
//! about the archive holds, so that it may delete its copies. An instance is
//! committed once indexed: its bytes were durable before its row was written.

use pacs_domain::ids::SopInstanceUid;

use crate::context::{Ports, Tenant};
use crate::error::AppError;

/// Failure Reasons (PS3.4 J.3.2.1.2.1.4).
pub mod reason {
    /// No such object instance.
    pub const NO_SUCH_INSTANCE: u16 = 0x0112;
    /// Class-instance conflict: held, but of another SOP class.
    pub const CLASS_INSTANCE_CONFLICT: u16 = 0x0119;
}

/// A commitment result: the (class, instance) pairs held, and those not with
/// their Failure Reason.
pub type Commitment = (Vec<(String, String)>, Vec<(String, String, u16)>);

/// Checks each (SOP class, SOP instance) the tenant was asked to commit.
pub fn commit(
    ports: &Ports,
    tenant: &Tenant,
    references: &[(String, String)],
) -> Result<Commitment, AppError> {
    let (mut committed, mut failed) = (Vec::new(), Vec::new());
    for (class, instance) in references {
        let held = match SopInstanceUid::new(instance) {
            Ok(sop) => ports.retrieval.locate_instance(&tenant.name, &sop)?,
            Err(_) => None,
        };
        match held {
            Some(i) if i.sop_class.as_str() == class => {
                committed.push((class.clone(), instance.clone()))
            }
            Some(_) => failed.push((
                class.clone(),
                instance.clone(),
                reason::CLASS_INSTANCE_CONFLICT,
            )),
            None => failed.push((class.clone(), instance.clone(), reason::NO_SUCH_INSTANCE)),
        }
    }
    Ok((committed, failed))
}
