//! Who may open an association: the called AE title must be a tenant's, the
//! calling AE title one of that tenant's nodes (unless the policy is `Any`).

use std::sync::Arc;

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{AssociationRJServiceUserReason, UserIdentity};

use crate::directory::Directory;
use crate::settings::CallingAePolicy;

pub(crate) struct Access {
    pub directory: Arc<Directory>,
    pub policy: CallingAePolicy,
}

impl AccessControl for Access {
    fn check_access(
        &self,
        _this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        let Some(tenant) = self.directory.called(called_ae_title) else {
            log::info!("association refused: called AE title {called_ae_title:?} is no tenant's");
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        };
        if self.policy == CallingAePolicy::KnownNodes && tenant.node(calling_ae_title).is_none() {
            log::info!(
                "association refused: calling AE title {calling_ae_title:?} is not a node of tenant {}",
                tenant.tenant.name
            );
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}
