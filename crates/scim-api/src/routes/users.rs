//! `/Users`: RFC 7644 §3.3-3.6 for the User resource.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::events::Actor;
use domain::patch::parse_patch_request;
use domain::resource::normalize;
use domain::schema::{ResourceKind, USER_SCHEMA};
use uuid::Uuid;

use super::query::{
    ListParams, if_match, not_modified, not_modified_response, page_response, resource_id, resource_response,
};
use crate::ScimState;
use crate::auth::TenantContext;
use crate::body::ScimBody;
use crate::error::ScimError;
use crate::render::user_json;

fn actor(ctx: &TenantContext) -> Actor {
    Actor::ScimToken(ctx.token_id)
}

fn user_id(path: &web::Path<String>) -> Result<Uuid, ScimError> {
    resource_id("User", path.as_str())
}

async fn list(state: &ScimState, ctx: TenantContext, params: ListParams) -> Result<HttpResponse, ScimError> {
    let projection = params.projection(USER_SCHEMA);
    let listing = params.to_query("User", state.max_results, projection.wants("groups"))?;
    let page = state.users.list(ctx.tenant_id, &listing.query).await?;
    let resources = page
        .items
        .iter()
        .map(|u| {
            let mut v = user_json(u, &state.base_url);
            projection.apply(&mut v);
            v
        })
        .collect();
    Ok(page_response(&listing, &page, resources))
}

/// `GET /Users`: list and filter (Okta's connector probe, import and existence checks).
pub async fn list_users(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
) -> Result<HttpResponse, ScimError> {
    list(&state, ctx, ListParams::from_query(&req)?).await
}

/// `POST /Users/.search`.
pub async fn search_users(
    state: web::Data<ScimState>,
    ctx: TenantContext,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    list(&state, ctx, ListParams::from_search(&body.0)?).await
}

/// `GET /Users/{id}`.
pub async fn get_user(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = user_id(&path)?;
    let params = ListParams::from_query(&req)?;
    let projection = params.projection(USER_SCHEMA);
    let user = state
        .users
        .get(ctx.tenant_id, id, projection.wants("groups"))
        .await?
        .ok_or_else(|| ScimError::not_found(format!("User {id} not found")))?;
    if not_modified(&req, user.version) {
        return Ok(not_modified_response(user.version));
    }
    let mut body = user_json(&user, &state.base_url);
    projection.apply(&mut body);
    Ok(resource_response(HttpResponse::Ok(), user.version, &body, None))
}

/// `POST /Users`: 201 with the full resource and `Location`.
pub async fn create_user(
    state: web::Data<ScimState>,
    ctx: TenantContext,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    let doc = normalize(ResourceKind::User, &body.0)?;
    let user = state.users.insert(ctx.tenant_id, &actor(&ctx), doc).await?;
    let body = user_json(&user, &state.base_url);
    let location = format!("{}/Users/{}", state.base_url, user.id);
    Ok(resource_response(
        HttpResponse::Created(),
        user.version,
        &body,
        Some(&location),
    ))
}

/// `PUT /Users/{id}`: full replace; `id`, `meta`, `groups` and `password` are ignored and an
/// omitted `active` keeps its value.
pub async fn replace_user(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    let id = user_id(&path)?;
    let doc = normalize(ResourceKind::User, &body.0)?;
    let user = state
        .users
        .replace(ctx.tenant_id, &actor(&ctx), id, doc, if_match(&req)?)
        .await?;
    Ok(resource_response(
        HttpResponse::Ok(),
        user.version,
        &user_json(&user, &state.base_url),
        None,
    ))
}

/// `PATCH /Users/{id}`: all operations or none.
pub async fn patch_user(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    let id = user_id(&path)?;
    let ops = parse_patch_request(&body.0).map_err(domain::DomainError::from)?;
    let user = state
        .users
        .patch(ctx.tenant_id, &actor(&ctx), id, &ops, if_match(&req)?)
        .await?;
    let mut body = user_json(&user, &state.base_url);
    ListParams::from_query(&req)?.projection(USER_SCHEMA).apply(&mut body);
    Ok(resource_response(HttpResponse::Ok(), user.version, &body, None))
}

/// `DELETE /Users/{id}`: a tombstone; 404 from then on.
pub async fn delete_user(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = user_id(&path)?;
    state
        .users
        .delete(ctx.tenant_id, &actor(&ctx), id, if_match(&req)?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
