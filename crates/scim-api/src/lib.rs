//! The SCIM 2.0 HTTP surface (RFC 7643, RFC 7644) that tenants' identity providers call,
//! mounted under `/api/scim/v2` on the public listener. The bearer token alone names the
//! tenant; handlers take a [`auth::TenantContext`] and never read a tenant from the path.
//!
//! Must never import sea-orm or redis: storage comes in through the domain ports.

pub mod auth;
pub mod body;
pub mod cursor;
pub mod error;
pub mod metrics;
pub mod render;
pub mod request_log;
pub mod routes;
pub mod telemetry;

use std::sync::Arc;

use domain::ports::{GroupStore, UserStore};

pub use routes::configure;

/// Everything the SCIM handlers need.
pub struct ScimState {
    pub users: Arc<dyn UserStore>,
    pub groups: Arc<dyn GroupStore>,
    pub auth: Arc<auth::TokenAuth>,
    /// The SCIM base URL as the IdP sees it, e.g. `https://host/api/scim/v2`.
    pub base_url: String,
    /// The largest page a list returns (`filter.maxResults`).
    pub max_results: u64,
    /// The largest request body accepted (RFC 7644 `bulk.maxPayloadSize` is separate).
    pub max_body_bytes: usize,
    /// Where method, path, status and scimType of each authenticated request are recorded.
    pub request_log: Option<request_log::RequestLogger>,
}

/// The base path of the SCIM API.
pub const BASE_PATH: &str = "/api/scim/v2";
