//! Tenants: create, list, read, rename and suspend.

use actix_web::{HttpResponse, get, patch, post, web};
use domain::tenant::{Slug, Tenant, TenantId, TenantStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{cursor, limit, next_cursor};
use crate::AdminState;
use crate::auth::Principal;
use crate::problem::Problem;

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantDto {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Tenant> for TenantDto {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id.0,
            slug: t.slug.to_string(),
            name: t.name,
            status: t.status.as_str().into(),
            created_at: t.created_at,
        }
    }
}

/// `POST /tenants` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    /// URL-safe: 2-63 of `a-z`, `0-9`, `-`, starting with a letter.
    pub slug: String,
    pub name: String,
}

/// `PATCH /tenants/{t}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub name: Option<String>,
    /// `active` or `suspended`.
    pub status: Option<String>,
}

/// A page of tenants.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    pub items: Vec<TenantDto>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Cursor paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    pub cursor: Option<String>,
    /// 1-200, default 50.
    pub limit: Option<u64>,
}

/// Creates a tenant. Role: account_manager or admin.
#[utoipa::path(tag = "tenants", request_body = NewTenant, security(("bearer" = [])),
    responses((status = 201, description = "Created", body = TenantDto), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 409, description = "slug taken", body = Problem)))]
#[post("/tenants")]
pub async fn create_tenant(
    state: web::Data<AdminState>,
    who: Principal,
    body: web::Json<NewTenant>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let body = body.into_inner();
    let t = state
        .tenants
        .create(&who.actor(), Slug::parse(&body.slug)?, body.name)
        .await?;
    Ok(HttpResponse::Created().json(TenantDto::from(t)))
}

/// Lists tenants by cursor. Any role.
#[utoipa::path(tag = "tenants", params(PageQuery), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = TenantPage), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem)))]
#[get("/tenants")]
pub async fn list_tenants(
    state: web::Data<AdminState>,
    _who: Principal,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, Problem> {
    let limit = limit(q.limit);
    let after = cursor(q.cursor.as_deref())?.map(TenantId);
    let items = state.tenants.list(after, limit).await?;
    let next_cursor = next_cursor(&items, limit, |t| Some(t.id.to_string()));
    Ok(HttpResponse::Ok().json(TenantPage {
        items: items.into_iter().map(TenantDto::from).collect(),
        next_cursor,
    }))
}

/// Reads a tenant. Any role.
#[utoipa::path(tag = "tenants", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = TenantDto), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}")]
pub async fn get_tenant(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(TenantDto::from(state.tenant(&t).await?)))
}

/// Renames or suspends a tenant. Role: account_manager or admin.
#[utoipa::path(tag = "tenants", params(("t" = String, Path, description = "tenant slug")), request_body = TenantPatch,
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = TenantDto), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[patch("/tenants/{t}")]
pub async fn update_tenant(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
    body: web::Json<TenantPatch>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    let body = body.into_inner();
    let status = match body.status.as_deref() {
        Some(s) => {
            Some(TenantStatus::parse(s).ok_or_else(|| Problem::bad_request("status must be 'active' or 'suspended'"))?)
        }
        None => None,
    };
    let updated = state.tenants.update(tenant.id, &who.actor(), body.name, status).await?;
    if updated.status == TenantStatus::Suspended {
        // Suspension stops the tenant's tokens at once here, within seconds elsewhere.
        let ids: Vec<Uuid> = state.tokens.list(tenant.id).await?.into_iter().map(|t| t.id).collect();
        (state.on_tokens_revoked)(&ids);
    }
    Ok(HttpResponse::Ok().json(TenantDto::from(updated)))
}
