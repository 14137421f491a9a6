//! List and search parameters (RFC 7644 §3.4.2, §3.4.3), shared by Users and Groups.

use std::collections::HashMap;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use chrono::Utc;
use domain::DomainError;
use domain::filter::{AttrPath, parse_filter};
use domain::ports::{IfMatch, ListQuery, Page};
use serde_json::{Value, json};

use crate::cursor;
use crate::error::{SCIM_JSON, ScimError, ScimType};
use crate::render::{ForeignEtag, Projection, etag, parse_etag};

/// List parameters as received, from the query string or a `.search` body.
#[derive(Debug, Default)]
pub struct ListParams {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    /// RFC 9865 `cursor`; `Some("")` asks for the first page.
    pub cursor: Option<String>,
}

/// The query as understood, with what the response needs to echo.
#[derive(Debug)]
pub struct Listing {
    pub query: ListQuery,
    /// Identifies the query (resource, filter, sort) inside its cursors.
    pub fingerprint: u64,
}

impl ListParams {
    /// From a query string; parameter names are matched case-insensitively.
    pub fn from_query(req: &HttpRequest) -> Result<Self, ScimError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
            .map_err(|_| ScimError::bad_request(ScimType::InvalidSyntax, "the query string could not be decoded"))?;
        let map: HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        Ok(Self {
            filter: map.get("filter").cloned(),
            start_index: map.get("startindex").cloned(),
            count: map.get("count").cloned(),
            attributes: map.get("attributes").cloned(),
            excluded_attributes: map.get("excludedattributes").cloned(),
            sort_by: map.get("sortby").cloned(),
            sort_order: map.get("sortorder").cloned(),
            cursor: map.get("cursor").cloned(),
        })
    }

    /// From a `POST .search` body (RFC 7644 §3.4.3).
    pub fn from_search(body: &Value) -> Result<Self, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "a search request must be a JSON object",
            ));
        };
        let get = |name: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v);
        let text = |name: &str| -> Result<Option<String>, ScimError> {
            match get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(items)) => Ok(Some(
                    items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
                )),
                Some(_) => Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("'{name}' has the wrong type"),
                )),
            }
        };
        Ok(Self {
            filter: text("filter")?,
            start_index: text("startIndex")?,
            count: text("count")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
            sort_by: text("sortBy")?,
            sort_order: text("sortOrder")?,
            cursor: text("cursor")?,
        })
    }

    /// The domain query for `resource` ("User" or "Group"); `count` is capped at `max_results`.
    pub fn to_query(&self, resource: &str, max_results: u64, load_refs: bool) -> Result<Listing, ScimError> {
        let number = |name: &str, v: &Option<String>| -> Result<Option<i64>, ScimError> {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse::<i64>().map_err(|_| {
                        ScimError::bad_request(
                            ScimType::InvalidValue,
                            format!("'{name}' must be an integer, not '{s}'"),
                        )
                    })
                })
                .transpose()
        };
        // RFC 7644 §3.4.2.4: startIndex below 1 is 1; a negative count is 0.
        let start = number("startIndex", &self.start_index)?;
        let start_index = start.unwrap_or(1).max(1);
        let count = number("count", &self.count)?.map_or(max_results, |c| c.max(0).unsigned_abs().min(max_results));
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(f) => Some(parse_filter(f).map_err(DomainError::from)?),
        };
        // RFC 7644 §3.4.2.3 defines no error for an unusable sortBy; it is a value the
        // service provider cannot use, so 400 invalidValue (RFC 7644 §3.12).
        let sort_by = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(AttrPath::parse(s).map_err(|e| {
                ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("sortBy '{s}' is not an attribute path: {e}"),
                )
            })?),
        };
        let descending = match self.sort_order.as_deref().map(str::trim) {
            None | Some("") => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!("sortOrder must be 'ascending' or 'descending', not '{o}'"),
                ));
            }
        };
        let fingerprint = cursor::fnv64(&[
            resource.as_bytes(),
            b"\n",
            filter.as_ref().map(ToString::to_string).unwrap_or_default().as_bytes(),
            b"\n",
            sort_by
                .as_ref()
                .map(|p| p.to_string().to_ascii_lowercase())
                .unwrap_or_default()
                .as_bytes(),
            if descending { b"\nd" } else { b"\na" },
        ]);
        let cursor = match &self.cursor {
            None => None,
            Some(_) if start.is_some() => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    "use either startIndex (index paging) or cursor (RFC 9865 cursor paging), not both",
                ));
            }
            Some(c) => Some(cursor::decode(c, fingerprint, Utc::now())?),
        };
        Ok(Listing {
            query: ListQuery {
                filter,
                start_index: start_index.unsigned_abs(),
                count,
                load_refs,
                sort_by,
                descending,
                cursor,
                unknown_attributes_absent: false,
            },
            fingerprint,
        })
    }

    /// The projection these parameters ask for.
    pub fn projection(&self, core: &str) -> Projection {
        Projection::new(self.attributes.as_deref(), self.excluded_attributes.as_deref(), core)
    }
}

/// The `ListResponse` body of index paging.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> HttpResponse {
    let body = json!({
        "schemas": [domain::schema::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    scim_json(HttpResponse::Ok(), &body)
}

/// The `ListResponse` of a page: index paging, or RFC 9865 cursor paging with `nextCursor` /
/// `previousCursor` (and no `startIndex`).
pub fn page_response<T>(listing: &Listing, page: &Page<T>, resources: Vec<Value>) -> HttpResponse {
    if listing.query.cursor.is_none() {
        return list_response(page.total, listing.query.start_index, resources);
    }
    let now = Utc::now();
    let mut body = json!({
        "schemas": [domain::schema::LIST_RESPONSE],
        "totalResults": page.total,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    if let Some(obj) = body.as_object_mut() {
        if let Some(next) = &page.next {
            obj.insert(
                "nextCursor".into(),
                cursor::encode(listing.fingerprint, true, next, now).into(),
            );
        }
        if let Some(prev) = &page.previous {
            obj.insert(
                "previousCursor".into(),
                cursor::encode(listing.fingerprint, false, prev, now).into(),
            );
        }
    }
    scim_json(HttpResponse::Ok(), &body)
}

/// A SCIM JSON response.
pub fn scim_json(mut builder: actix_web::HttpResponseBuilder, body: &Value) -> HttpResponse {
    builder
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .body(body.to_string())
}

/// A single resource with its `ETag` (and `Location` when created).
pub fn resource_response(
    mut builder: actix_web::HttpResponseBuilder,
    version: i64,
    body: &Value,
    location: Option<&str>,
) -> HttpResponse {
    builder.insert_header((header::ETAG, etag(version)));
    if let Some(l) = location {
        builder.insert_header((header::LOCATION, l));
    }
    scim_json(builder, body)
}

/// The `If-Match` precondition; an unparseable one can never match.
pub fn if_match(req: &HttpRequest) -> Result<IfMatch, ScimError> {
    match req
        .headers()
        .get(header::IF_MATCH)
        .map(|v| v.to_str().map_err(|_| ForeignEtag).and_then(parse_etag))
    {
        None => Ok(None),
        Some(Ok(v)) => Ok(v),
        Some(Err(ForeignEtag)) => Err(DomainError::PreconditionFailed.into()),
    }
}

/// Whether `If-None-Match` names the current version (answer 304).
pub fn not_modified(req: &HttpRequest, version: i64) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| matches!(parse_etag(t), Ok(None)) || parse_etag(t) == Ok(Some(version)))
        })
}

/// A resource id from the path; anything that is not a UUID names no resource.
pub fn resource_id(kind: &str, raw: &str) -> Result<uuid::Uuid, ScimError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ScimError::not_found(format!("{kind} {raw} not found")))
}

/// 304 with the ETag.
pub fn not_modified_response(version: i64) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, etag(version)))
        .finish()
}
