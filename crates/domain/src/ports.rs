//! Ports: what the protocol surfaces need from storage. Every method takes the tenant first,
//! so no query can forget it; adapters live in the `persistence` crate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::DomainError;
use crate::events::Actor;
use crate::filter::{AttrPath, Filter};
use crate::patch::PatchOp;
use crate::resource::{Document, Group, User};
use crate::roles::RoleMapping;
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
    /// `sortBy` (RFC 7644 §3.4.2.3); `None` is the stable default order (by id).
    pub sort_by: Option<AttrPath>,
    /// `sortOrder=descending`.
    pub descending: bool,
    /// RFC 9865 cursor paging; when set, `start_index` is ignored.
    pub cursor: Option<CursorRequest>,
    /// A query over several resource types (`POST /.search` at the root, RFC 7644 §3.4.2.1):
    /// an attribute this resource type does not define has no value, instead of being an error.
    pub unknown_attributes_absent: bool,
}

/// The value of the sort key of one resource, as a cursor carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Text(String),
    Time(DateTime<Utc>),
    Bool(bool),
}

/// A position between two resources in a sorted list: the sort key (absent when the resource
/// has no value for the `sortBy` attribute, or when sorting by id) and the id.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPos {
    pub key: Option<SortValue>,
    pub id: Uuid,
}

/// Which page an RFC 9865 cursor asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum CursorRequest {
    /// `cursor=` with an empty value: the first page.
    First,
    /// The page that follows a position (`nextCursor`).
    After(CursorPos),
    /// The page that precedes a position (`previousCursor`).
    Before(CursorPos),
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub total: u64,
    pub items: Vec<T>,
    /// With cursor paging: where the next page starts, when there is one.
    pub next: Option<CursorPos>,
    /// With cursor paging: where the previous page ends, when there is one.
    pub previous: Option<CursorPos>,
}

/// A precondition on the current version (`If-Match`).
pub type IfMatch = Option<i64>;

/// Users of a tenant.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// One live user, with its groups when `load_refs`.
    async fn get(&self, t: TenantId, id: Uuid, load_refs: bool) -> Result<Option<User>, DomainError>;
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
    async fn delete(&self, t: TenantId, actor: &Actor, id: Uuid, if_match: IfMatch) -> Result<(), DomainError>;
}

/// Groups of a tenant, and memberships.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// One live group, with its members when `load_refs`.
    async fn get(&self, t: TenantId, id: Uuid, load_refs: bool) -> Result<Option<Group>, DomainError>;
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
    async fn delete(&self, t: TenantId, actor: &Actor, id: Uuid, if_match: IfMatch) -> Result<(), DomainError>;
}

/// Tenants and their SSO connections.
#[async_trait]
pub trait TenantStore: Send + Sync {
    async fn create(&self, actor: &Actor, slug: Slug, name: String) -> Result<Tenant, DomainError>;
    async fn get_by_slug(&self, slug: &str) -> Result<Option<Tenant>, DomainError>;
    async fn set_saml(&self, t: TenantId, actor: &Actor, idp: SamlIdp) -> Result<SsoConnection, DomainError>;
    async fn sso_connection(&self, t: TenantId) -> Result<Option<SsoConnection>, DomainError>;
    async fn set_scim_enabled(&self, t: TenantId, actor: &Actor, enabled: bool) -> Result<(), DomainError>;
    /// Tenants ordered by id, after a cursor (exclusive).
    async fn list(&self, after: Option<TenantId>, limit: u64) -> Result<Vec<Tenant>, DomainError>;
    /// Renames and/or suspends a tenant.
    async fn update(
        &self,
        t: TenantId,
        actor: &Actor,
        name: Option<String>,
        status: Option<crate::tenant::TenantStatus>,
    ) -> Result<Tenant, DomainError>;
    /// Stores an OIDC connection (SCIM goes off: OIDC cannot carry it).
    async fn set_oidc(
        &self,
        t: TenantId,
        actor: &Actor,
        config: serde_json::Value,
    ) -> Result<SsoConnection, DomainError>;
    /// Sets (or clears) the connection's default role and recomputes every user's role.
    async fn set_default_role(&self, t: TenantId, actor: &Actor, role: Option<String>) -> Result<(), DomainError>;
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
    async fn revoke(&self, t: TenantId, actor: &Actor, id: Uuid) -> Result<ScimTokenInfo, DomainError>;
    /// Revokes every live token of the tenant; returns their ids.
    async fn revoke_all(&self, t: TenantId, actor: &Actor) -> Result<Vec<Uuid>, DomainError>;
    /// The token row by id, across tenants: the token itself names its tenant.
    async fn find(&self, id: Uuid) -> Result<Option<TokenRecord>, DomainError>;
    /// Ids of tokens revoked at or after `since` (for cache eviction across replicas).
    async fn revoked_since(&self, since: DateTime<Utc>) -> Result<Vec<Uuid>, DomainError>;
    /// Records last use times gathered in memory, in one batch.
    async fn touch(&self, used: &[(Uuid, DateTime<Utc>)]) -> Result<(), DomainError>;
}

/// Role mappings and effective roles.
#[async_trait]
pub trait RoleStore: Send + Sync {
    /// The tenant's mappings, by group name.
    async fn mappings(&self, t: TenantId) -> Result<Vec<RoleMapping>, DomainError>;
    /// Replaces all mappings and recomputes every affected user's role in the same transaction.
    async fn replace_mappings(
        &self,
        t: TenantId,
        actor: &Actor,
        mappings: Vec<RoleMapping>,
    ) -> Result<Vec<RoleMapping>, DomainError>;
    /// Each user's role now and under the proposed mappings (nothing is written).
    async fn preview(&self, t: TenantId, proposed: &[RoleMapping]) -> Result<Vec<RoleChange>, DomainError>;
}

/// One user's role before and after a proposed mapping change.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoleChange {
    pub user_id: Uuid,
    pub user_name: String,
    pub current: Option<String>,
    pub proposed: Option<String>,
}

/// A user as account managers see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DirectoryUser {
    pub id: Uuid,
    pub user_name: String,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
    pub role: Option<String>,
    pub groups: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A group as account managers see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DirectoryGroup {
    pub id: Uuid,
    pub display_name: String,
    pub member_count: u64,
    pub mapped_role: Option<String>,
}

/// Filters for the directory's user list.
#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub role: Option<String>,
    pub active: Option<bool>,
    pub q: Option<String>,
    pub after: Option<Uuid>,
    pub limit: u64,
}

/// Filters for the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub before: Option<Uuid>,
    pub limit: u64,
}

/// Read-only views for the admin API.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    async fn users(&self, t: TenantId, q: &UserQuery) -> Result<Vec<DirectoryUser>, DomainError>;
    async fn user(&self, t: TenantId, id: Uuid) -> Result<Option<DirectoryUser>, DomainError>;
    async fn groups(&self, t: TenantId) -> Result<Vec<DirectoryGroup>, DomainError>;
    async fn members(&self, t: TenantId, group: Uuid) -> Result<Option<Vec<DirectoryUser>>, DomainError>;
    /// Events, newest first, filtered, before a cursor (exclusive).
    async fn audit(&self, t: TenantId, q: &AuditQuery) -> Result<Vec<serde_json::Value>, DomainError>;
    /// Counts and gaps that show at a glance whether provisioning worked.
    async fn report(&self, t: TenantId) -> Result<ProvisioningReport, DomainError>;
    /// Events oldest first after a cursor (the feed).
    async fn feed(&self, t: TenantId, after: Option<Uuid>, limit: u64) -> Result<Vec<serde_json::Value>, DomainError>;
}

/// The provisioning report of SPEC §9.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct ProvisioningReport {
    pub users_active: u64,
    pub users_inactive: u64,
    pub groups: u64,
    pub memberships: u64,
    pub users_per_role: std::collections::BTreeMap<String, u64>,
    /// Pushed groups whose display name no role mapping names.
    pub groups_without_mapping: Vec<String>,
    /// Active users without a role (they cannot sign in); at most 100 listed.
    pub users_without_role: Vec<String>,
    pub users_without_role_count: u64,
    pub last_scim_request: Option<ScimRequest>,
    pub recent_scim_errors: Vec<ScimRequest>,
}

/// One SCIM request as logged for the report (never a body or a header).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScimRequest {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub at: DateTime<Utc>,
}

/// The SCIM request log behind the report.
#[async_trait]
pub trait RequestLog: Send + Sync {
    /// Records a batch of requests in one write.
    async fn record(&self, batch: Vec<(TenantId, ScimRequest)>) -> Result<(), DomainError>;
}

/// Tenant webhook endpoints and their deliveries.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers an endpoint with its signing secret (stored to sign; never returned again).
    async fn create(
        &self,
        t: TenantId,
        actor: &Actor,
        url: String,
        event_types: Vec<String>,
        secret: String,
    ) -> Result<crate::webhooks::Webhook, DomainError>;
    async fn list(&self, t: TenantId) -> Result<Vec<crate::webhooks::Webhook>, DomainError>;
    /// Removes an endpoint and its deliveries.
    async fn delete(&self, t: TenantId, actor: &Actor, id: Uuid) -> Result<(), DomainError>;
    /// An endpoint's deliveries, newest first; `None` when the endpoint does not exist.
    async fn deliveries(
        &self,
        t: TenantId,
        webhook: Uuid,
        limit: u64,
    ) -> Result<Option<Vec<crate::webhooks::Delivery>>, DomainError>;
    /// Queues a delivery again, attempts reset.
    async fn replay(
        &self,
        t: TenantId,
        actor: &Actor,
        webhook: Uuid,
        delivery: Uuid,
    ) -> Result<crate::webhooks::Delivery, DomainError>;
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptOutcome {
    pub succeeded: bool,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// When to try again; `None` after the last attempt (the delivery goes dead).
    pub retry_at: Option<DateTime<Utc>>,
}

/// What the worker needs from storage.
#[async_trait]
pub trait EventProcessor: Send + Sync {
    /// Moves up to `limit` unprocessed outbox events into the audit trail (idempotent on the
    /// event id) and queues their webhook deliveries; returns how many events it processed.
    async fn process_outbox(&self, limit: u64) -> Result<u64, DomainError>;
    /// Claims up to `limit` deliveries due now, leasing each until `lease_until`.
    async fn claim_deliveries(
        &self,
        limit: u64,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<crate::webhooks::DueDelivery>, DomainError>;
    /// Records an attempt.
    async fn record_attempt(&self, delivery: Uuid, outcome: AttemptOutcome) -> Result<(), DomainError>;
}
