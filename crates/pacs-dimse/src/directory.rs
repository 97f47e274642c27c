//! The tenants as the network sees them: the called AE title selects the
//! tenant, its nodes are the peers it accepts calls from (and sends to).

use pacs_app::Tenant;
use pacs_domain::ids::AeTitle;

/// A known DICOM peer of a tenant (`[[tenants.nodes]]`).
#[derive(Debug, Clone)]
pub struct Node {
    pub ae_title: AeTitle,
    /// Where C-MOVE and forwarding reach it; a node without an address only calls in.
    pub host: Option<String>,
    pub port: Option<u16>,
}

/// One tenant and its nodes.
#[derive(Debug, Clone)]
pub struct TenantNodes {
    pub tenant: Tenant,
    pub nodes: Vec<Node>,
}

/// Every tenant reachable over the network, by its AE title.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    tenants: Vec<TenantNodes>,
}

impl Directory {
    /// Tenants must have distinct AE titles (the configuration checks it).
    pub fn new(tenants: Vec<TenantNodes>) -> Self {
        Self { tenants }
    }

    /// The tenant whose archive AE title is `called`.
    pub fn called(&self, called: &str) -> Option<&TenantNodes> {
        let called = AeTitle::new(called).ok()?;
        self.tenants.iter().find(|t| t.tenant.ae_title == called)
    }
}

impl TenantNodes {
    /// The node with AE title `ae`, if the tenant knows it.
    pub fn node(&self, ae: &str) -> Option<&Node> {
        let ae = AeTitle::new(ae).ok()?;
        self.nodes.iter().find(|n| n.ae_title == ae)
    }
}
