//! Directory views that verify provisioning: users, groups, members, the report, the audit
//! trail and the event feed.

use actix_web::{HttpResponse, get, web};
use domain::ports::{AuditQuery, DirectoryGroup, DirectoryUser, ProvisioningReport, ScimRequest, UserQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{cursor, event_id, limit, next_cursor};
use crate::AdminState;
use crate::auth::Principal;
use crate::problem::Problem;

/// A user with its effective role and groups.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub user_name: String,
    pub display_name: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
    /// The effective role; none means the user cannot sign in.
    pub role: Option<String>,
    pub groups: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<DirectoryUser> for UserDto {
    fn from(u: DirectoryUser) -> Self {
        Self {
            id: u.id,
            user_name: u.user_name,
            display_name: u.display_name,
            external_id: u.external_id,
            active: u.active,
            role: u.role,
            groups: u.groups,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A page of users.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub items: Vec<UserDto>,
    pub next_cursor: Option<String>,
}

/// A group with its member count and mapped role.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupDto {
    pub id: Uuid,
    pub display_name: String,
    pub member_count: u64,
    pub mapped_role: Option<String>,
}

impl From<DirectoryGroup> for GroupDto {
    fn from(g: DirectoryGroup) -> Self {
        Self {
            id: g.id,
            display_name: g.display_name,
            member_count: g.member_count,
            mapped_role: g.mapped_role,
        }
    }
}

/// One logged SCIM request (never a body or a header).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScimRequestDto {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub scim_type: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl From<ScimRequest> for ScimRequestDto {
    fn from(r: ScimRequest) -> Self {
        Self {
            method: r.method,
            path: r.path,
            status: r.status,
            scim_type: r.scim_type,
            at: r.at,
        }
    }
}

/// Whether provisioning worked, at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDto {
    pub users_active: u64,
    pub users_inactive: u64,
    pub groups: u64,
    pub memberships: u64,
    pub users_per_role: std::collections::BTreeMap<String, u64>,
    pub groups_without_mapping: Vec<String>,
    pub users_without_role: Vec<String>,
    pub users_without_role_count: u64,
    pub last_scim_request: Option<ScimRequestDto>,
    pub recent_scim_errors: Vec<ScimRequestDto>,
}

impl From<ProvisioningReport> for ReportDto {
    fn from(r: ProvisioningReport) -> Self {
        Self {
            users_active: r.users_active,
            users_inactive: r.users_inactive,
            groups: r.groups,
            memberships: r.memberships,
            users_per_role: r.users_per_role,
            groups_without_mapping: r.groups_without_mapping,
            users_without_role: r.users_without_role,
            users_without_role_count: r.users_without_role_count,
            last_scim_request: r.last_scim_request.map(ScimRequestDto::from),
            recent_scim_errors: r.recent_scim_errors.into_iter().map(ScimRequestDto::from).collect(),
        }
    }
}

/// A page of events (envelopes of SPEC §8).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
    pub next_cursor: Option<String>,
}

/// User list filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct UserFilter {
    /// Only users with this effective role.
    pub role: Option<String>,
    pub active: Option<bool>,
    /// Text in userName or displayName.
    pub q: Option<String>,
    pub cursor: Option<String>,
    /// 1-200, default 50.
    pub limit: Option<u64>,
}

/// Audit filters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditFilter {
    /// Event type, e.g. `user.deactivated`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// e.g. `admin:am@betatesting.com` or `scim_token:<id>`.
    pub actor: Option<String>,
    /// RFC 3339.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub cursor: Option<String>,
    pub limit: Option<u64>,
}

/// Event feed cursor.
#[derive(Debug, Deserialize, IntoParams)]
pub struct FeedQuery {
    /// The id of the last event already seen.
    pub after: Option<String>,
    pub limit: Option<u64>,
}

/// Users with effective role and groups. Any role.
#[utoipa::path(tag = "directory", params(("t" = String, Path, description = "tenant slug"), UserFilter),
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = UserPage), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/users")]
pub async fn list_users(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
    q: web::Query<UserFilter>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    let q = q.into_inner();
    let limit = limit(q.limit);
    let query = UserQuery {
        role: q.role,
        active: q.active,
        q: q.q,
        after: cursor(q.cursor.as_deref())?,
        limit,
    };
    let items: Vec<UserDto> = state
        .directory
        .users(tenant.id, &query)
        .await?
        .into_iter()
        .map(UserDto::from)
        .collect();
    let next_cursor = next_cursor(&items, limit, |u| Some(u.id.to_string()));
    Ok(HttpResponse::Ok().json(UserPage { items, next_cursor }))
}

/// One user. Any role.
#[utoipa::path(tag = "directory", params(("t" = String, Path, description = "tenant slug"), ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = UserDto), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/users/{id}")]
pub async fn get_user(
    state: web::Data<AdminState>,
    _who: Principal,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (t, id) = path.into_inner();
    let tenant = state.tenant(&t).await?;
    let user = state
        .directory
        .user(tenant.id, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("user {id} not found")))?;
    Ok(HttpResponse::Ok().json(UserDto::from(user)))
}

/// Groups with member counts and mapped role. Any role.
#[utoipa::path(tag = "directory", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<GroupDto>), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/groups")]
pub async fn list_groups(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    let groups: Vec<GroupDto> = state
        .directory
        .groups(tenant.id)
        .await?
        .into_iter()
        .map(GroupDto::from)
        .collect();
    Ok(HttpResponse::Ok().json(groups))
}

/// A group's members. Any role.
#[utoipa::path(tag = "directory", params(("t" = String, Path, description = "tenant slug"), ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<UserDto>), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/groups/{id}/members")]
pub async fn list_members(
    state: web::Data<AdminState>,
    _who: Principal,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (t, id) = path.into_inner();
    let tenant = state.tenant(&t).await?;
    let members = state
        .directory
        .members(tenant.id, id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("group {id} not found")))?;
    Ok(HttpResponse::Ok().json(members.into_iter().map(UserDto::from).collect::<Vec<_>>()))
}

/// Users created, groups synced, roles assigned, and recent SCIM errors, at a glance. Any role.
#[utoipa::path(tag = "directory", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = ReportDto), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/provisioning-report")]
pub async fn provisioning_report(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    Ok(HttpResponse::Ok().json(ReportDto::from(state.directory.report(tenant.id).await?)))
}

/// The audit trail, newest first. Any role.
#[utoipa::path(tag = "audit", params(("t" = String, Path, description = "tenant slug"), AuditFilter), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = EventPage), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/audit-events")]
pub async fn audit_events(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
    q: web::Query<AuditFilter>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    let q = q.into_inner();
    let limit = limit(q.limit);
    let query = AuditQuery {
        kind: q.kind,
        actor: q.actor,
        since: q.since,
        before: cursor(q.cursor.as_deref())?,
        limit,
    };
    let items = state.directory.audit(tenant.id, &query).await?;
    let next_cursor = next_cursor(&items, limit, event_id);
    Ok(HttpResponse::Ok().json(EventPage { items, next_cursor }))
}

/// The event feed, oldest first after a cursor, for systems that poll. Any role.
#[utoipa::path(tag = "audit", params(("t" = String, Path, description = "tenant slug"), FeedQuery), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = EventPage), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/events")]
pub async fn event_feed(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
    q: web::Query<FeedQuery>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    let limit = limit(q.limit);
    let items = state
        .directory
        .feed(tenant.id, cursor(q.after.as_deref())?, limit)
        .await?;
    let next_cursor = next_cursor(&items, limit, event_id);
    Ok(HttpResponse::Ok().json(EventPage { items, next_cursor }))
}
