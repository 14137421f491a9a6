//! The role catalogue and tenants' role mappings.

use actix_web::{HttpResponse, get, post, put, web};
use domain::ports::RoleChange;
use domain::roles::RoleMapping;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AdminState;
use crate::auth::Principal;
use crate::problem::Problem;

/// A role of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleDto {
    pub key: String,
    pub name: String,
    /// Higher wins when a user is in several mapped groups.
    pub precedence: i32,
    /// Where users with this role land after SSO.
    pub landing_path: String,
}

/// One mapping: a pushed group (by display name) to a role key.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingDto {
    pub group: String,
    pub role: String,
}

/// One user's role now and under a proposed mapping.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewRow {
    pub user_id: Uuid,
    pub user_name: String,
    pub current: Option<String>,
    pub proposed: Option<String>,
    pub changes: bool,
}

impl From<RoleChange> for PreviewRow {
    fn from(c: RoleChange) -> Self {
        Self {
            changes: c.current != c.proposed,
            user_id: c.user_id,
            user_name: c.user_name,
            current: c.current,
            proposed: c.proposed,
        }
    }
}

fn to_domain(list: Vec<MappingDto>) -> Vec<RoleMapping> {
    list.into_iter()
        .map(|m| RoleMapping {
            group: m.group,
            role: m.role,
        })
        .collect()
}

fn to_dto(list: Vec<RoleMapping>) -> Vec<MappingDto> {
    list.into_iter()
        .map(|m| MappingDto {
            group: m.group,
            role: m.role,
        })
        .collect()
}

/// The role catalogue, highest precedence first. Any role.
#[utoipa::path(tag = "roles", security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<RoleDto>), (status = 401, description = "Missing or invalid admin token", body = Problem)))]
#[get("/roles")]
pub async fn list_roles(state: web::Data<AdminState>, _who: Principal) -> HttpResponse {
    let roles: Vec<RoleDto> = state
        .catalogue
        .roles()
        .into_iter()
        .map(|r| RoleDto {
            key: r.key.clone(),
            name: r.name.clone(),
            precedence: r.precedence,
            landing_path: r.landing_path.clone(),
        })
        .collect();
    HttpResponse::Ok().json(roles)
}

/// The tenant's mappings. Any role.
#[utoipa::path(tag = "roles", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<MappingDto>), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/role-mappings")]
pub async fn get_role_mappings(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    Ok(HttpResponse::Ok().json(to_dto(state.roles.mappings(tenant.id).await?)))
}

/// Replaces all mappings; every user's role is recomputed in the same transaction.
/// Role: account_manager or admin.
#[utoipa::path(tag = "roles", params(("t" = String, Path, description = "tenant slug")), request_body = Vec<MappingDto>,
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<MappingDto>), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[put("/tenants/{t}/role-mappings")]
pub async fn put_role_mappings(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
    body: web::Json<Vec<MappingDto>>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    let stored = state
        .roles
        .replace_mappings(tenant.id, &who.actor(), to_domain(body.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(to_dto(stored)))
}

/// For a proposed mapping list, each user's role now and after (nothing is written). Any role.
#[utoipa::path(tag = "roles", params(("t" = String, Path, description = "tenant slug")), request_body = Vec<MappingDto>,
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<PreviewRow>), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 404, description = "Not found", body = Problem)))]
#[post("/tenants/{t}/role-mappings/preview")]
pub async fn preview_role_mappings(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
    body: web::Json<Vec<MappingDto>>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    let rows: Vec<PreviewRow> = state
        .roles
        .preview(tenant.id, &to_domain(body.into_inner()))
        .await?
        .into_iter()
        .map(PreviewRow::from)
        .collect();
    Ok(HttpResponse::Ok().json(rows))
}
