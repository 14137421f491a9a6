//! `POST /.search` at the root (RFC 7644 §3.4.3): one query over Users and Groups.
//!
//! The result is the users that match, then the groups that match, paged together with
//! `startIndex` / `count`. RFC 7644 §3.4.2.1: an attribute a resource type does not have is
//! treated as having no value, so a filter (or `sortBy`) that names a User-only attribute
//! simply matches no group, and the other way round; only a filter that neither type can
//! evaluate is an error.

use actix_web::{HttpResponse, web};
use domain::DomainError;
use domain::schema::{GROUP_SCHEMA, USER_SCHEMA};

use super::query::{ListParams, list_response};
use crate::ScimState;
use crate::auth::TenantContext;
use crate::body::ScimBody;
use crate::error::{ScimError, ScimType};
use crate::render::{group_json, user_json};

/// Whether an error means "this resource type cannot answer the query" rather than a fault.
fn not_applicable(e: &DomainError) -> bool {
    matches!(e, DomainError::InvalidFilter(_) | DomainError::InvalidValue(_))
}

/// `POST /.search`.
pub async fn search_all(
    state: web::Data<ScimState>,
    ctx: TenantContext,
    body: ScimBody,
) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_search(&body.0)?;
    if params.cursor.is_some() {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "cursor paging is per resource type: use /Users/.search or /Groups/.search",
        ));
    }
    let user_projection = params.projection(USER_SCHEMA);
    let group_projection = params.projection(GROUP_SCHEMA);
    let users_q = params
        .to_query("User", state.max_results, user_projection.wants("groups"))?
        .query;
    let mut groups_q = params
        .to_query("Group", state.max_results, group_projection.wants("members"))?
        .query;
    let start = users_q.start_index;
    let count = users_q.count;

    let users = match state.users.list(ctx.tenant_id, &users_q).await {
        Ok(page) => Ok(page),
        Err(e) if not_applicable(&e) => Err(e),
        Err(e) => return Err(e.into()),
    };
    let (users_total, user_items) = match &users {
        Ok(page) => (page.total, page.items.as_slice()),
        Err(_) => (0, &[][..]),
    };
    // The groups' part of the page starts where the users end.
    groups_q.start_index = start.saturating_sub(users_total).max(1);
    groups_q.count = count.saturating_sub(u64::try_from(user_items.len()).unwrap_or(u64::MAX));
    let mut groups = state.groups.list(ctx.tenant_id, &groups_q).await;
    if let Err(e) = &groups
        && not_applicable(e)
        && groups_q.sort_by.is_some()
        && users.is_ok()
    {
        // A User-only sortBy: groups have no value for it, so they keep their own order.
        groups_q.sort_by = None;
        groups = state.groups.list(ctx.tenant_id, &groups_q).await;
    }
    let groups = match groups {
        Ok(page) => Some(page),
        Err(e) if not_applicable(&e) => match users {
            Ok(_) => None,
            // Neither type can answer: the users' error names the problem.
            Err(users_err) => return Err(users_err.into()),
        },
        Err(e) => return Err(e.into()),
    };
    let mut resources = Vec::new();
    for u in user_items {
        let mut v = user_json(u, &state.base_url);
        user_projection.apply(&mut v);
        resources.push(v);
    }
    let mut total = users_total;
    if let Some(page) = &groups {
        total += page.total;
        for g in &page.items {
            let mut v = group_json(g, &state.base_url);
            group_projection.apply(&mut v);
            resources.push(v);
        }
    }
    Ok(list_response(total, start, resources))
}
