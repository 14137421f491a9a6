//! `POST /.search` at the root (RFC 7644 §3.4.3): one query over Users and Groups.
//!
//! The result is the users that match, then the groups that match, paged together with
//! `startIndex` / `count`. RFC 7644 §3.4.2.1: an attribute a resource type does not define is
//! treated as having no value there, so `userName sw "a" or displayName eq "Sales"` finds
//! users by name and the Sales group, and `not (members pr)` finds every user. Only an
//! attribute that neither type defines is an error.

use actix_web::{HttpResponse, web};
use domain::DomainError;
use domain::filter::{AttrPath, Filter};
use domain::schema::{GROUP_SCHEMA, ResourceKind, USER_SCHEMA};

use super::query::{ListParams, list_response};
use crate::ScimState;
use crate::auth::TenantContext;
use crate::body::ScimBody;
use crate::error::{ScimError, ScimType};
use crate::render::{group_json, user_json};

/// Whether the resource type defines the attribute a path starts with.
fn defines(path: &AttrPath, kind: ResourceKind) -> bool {
    if path.urn.is_none()
        && ["id", "externalId", "meta"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&path.name))
    {
        return true;
    }
    let schema = match &path.urn {
        None => Some(kind.core()),
        Some(urn) => kind.schema(urn),
    };
    schema.is_some_and(|s| s.attribute(&path.name).is_some())
}

/// The first attribute of the filter that neither Users nor Groups define.
fn undefined_everywhere(filter: &Filter) -> Option<&AttrPath> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => undefined_everywhere(a).or_else(|| undefined_everywhere(b)),
        Filter::Not(inner) => undefined_everywhere(inner),
        Filter::Present(path) | Filter::Compare { path, .. } | Filter::ValuePath { path, .. } => {
            (!defines(path, ResourceKind::User) && !defines(path, ResourceKind::Group)).then_some(path)
        }
    }
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
    let mut users_q = params
        .to_query("User", state.max_results, user_projection.wants("groups"))?
        .query;
    let mut groups_q = params
        .to_query("Group", state.max_results, group_projection.wants("members"))?
        .query;
    if let Some(path) = users_q.filter.as_ref().and_then(undefined_everywhere) {
        return Err(DomainError::InvalidFilter(format!(
            "filtering on '{path}' is not supported: neither Users nor Groups have such an attribute"
        ))
        .into());
    }
    users_q.unknown_attributes_absent = true;
    groups_q.unknown_attributes_absent = true;
    // A sortBy that one type does not define: that type has no value for it, so it keeps its
    // own (id) order; one that neither defines is an error.
    if let Some(path) = &users_q.sort_by {
        match (defines(path, ResourceKind::User), defines(path, ResourceKind::Group)) {
            (false, false) => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("cannot sort by '{path}': neither Users nor Groups have such an attribute"),
                ));
            }
            (true, false) => groups_q.sort_by = None,
            (false, true) => users_q.sort_by = None,
            (true, true) => {}
        }
    }
    let start = users_q.start_index;
    let count = users_q.count;
    let users = state.users.list(ctx.tenant_id, &users_q).await?;
    // The groups' part of the page starts where the users end.
    groups_q.start_index = start.saturating_sub(users.total).max(1);
    groups_q.count = count.saturating_sub(u64::try_from(users.items.len()).unwrap_or(u64::MAX));
    let groups = state.groups.list(ctx.tenant_id, &groups_q).await?;
    let mut resources = Vec::with_capacity(users.items.len() + groups.items.len());
    for u in &users.items {
        let mut v = user_json(u, &state.base_url);
        user_projection.apply(&mut v);
        resources.push(v);
    }
    for g in &groups.items {
        let mut v = group_json(g, &state.base_url);
        group_projection.apply(&mut v);
        resources.push(v);
    }
    Ok(list_response(users.total + groups.total, start, resources))
}
