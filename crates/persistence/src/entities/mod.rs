//! sea-orm entities, one module per table, mirroring the migrations exactly.

pub mod audit_events;
pub mod group_memberships;
pub mod groups;
pub mod outbox;
pub mod role_mappings;
pub mod scim_request_log;
pub mod scim_tokens;
pub mod sso_connections;
pub mod tenants;
pub mod user_emails;
pub mod user_roles;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;
