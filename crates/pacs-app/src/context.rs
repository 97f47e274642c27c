//! What every use case works with: the tenant, the ports and the media.

use std::collections::HashMap;
use std::sync::Arc;

use pacs_domain::ids::{AeTitle, TenantName};
use pacs_domain::model::MediumName;
use pacs_domain::ports::{
    BlobStore, CorrectionStore, DeprecationStore, EventLog, InstanceIndex, OrderStore, QueryIndex,
    RelocationStore, RetrieveIndex, StudyCounter,
};

use crate::in_flight::InFlight;

use crate::error::AppError;

/// The tenant a request acts for (selected by its API key).
#[derive(Debug, Clone)]
pub struct Tenant {
    pub name: TenantName,
    /// The archive's AE title for this tenant (QIDO/WADO path, DIMSE called AET).
    pub ae_title: AeTitle,
}

/// The storage media by name, and the one new objects go to.
#[derive(Debug, Clone)]
pub struct Media {
    by_name: HashMap<MediumName, Arc<dyn BlobStore>>,
    default: MediumName,
}

impl Media {
    pub fn new(media: Vec<Arc<dyn BlobStore>>, default: MediumName) -> Result<Self, String> {
        let by_name: HashMap<_, _> = media.into_iter().map(|m| (m.name().clone(), m)).collect();
        if !by_name.contains_key(&default) {
            return Err(format!("default medium {default} is not configured"));
        }
        Ok(Self { by_name, default })
    }

    pub fn default_medium(&self) -> &Arc<dyn BlobStore> {
        &self.by_name[&self.default]
    }

    /// A configured medium by name, if there is one.
    pub fn find(&self, name: &MediumName) -> Option<&Arc<dyn BlobStore>> {
        self.by_name.get(name)
    }

    pub fn get(&self, name: &MediumName) -> Result<&Arc<dyn BlobStore>, AppError> {
        self.find(name)
            .ok_or_else(|| AppError::internal(format!("medium {name} is not configured")))
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn BlobStore>> {
        self.by_name.values()
    }
}

/// The ports the use cases run against. The database adapter implements all the
/// repository roles; they are kept apart so each use case names what it needs.
#[derive(Clone)]
pub struct Ports {
    pub instances: Arc<dyn InstanceIndex>,
    pub queries: Arc<dyn QueryIndex>,
    pub retrieval: Arc<dyn RetrieveIndex>,
    pub events: Arc<dyn EventLog>,
    pub counter: Arc<dyn StudyCounter>,
    pub deprecations: Arc<dyn DeprecationStore>,
    pub corrections: Arc<dyn CorrectionStore>,
    pub orders: Arc<dyn OrderStore>,
    pub relocations: Arc<dyn RelocationStore>,
    pub media: Media,
    /// Changes in progress in this process (deprecations), to refuse a second
    /// one on the same data while the first runs.
    pub in_flight: InFlight,
    /// Decoding limits and the cache of rendered images.
    pub rendering: crate::renderer::Rendering,
    /// What one request may cost.
    pub limits: crate::Limits,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports")
            .field("media", &self.media)
            .finish_non_exhaustive()
    }
}
