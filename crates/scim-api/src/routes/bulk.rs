//! `POST /Bulk` (RFC 7644 §3.7): many operations on `/Users` and `/Groups` in one request.
//!
//! Each operation goes through the same store ports as its single-resource endpoint, so it is
//! atomic on its own; the bulk request as a whole is not (RFC 7644 §3.7 does not ask for it).
//! `bulkId` references (`"bulkId:qwerty"`, in a path or anywhere in `data`, e.g. a member's
//! `value`) are resolved to the id created by the POST with that `bulkId`, and operations are
//! run in request order except that one waiting for a resource created later in the request
//! runs after it (a forward reference). A reference that can never resolve (undefined, failed,
//! or circular) fails that operation with 409. After `failOnErrors` errors the remaining
//! operations are not run. The limits are advertised in `/ServiceProviderConfig` and enforced:
//! more than [`MAX_PAYLOAD_BYTES`] or more than [`MAX_OPERATIONS`] operations is 413.

use std::collections::{HashMap, HashSet};

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::events::Actor;
use domain::patch::parse_patch_request;
use domain::resource::normalize;
use domain::schema::ResourceKind;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::groups::members;
use super::query::scim_json;
use crate::ScimState;
use crate::auth::TenantContext;
use crate::error::{ScimError, ScimType};
use crate::render::{etag, parse_etag};

/// `bulk.maxOperations`.
pub const MAX_OPERATIONS: usize = 1000;
/// `bulk.maxPayloadSize`, bytes.
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const BULK_ID_PREFIX: &str = "bulkId:";

fn too_large(detail: String, scim_type: ScimType) -> ScimError {
    ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, Some(scim_type), detail)
}

fn syntax(detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(ScimType::InvalidSyntax, detail)
}

fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One operation as sent.
struct Operation {
    method: Option<Method>,
    method_raw: String,
    bulk_id: Option<String>,
    path: String,
    version: Option<String>,
    data: Option<Value>,
    /// A structural problem found while reading the operation.
    problem: Option<ScimError>,
}

fn read_operation(v: &Value) -> Operation {
    let mut op = Operation {
        method: None,
        method_raw: String::new(),
        bulk_id: None,
        path: String::new(),
        version: None,
        data: None,
        problem: None,
    };
    let Some(obj) = v.as_object() else {
        op.problem = Some(syntax("each operation must be a JSON object"));
        return op;
    };
    let text = |k: &str| get_ci(obj, k).and_then(Value::as_str).map(str::to_owned);
    op.method_raw = text("method").unwrap_or_default();
    op.method = match op.method_raw.to_ascii_uppercase().as_str() {
        "POST" => Some(Method::Post),
        "PUT" => Some(Method::Put),
        "PATCH" => Some(Method::Patch),
        "DELETE" => Some(Method::Delete),
        _ => None,
    };
    op.bulk_id = text("bulkId");
    op.path = text("path").unwrap_or_default();
    op.version = text("version");
    op.data = get_ci(obj, "data").cloned();
    op.problem = match op.method {
        None => Some(syntax(format!(
            "'method' must be POST, PUT, PATCH or DELETE, not '{}'",
            op.method_raw
        ))),
        Some(_) if op.path.is_empty() => Some(syntax("'path' is required")),
        Some(Method::Post) if op.bulk_id.as_deref().is_none_or(str::is_empty) => {
            Some(syntax("'bulkId' is required for a POST (RFC 7644 §3.7)"))
        }
        Some(Method::Post | Method::Put | Method::Patch) if op.data.is_none() => Some(syntax(format!(
            "'data' is required for a {}",
            op.method_raw.to_ascii_uppercase()
        ))),
        _ => None,
    };
    op
}

/// Every `bulkId:x` the operation refers to (path and data).
fn references(op: &Operation) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(BULK_ID_PREFIX) {
                    out.push(id.to_owned());
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(o) => o.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some((_, id)) = op.path.rsplit_once('/') {
        walk(&Value::String(id.to_owned()), &mut out);
    }
    if let Some(d) = &op.data {
        walk(d, &mut out);
    }
    out
}

fn substitute(v: &mut Value, resolved: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix(BULK_ID_PREFIX).and_then(|b| resolved.get(b)) {
                *s = id.clone();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, resolved)),
        Value::Object(o) => o.values_mut().for_each(|i| substitute(i, resolved)),
        _ => {}
    }
}

/// `/Users`, `/Groups/{id}`, ... (with or without the leading slash).
fn parse_path(path: &str) -> Result<(ResourceKind, Option<String>), ScimError> {
    let trimmed = path.trim().trim_start_matches('/');
    let (kind, id) = match trimmed.split_once('/') {
        Some((k, id)) => (k, Some(id.to_owned())),
        None => (trimmed, None),
    };
    let kind = if kind.eq_ignore_ascii_case("Users") {
        ResourceKind::User
    } else if kind.eq_ignore_ascii_case("Groups") {
        ResourceKind::Group
    } else {
        return Err(ScimError::bad_request(
            ScimType::InvalidPath,
            format!("'{path}' is not a bulk path: use /Users, /Groups, /Users/{{id}} or /Groups/{{id}}"),
        ));
    };
    Ok((kind, id.filter(|i| !i.is_empty())))
}

/// What a successful operation answers.
struct Done {
    status: StatusCode,
    id: Uuid,
    version: Option<i64>,
}

async fn execute(
    state: &ScimState,
    ctx: &TenantContext,
    op: &Operation,
    method: Method,
    data: Option<Value>,
    path: &str,
) -> Result<Done, ScimError> {
    let actor = Actor::ScimToken(ctx.token_id);
    let t = ctx.tenant_id;
    let (kind, id) = parse_path(path)?;
    let if_match = match op.version.as_deref().map(parse_etag) {
        None => None,
        Some(Ok(v)) => v,
        Some(Err(_)) => return Err(domain::DomainError::PreconditionFailed.into()),
    };
    let data = data.unwrap_or(Value::Null);
    let id = match (method, id) {
        (Method::Post, None) => None,
        (Method::Post, Some(_)) => {
            return Err(ScimError::bad_request(
                ScimType::InvalidPath,
                "a POST goes to /Users or /Groups, without an id",
            ));
        }
        (_, None) => {
            return Err(ScimError::bad_request(
                ScimType::InvalidPath,
                format!("a {} needs the resource id in its path", method.as_str()),
            ));
        }
        (_, Some(raw)) => {
            Some(Uuid::parse_str(&raw).map_err(|_| ScimError::not_found(format!("{} {raw} not found", kind.name())))?)
        }
    };
    let ok = |status, id, version| {
        Ok(Done {
            status,
            id,
            version: Some(version),
        })
    };
    match (kind, method, id) {
        (ResourceKind::User, Method::Post, _) => {
            let u = state.users.insert(t, &actor, normalize(kind, &data)?).await?;
            ok(StatusCode::CREATED, u.id, u.version)
        }
        (ResourceKind::Group, Method::Post, _) => {
            let doc = normalize(kind, &data)?;
            let g = state.groups.insert(t, &actor, doc, members(&data)?).await?;
            ok(StatusCode::CREATED, g.id, g.version)
        }
        (_, _, None) => Err(ScimError::bad_request(ScimType::InvalidPath, "the path needs an id")),
        (ResourceKind::User, Method::Put, Some(id)) => {
            let u = state
                .users
                .replace(t, &actor, id, normalize(kind, &data)?, if_match)
                .await?;
            ok(StatusCode::OK, u.id, u.version)
        }
        (ResourceKind::Group, Method::Put, Some(id)) => {
            let doc = normalize(kind, &data)?;
            let g = state
                .groups
                .replace(t, &actor, id, doc, members(&data)?, if_match)
                .await?;
            ok(StatusCode::OK, g.id, g.version)
        }
        (_, Method::Patch, Some(id)) => {
            let ops = parse_patch_request(&data).map_err(domain::DomainError::from)?;
            let version = match kind {
                ResourceKind::User => state.users.patch(t, &actor, id, &ops, if_match).await?.version,
                ResourceKind::Group => state.groups.patch(t, &actor, id, &ops, if_match).await?.version,
            };
            ok(StatusCode::OK, id, version)
        }
        (_, Method::Delete, Some(id)) => {
            match kind {
                ResourceKind::User => state.users.delete(t, &actor, id, if_match).await?,
                ResourceKind::Group => state.groups.delete(t, &actor, id, if_match).await?,
            }
            Ok(Done {
                status: StatusCode::NO_CONTENT,
                id,
                version: None,
            })
        }
    }
}

/// Reads the body with the bulk limit (not the general body limit).
async fn read_body(req: &HttpRequest, payload: web::Payload) -> Result<Value, ScimError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(content_type.as_str(), "" | "application/scim+json" | "application/json") {
        return Err(ScimError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            format!("Content-Type '{content_type}' is not accepted: send application/scim+json or application/json"),
        ));
    }
    let over = || {
        too_large(
            format!("the bulk request is larger than maxPayloadSize ({MAX_PAYLOAD_BYTES} bytes)"),
            ScimType::TooLarge,
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_PAYLOAD_BYTES) {
        return Err(over());
    }
    let body = payload
        .to_bytes_limited(MAX_PAYLOAD_BYTES)
        .await
        .map_err(|_| over())?
        .map_err(|_| syntax("the request body could not be read"))?;
    serde_json::from_slice(&body).map_err(|e| syntax(format!("the request body is not valid JSON: {e}")))
}

/// `POST /Bulk`.
pub async fn bulk(
    req: HttpRequest,
    state: web::Data<ScimState>,
    ctx: TenantContext,
    payload: web::Payload,
) -> Result<HttpResponse, ScimError> {
    let body = read_body(&req, payload).await?;
    let Some(obj) = body.as_object() else {
        return Err(syntax("a bulk request must be a JSON object"));
    };
    if let Some(schemas) = get_ci(obj, "schemas") {
        let ok = schemas.as_array().is_some_and(|l| {
            l.iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST)))
        });
        if !ok {
            return Err(syntax(format!("'schemas' must contain {BULK_REQUEST}")));
        }
    }
    let Some(list) = get_ci(obj, "Operations").and_then(Value::as_array) else {
        return Err(syntax("a bulk request needs an 'Operations' array"));
    };
    if list.len() > MAX_OPERATIONS {
        return Err(too_large(
            format!(
                "the bulk request has {} operations; maxOperations is {MAX_OPERATIONS}",
                list.len()
            ),
            ScimType::TooMany,
        ));
    }
    let fail_on_errors = match get_ci(obj, "failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 => Some(n),
            _ => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    "'failOnErrors' must be an integer of at least 1",
                ));
            }
        },
    };
    let ops: Vec<Operation> = list.iter().map(read_operation).collect();
    let mut defined: HashSet<String> = HashSet::new();
    for op in &ops {
        if let (Some(Method::Post), Some(b), None) = (op.method, &op.bulk_id, &op.problem)
            && !defined.insert(b.clone())
        {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!("bulkId '{b}' is used by more than one POST"),
            ));
        }
    }
    let refs: Vec<Vec<String>> = ops.iter().map(references).collect();

    let mut resolved: HashMap<String, String> = HashMap::new();
    let mut failed: HashSet<String> = HashSet::new();
    let mut results: Vec<Option<Value>> = vec![None; ops.len()];
    let mut pending: Vec<usize> = (0..ops.len()).collect();
    let mut errors = 0u64;
    while !pending.is_empty() {
        // The first operation whose references are all settled; else the first one (a cycle).
        let ready = |i: &usize| {
            refs.get(*i).is_none_or(|r| {
                r.iter()
                    .all(|b| !defined.contains(b) || resolved.contains_key(b) || failed.contains(b))
            })
        };
        let at = pending.iter().position(ready).unwrap_or(0);
        let i = pending.remove(at);
        let Some(op) = ops.get(i) else { continue };
        let outcome = match (&op.problem, op.method) {
            (Some(p), _) => Err(ScimError::new(p.status, p.scim_type, p.detail.clone())),
            (None, None) => Err(syntax("unknown method")),
            (None, Some(method)) => {
                let unresolved = refs.get(i).into_iter().flatten().find(|b| !resolved.contains_key(*b));
                match unresolved {
                    Some(b) => Err(ScimError::new(
                        StatusCode::CONFLICT,
                        None,
                        if !defined.contains(b) {
                            format!("bulkId '{b}' is not defined by a POST in this request")
                        } else if failed.contains(b) {
                            format!("the operation with bulkId '{b}' failed, so this one cannot refer to it")
                        } else {
                            format!("bulkId '{b}' is part of a circular reference that cannot be resolved")
                        },
                    )),
                    None => {
                        let mut data = op.data.clone();
                        if let Some(d) = data.as_mut() {
                            substitute(d, &resolved);
                        }
                        let mut path = Value::String(op.path.clone());
                        if let Some((head, _)) = op.path.rsplit_once('/') {
                            let mut id = Value::String(op.path[head.len() + 1..].to_owned());
                            substitute(&mut id, &resolved);
                            path = Value::String(format!("{head}/{}", id.as_str().unwrap_or_default()));
                        }
                        execute(&state, &ctx, op, method, data, path.as_str().unwrap_or_default()).await
                    }
                }
            }
        };
        let mut entry = Map::new();
        entry.insert(
            "method".into(),
            op.method
                .map_or(op.method_raw.clone(), |m| m.as_str().to_owned())
                .into(),
        );
        if let Some(b) = &op.bulk_id {
            entry.insert("bulkId".into(), b.clone().into());
        }
        match outcome {
            Ok(done) => {
                let (kind, _) = parse_path(&op.path)?;
                let location = format!("{}{}/{}", state.base_url, kind.endpoint(), done.id);
                if let (Some(Method::Post), Some(b)) = (op.method, &op.bulk_id) {
                    resolved.insert(b.clone(), done.id.to_string());
                }
                entry.insert("location".into(), location.into());
                if let Some(v) = done.version {
                    entry.insert("version".into(), etag(v).into());
                }
                entry.insert("status".into(), done.status.as_u16().to_string().into());
            }
            Err(e) => {
                errors += 1;
                if let (Some(Method::Post), Some(b)) = (op.method, &op.bulk_id) {
                    failed.insert(b.clone());
                }
                entry.insert("status".into(), e.status.as_u16().to_string().into());
                entry.insert("response".into(), e.body());
            }
        }
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(Value::Object(entry));
        }
        if fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
    }
    let body = json!({
        "schemas": [BULK_RESPONSE],
        "Operations": results.into_iter().flatten().collect::<Vec<_>>(),
    });
    Ok(scim_json(HttpResponse::Ok(), &body))
}
