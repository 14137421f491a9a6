//! Discovery endpoints (RFC 7644 §4): read-only, and advertising exactly what works.

use actix_web::{HttpResponse, web};
use domain::schema::{self, ResourceKind};
use serde_json::{Value, json};

use super::query::{list_response, scim_json};
use crate::ScimState;
use crate::auth::TenantContext;
use crate::error::ScimError;

/// `GET /ServiceProviderConfig` (RFC 7643 §5).
pub async fn service_provider_config(state: web::Data<ScimState>, _ctx: TenantContext) -> HttpResponse {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://betatesting.example/docs/scim",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": super::bulk::MAX_OPERATIONS,
            "maxPayloadSize": super::bulk::MAX_PAYLOAD_BYTES,
        },
        "filter": {"supported": true, "maxResults": state.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        // RFC 9865 §4: both paging methods; cursors are keyset positions.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": state.max_results,
            "maxPageSize": state.max_results,
            "cursorTimeout": crate::cursor::CURSOR_TIMEOUT_SECS,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with the tenant's SCIM bearer token",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", state.base_url),
        }
    });
    scim_json(HttpResponse::Ok(), &body)
}

fn resource_type_json(kind: ResourceKind, base: &str) -> Value {
    let extensions: Vec<Value> = kind
        .extensions()
        .iter()
        .map(|s| json!({"schema": s.id, "required": false}))
        .collect();
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": kind.endpoint(),
        "description": kind.core().description,
        "schema": kind.core().id,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/{}", kind.name())},
    });
    if let (false, Some(o)) = (extensions.is_empty(), v.as_object_mut()) {
        o.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    v
}

/// `GET /ResourceTypes`.
pub async fn resource_types(state: web::Data<ScimState>, _ctx: TenantContext) -> HttpResponse {
    let list = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .map(|k| resource_type_json(k, &state.base_url))
        .collect();
    list_response(2, 1, list)
}

/// `GET /ResourceTypes/{name}`.
pub async fn resource_type(
    state: web::Data<ScimState>,
    _ctx: TenantContext,
    name: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let kind = [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(&name))
        .ok_or_else(|| ScimError::not_found(format!("resource type '{name}' not found")))?;
    Ok(scim_json(
        HttpResponse::Ok(),
        &resource_type_json(kind, &state.base_url),
    ))
}

fn schema_with_meta(s: &schema::SchemaDef, base: &str) -> Value {
    let mut v = schema::schema_json(s);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "meta".into(),
            json!({"resourceType": "Schema", "location": format!("{base}/Schemas/{}", s.id)}),
        );
    }
    v
}

/// `GET /Schemas`.
pub async fn schemas(state: web::Data<ScimState>, _ctx: TenantContext) -> HttpResponse {
    let list: Vec<Value> = schema::ALL
        .iter()
        .map(|s| schema_with_meta(s, &state.base_url))
        .collect();
    list_response(list.len() as u64, 1, list)
}

/// `GET /Schemas/{urn}`.
pub async fn schema(
    state: web::Data<ScimState>,
    _ctx: TenantContext,
    urn: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let s = schema::ALL
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(&urn))
        .ok_or_else(|| ScimError::not_found(format!("schema '{urn}' not found")))?;
    Ok(scim_json(HttpResponse::Ok(), &schema_with_meta(s, &state.base_url)))
}
