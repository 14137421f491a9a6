//! Ports: what the protocol surfaces need from storage. Every method takes the tenant first,
//! so no query can forget it; adapters live in the `persistence` crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::DomainError;
use crate::events::Actor;
use crate::filter::Filter;
use crate::patch::PatchOp;
use crate::resource::{Document, Group, User};
use crate::tenant::{SamlIdp, Slug, SsoConnection, Tenant, TenantId};
use crate::token::{NewToken, ScimTokenInfo};

/// A list request (RFC 7644 §3.4.2).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based index of the first result.
    pub start_index: u64,
    /// Page size; 0 asks for the total only.
    pub count: u64,
    /// Whether the multi-valued references (`User.groups`, `Group.members`) are loaded.
    pub load_refs: bool,
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub total: u64,
    pub items: Vec<T>,
}

/// A precondition on the current version (`If-Match`).
pub type IfMatch = Option<i64>;

/// Users of a tenant.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// One live user, with its groups when `load_refs`.
    async fn get(
        &self,
        t: TenantId,
        id: Uuid,
        load_refs: bool,
    ) -> Result<Option<User>, DomainError>;
    /// A filtered, paged list in stable order.
    async fn list(&self, t: TenantId, q: &ListQuery) -> Result<Page<User>, DomainError>;
    /// Creates a user; `Uniqueness` when the userName is taken (case-insensitively).
    async fn insert(&self, t: TenantId, actor: &Actor, doc: Document) -> Result<User, DomainError>;
    /// Replaces a user's document (PUT).
    async fn replace(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        doc: Document,
        if_match: IfMatch,
    ) -> Result<User, DomainError>;
    /// Applies PATCH operations atomically.
    async fn patch(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        ops: &[PatchOp],
        if_match: IfMatch,
    ) -> Result<User, DomainError>;
    /// Tombstones a user and removes its memberships.
    async fn delete(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        if_match: IfMatch,
    ) -> Result<(), DomainError>;
}

/// Groups of a tenant, and memberships.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// One live group, with its members when `load_refs`.
    async fn get(
        &self,
        t: TenantId,
        id: Uuid,
        load_refs: bool,
    ) -> Result<Option<Group>, DomainError>;
    /// A filtered, paged list in stable order.
    async fn list(&self, t: TenantId, q: &ListQuery) -> Result<Page<Group>, DomainError>;
    /// Creates a group with initial members (ids of this tenant's users).
    async fn insert(
        &self,
        t: TenantId,
        actor: &Actor,
        doc: Document,
        members: Vec<String>,
    ) -> Result<Group, DomainError>;
    /// Replaces a group's document and member set (PUT).
    async fn replace(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        doc: Document,
        members: Vec<String>,
        if_match: IfMatch,
    ) -> Result<Group, DomainError>;
    /// Applies PATCH operations atomically; membership operations become set operations.
    async fn patch(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        ops: &[PatchOp],
        if_match: IfMatch,
    ) -> Result<Group, DomainError>;
    /// Deletes a group and its memberships.
    async fn delete(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        if_match: IfMatch,
    ) -> Result<(), DomainError>;
}

/// Tenants and their SSO connections.
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn create(&self, actor: &Actor, slug: Slug, name: String) -> Result<Tenant, DomainError>;
    async fn get_by_slug(&self, slug: &str) -> Result<Option<Tenant>, DomainError>;
    async fn get(&self, id: TenantId) -> Result<Option<Tenant>, DomainError>;
    async fn set_saml(
        &self,
        t: TenantId,
        actor: &Actor,
        idp: SamlIdp,
    ) -> Result<SsoConnection, DomainError>;
    async fn sso_connection(&self, t: TenantId) -> Result<Option<SsoConnection>, DomainError>;
    async fn set_scim_enabled(
        &self,
        t: TenantId,
        actor: &Actor,
        enabled: bool,
    ) -> Result<(), DomainError>;
}

/// The credential a presented token resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub info: ScimTokenInfo,
    pub hash: String,
    pub scim_enabled: bool,
}

/// SCIM bearer tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn insert(
        &self,
        t: TenantId,
        actor: &Actor,
        token: &NewToken,
        label: String,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<ScimTokenInfo, DomainError>;
    async fn list(&self, t: TenantId) -> Result<Vec<ScimTokenInfo>, DomainError>;
    async fn revoke(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
    ) -> Result<ScimTokenInfo, DomainError>;
    /// Revokes every live token of the tenant; returns their ids.
    async fn revoke_all(&self, t: TenantId, actor: &Actor) -> Result<Vec<Uuid>, DomainError>;
    /// The token row by id, across tenants: the token itself names its tenant.
    async fn find(&self, id: Uuid) -> Result<Option<TokenRecord>, DomainError>;
    /// Ids of tokens revoked at or after `since` (for cache eviction across replicas).
    async fn revoked_since(&self, since: DateTime<Utc>) -> Result<Vec<Uuid>, DomainError>;
    /// Records last use times gathered in memory, in one batch.
    async fn touch(&self, used: &[(Uuid, DateTime<Utc>)]) -> Result<(), DomainError>;
}
