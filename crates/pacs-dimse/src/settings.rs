//! What the listener is configured with (`[dimse]`, docs/configuration.md).

use std::time::Duration;

/// Which calling AE titles may open an association with a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallingAePolicy {
    /// Only the AE titles of the tenant's `[[tenants.nodes]]`.
    KnownNodes,
    /// Any calling AE title (for a closed network; the AE is still recorded).
    Any,
}

/// The listener's address and limits.
#[derive(Debug, Clone)]
pub struct ListenerSettings {
    /// `host:port`; port 0 picks a free port.
    pub bind: String,
    /// Associations served at once; more are rejected (transient, local limit
    /// exceeded) so a modality retries later.
    pub max_associations: usize,
    /// An association that sends nothing for this long is aborted.
    pub idle_timeout: Duration,
    /// Largest PDU this archive receives (offered in the A-ASSOCIATE-AC).
    pub max_pdu_length: u32,
    pub calling_ae_policy: CallingAePolicy,
}

impl ListenerSettings {
    /// The defaults of docs/configuration.md on `bind`.
    pub fn new(bind: &str) -> Self {
        Self {
            bind: bind.to_owned(),
            max_associations: 32,
            idle_timeout: Duration::from_secs(60),
            max_pdu_length: 65_536,
            calling_ae_policy: CallingAePolicy::KnownNodes,
        }
    }
}
