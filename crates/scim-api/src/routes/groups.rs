//! `/Groups`: RFC 7644 §3.3-3.6 for the Group resource.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::events::Actor;
use domain::membership::member_values;
use domain::patch::parse_patch_request;
use domain::resource::normalize;
use domain::schema::{GROUP_SCHEMA, ResourceKind};
use serde_json::Value;
use uuid::Uuid;

use super::query::{
    ListParams, if_match, not_modified, not_modified_response, page_response, resource_id, resource_response,
};
use crate::ScimState;
use crate::auth::TenantContext;
use crate::body::ScimBody;
use crate::error::ScimError;
use crate::render::{etag, group_json};

fn actor(ctx: &TenantContext) -> Actor {
    Actor::ScimToken(ctx.token_id)
}

fn group_id(path: &web::Path<String>) -> Result<Uuid, ScimError> {
    resource_id("Group", path.as_str())
}

/// The `members` of a POST or PUT body, as user ids.
pub(super) fn members(body: &Value) -> Result<Vec<String>, ScimError> {
    let members = body
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("members")))
        .map(|(_, v)| v);
    Ok(match members {
        Some(v) => member_values(v)?,
        None => Vec::new(),
    })
}

async fn list(state: &ScimState, ctx: TenantContext, params: ListParams) -> Result<HttpResponse, ScimError> {
    let projection = params.projection(GROUP_SCHEMA);
    let listing = params.to_query("Group", state.max_results, projection.wants("members"))?;
    let page = state.groups.list(ctx.tenant_id, &listing.query).await?;
    let resources = page
        .items
        .iter()
        .map(|g| {
            let mut v = group_json(g, &state.base_url);
            projection.apply(&mut v);
            v
        })
        .collect();
    Ok(page_response(&listing, &page, resources))
}

/// `GET /Groups`: list and filter (Push Groups' existence check by displayName).
pub async fn list_groups(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
) -> Result<HttpResponse, ScimError> {
    list(&state, ctx, ListParams::from_query(&req)?).await
}

/// `POST /Groups/.search`.
pub async fn search_groups(
    state: web::Data<ScimState>,
    ctx: TenantContext,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    list(&state, ctx, ListParams::from_search(&body.0)?).await
}

/// `GET /Groups/{id}`; `excludedAttributes=members` skips loading the members.
pub async fn get_group(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = group_id(&path)?;
    let projection = ListParams::from_query(&req)?.projection(GROUP_SCHEMA);
    let group = state
        .groups
        .get(ctx.tenant_id, id, projection.wants("members"))
        .await?
        .ok_or_else(|| ScimError::not_found(format!("Group {id} not found")))?;
    if not_modified(&req, group.version) {
        return Ok(not_modified_response(group.version));
    }
    let mut body = group_json(&group, &state.base_url);
    projection.apply(&mut body);
    Ok(resource_response(HttpResponse::Ok(), group.version, &body, None))
}

/// `POST /Groups`, with or without initial members.
pub async fn create_group(
    state: web::Data<ScimState>,
    ctx: TenantContext,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    let doc = normalize(ResourceKind::Group, &body.0)?;
    let members = members(&body.0)?;
    let group = state.groups.insert(ctx.tenant_id, &actor(&ctx), doc, members).await?;
    let location = format!("{}/Groups/{}", state.base_url, group.id);
    Ok(resource_response(
        HttpResponse::Created(),
        group.version,
        &group_json(&group, &state.base_url),
        Some(&location),
    ))
}

/// `PUT /Groups/{id}`: the body's `members` become the member set (absent means none).
pub async fn replace_group(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    let id = group_id(&path)?;
    let doc = normalize(ResourceKind::Group, &body.0)?;
    let members = members(&body.0)?;
    let group = state
        .groups
        .replace(ctx.tenant_id, &actor(&ctx), id, doc, members, if_match(&req)?)
        .await?;
    Ok(resource_response(
        HttpResponse::Ok(),
        group.version,
        &group_json(&group, &state.base_url),
        None,
    ))
}

/// `PATCH /Groups/{id}`: 204 with the new `ETag` (Entra ID asks for it; Okta accepts it), or
/// 200 with the group when `attributes`/`excludedAttributes` ask for a representation.
pub async fn patch_group(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    let id = group_id(&path)?;
    let ops = parse_patch_request(&body.0).map_err(domain::DomainError::from)?;
    let group = state
        .groups
        .patch(ctx.tenant_id, &actor(&ctx), id, &ops, if_match(&req)?)
        .await?;
    let params = ListParams::from_query(&req)?;
    if params.attributes.is_none() && params.excluded_attributes.is_none() {
        return Ok(HttpResponse::NoContent()
            .insert_header((actix_web::http::header::ETAG, etag(group.version)))
            .finish());
    }
    let mut body = group_json(&group, &state.base_url);
    params.projection(GROUP_SCHEMA).apply(&mut body);
    Ok(resource_response(HttpResponse::Ok(), group.version, &body, None))
}

/// `DELETE /Groups/{id}`: the group and its memberships go; 404 from then on.
pub async fn delete_group(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    path: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let id = group_id(&path)?;
    state
        .groups
        .delete(ctx.tenant_id, &actor(&ctx), id, if_match(&req)?)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
