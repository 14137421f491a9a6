//! The provisioning domain: tenants, users, groups, tokens and events as plain values; the SCIM
//! schema table; the SCIM filter and PATCH syntax trees with their pure engines; and the ports
//! (traits) that storage adapters implement.
//!
//! This crate must never import actix, sea-orm, sqlx, redis, utoipa or config: the test script
//! proves it with `cargo tree`. Everything here is testable without I/O.

pub mod error;
pub mod events;
pub mod filter;
pub mod membership;
pub mod patch;
pub mod ports;
pub mod resource;
pub mod roles;
pub mod saml_metadata;
pub mod schema;
pub mod tenant;
pub mod token;
pub mod webhooks;

pub use error::DomainError;
