//! Users and groups as stored documents, and the one place where a SCIM request body becomes a
//! validated document (RFC 7643 §4.1, §4.2, §4.3).
//!
//! A document is the JSON object of the resource's writable attributes: core attributes at the
//! top level in their canonical case, `externalId`, and extension attributes nested under their
//! schema URN. `id`, `meta`, `schemas`, `groups` and `password` are never part of it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::DomainError;
use crate::schema::{AttrType, AttributeDef, Mutability, ResourceKind};

/// A resource document: see the module documentation.
pub type Document = Map<String, Value>;

/// A stored user.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub doc: Document,
    pub version: i64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    /// The groups the user is a direct member of, when they were loaded.
    pub groups: Option<Vec<GroupRef>>,
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupRef {
    pub id: Uuid,
    pub display: String,
}

/// A stored group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: Uuid,
    pub doc: Document,
    pub version: i64,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    /// The members, when they were loaded.
    pub members: Option<Vec<MemberRef>>,
}

/// A member of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRef {
    pub id: Uuid,
    pub display: Option<String>,
}

/// The indexed columns of a user, derived from its document on every write.
#[derive(Debug, Clone, PartialEq)]
pub struct UserColumns {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub active: bool,
    pub emails: Vec<EmailColumns>,
}

/// One indexed email value.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailColumns {
    pub value: String,
    pub kind: Option<String>,
    pub primary: bool,
}

fn str_at<'a>(doc: &'a Document, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

impl UserColumns {
    /// Derives the indexed columns from a validated document.
    pub fn of(doc: &Document) -> Self {
        let name = doc.get("name").and_then(Value::as_object);
        let emails = doc
            .get("emails")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|e| {
                        Some(EmailColumns {
                            value: e.get("value")?.as_str()?.to_owned(),
                            kind: e.get("type").and_then(Value::as_str).map(str::to_owned),
                            primary: e.get("primary").and_then(Value::as_bool).unwrap_or(false),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            user_name: str_at(doc, "userName").unwrap_or_default().to_owned(),
            external_id: str_at(doc, "externalId").map(str::to_owned),
            display_name: str_at(doc, "displayName").map(str::to_owned),
            given_name: name.and_then(|n| str_at(n, "givenName")).map(str::to_owned),
            family_name: name.and_then(|n| str_at(n, "familyName")).map(str::to_owned),
            active: doc.get("active").and_then(Value::as_bool).unwrap_or(true),
            emails,
        }
    }
}

/// Keys that a client may send but that are never stored: read-only common attributes, the
/// derived `groups`, and `password` (Okta always sends a placeholder one; RFC 7643 §4.1.1
/// lets a service provider ignore it).
fn is_ignored_key(kind: ResourceKind, key: &str) -> bool {
    let common = ["id", "meta", "schemas", "password"];
    common.iter().any(|k| k.eq_ignore_ascii_case(key))
        || (kind == ResourceKind::User && key.eq_ignore_ascii_case("groups"))
        || (kind == ResourceKind::Group && key.eq_ignore_ascii_case("members"))
}

/// Validates a POST or PUT body into a document. Lenient where real IdPs need it (string
/// booleans, empty strings for unmapped attributes, unknown extension URNs kept, a single
/// object where an array is expected), strict about types otherwise.
pub fn normalize(kind: ResourceKind, body: &Value) -> Result<Document, DomainError> {
    let Some(obj) = body.as_object() else {
        return Err(DomainError::InvalidSyntax(format!(
            "the request body must be a JSON object holding a {} resource",
            kind.name()
        )));
    };
    check_schemas(kind, obj)?;
    let mut doc = Document::new();
    for (key, value) in obj {
        if is_ignored_key(kind, key) {
            continue;
        }
        if key.eq_ignore_ascii_case("externalId") {
            if let Some(v) = string_value("externalId", value)? {
                doc.insert("externalId".into(), Value::String(v));
            }
            continue;
        }
        if key.len() > 4 && key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            if let Some(ext) = extension(kind, key, value)? {
                doc.insert(ext.0, ext.1);
            }
            continue;
        }
        // Unknown core attributes are dropped: RFC 7644 §3.3 lets a service provider ignore
        // attributes it does not support, and IdP templates often carry extra ones.
        let Some(def) = kind.core().attribute(key) else {
            continue;
        };
        if def.mutability == Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = attribute_value(def, value)? {
            doc.insert(def.name.to_owned(), v);
        }
    }
    require(kind, &doc)?;
    Ok(doc)
}

fn check_schemas(kind: ResourceKind, obj: &Map<String, Value>) -> Result<(), DomainError> {
    let Some(schemas) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")) else {
        return Ok(());
    };
    let list = schemas.1.as_array().filter(|l| l.iter().all(Value::is_string));
    let Some(list) = list else {
        return Err(DomainError::InvalidSyntax(
            "'schemas' must be an array of schema URNs".into(),
        ));
    };
    let core = kind.core().id;
    if !list.is_empty()
        && !list
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(core)))
    {
        return Err(DomainError::InvalidSyntax(format!(
            "'schemas' must include {core} for a {} resource",
            kind.name()
        )));
    }
    Ok(())
}

fn require(kind: ResourceKind, doc: &Document) -> Result<(), DomainError> {
    let required = match kind {
        ResourceKind::User => "userName",
        ResourceKind::Group => "displayName",
    };
    match doc.get(required).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(()),
        _ => Err(DomainError::InvalidValue(format!(
            "'{required}' is required and must be a non-empty string"
        ))),
    }
}

fn extension(kind: ResourceKind, key: &str, value: &Value) -> Result<Option<(String, Value)>, DomainError> {
    let Some(obj) = value.as_object() else {
        if value.is_null() {
            return Ok(None);
        }
        return Err(DomainError::InvalidSyntax(format!(
            "the extension '{key}' must be a JSON object of attributes"
        )));
    };
    // Unknown extension schemas are kept as sent (SPEC §5): IdPs push custom attributes under
    // their own URNs and expect them back on GET.
    let Some(schema) = kind.schema(key) else {
        return Ok(Some((key.to_owned(), value.clone())));
    };
    let mut out = Map::new();
    for (k, v) in obj {
        let Some(def) = schema.attribute(k) else {
            continue;
        };
        if let Some(v) = attribute_value(def, v)? {
            out.insert(def.name.to_owned(), v);
        }
    }
    Ok((!out.is_empty()).then(|| (schema.id.to_owned(), Value::Object(out))))
}

fn string_value(name: &str, value: &Value) -> Result<Option<String>, DomainError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(wrong_type(name, "a string", other)),
    }
}

fn wrong_type(name: &str, expected: &str, got: &Value) -> DomainError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    DomainError::InvalidValue(format!("'{name}' must be {expected}, not {got}"))
}

/// Validates one attribute value against its definition; `None` means "absent".
pub fn attribute_value(def: &AttributeDef, value: &Value) -> Result<Option<Value>, DomainError> {
    if value.is_null() {
        return Ok(None);
    }
    if def.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![value],
            other => return Err(wrong_type(def.name, "an array", other)),
        };
        let mut out = Vec::with_capacity(items.len());
        let mut seen_primary = false;
        for item in items {
            let Some(mut v) = single_value(def, item)? else {
                continue;
            };
            // RFC 7643 §2.4: at most one value may be primary; the first one wins.
            if let Some(p) = v.get_mut("primary")
                && p.as_bool() == Some(true)
            {
                if seen_primary {
                    *p = Value::Bool(false);
                }
                seen_primary = true;
            }
            if !out.contains(&v) {
                out.push(v);
            }
        }
        return Ok((!out.is_empty()).then_some(Value::Array(out)));
    }
    single_value(def, value)
}

fn single_value(def: &AttributeDef, value: &Value) -> Result<Option<Value>, DomainError> {
    match def.ty {
        AttrType::Complex => {
            let Some(obj) = value.as_object() else {
                if value.is_null() {
                    return Ok(None);
                }
                return Err(wrong_type(def.name, "an object", value));
            };
            let mut out = Map::new();
            for (k, v) in obj {
                let Some(sub) = def.sub_attribute(k) else {
                    continue;
                };
                if let Some(v) = single_value(sub, v)? {
                    out.insert(sub.name.to_owned(), v);
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        AttrType::Boolean => match value {
            Value::Bool(b) => Ok(Some(Value::Bool(*b))),
            // Entra ID and OneLogin templates send booleans as strings.
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            Value::String(s) if s.is_empty() => Ok(None),
            other => Err(wrong_type(def.name, "a boolean", other)),
        },
        AttrType::Integer | AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            Value::String(s) if s.is_empty() => Ok(None),
            other => Err(wrong_type(def.name, "a number", other)),
        },
        AttrType::String | AttrType::Reference | AttrType::DateTime => {
            Ok(string_value(def.name, value)?.map(Value::String))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn okta_create() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "test.user@okta.local",
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "displayName": "Test User",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"},
            "urn:okta:custom:1.0": {"tshirt": "M"}
        })
    }

    #[test]
    fn okta_create_body_keeps_profile_and_extensions_and_drops_password_and_groups() {
        let doc = normalize(ResourceKind::User, &okta_create()).unwrap();
        assert_eq!(doc["userName"], "test.user@okta.local");
        assert_eq!(doc["externalId"], "00ujl29u0le5T6Aj10h7");
        assert_eq!(
            doc["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "Sales"
        );
        assert_eq!(doc["urn:okta:custom:1.0"]["tshirt"], "M");
        assert!(!doc.contains_key("password"));
        assert!(!doc.contains_key("groups"));
        assert!(!doc.contains_key("schemas"));
        let cols = UserColumns::of(&doc);
        assert_eq!(cols.given_name.as_deref(), Some("Test"));
        assert_eq!(cols.emails.len(), 1);
        assert!(cols.active);
    }

    #[test]
    fn attribute_names_are_canonicalised_and_string_booleans_accepted() {
        let doc = normalize(
            ResourceKind::User,
            &json!({"USERNAME": "a", "Active": "False", "NAME": {"GIVENNAME": "x"}, "title": ""}),
        )
        .unwrap();
        assert_eq!(doc["userName"], "a");
        assert_eq!(doc["active"], false);
        assert_eq!(doc["name"]["givenName"], "x");
        assert!(!doc.contains_key("title"), "an empty string is an absent attribute");
    }

    #[test]
    fn bad_bodies_are_refused_with_the_reason() {
        let cases = [
            (json!([]), "JSON object"),
            (json!({"displayName": "x"}), "'userName' is required"),
            (json!({"userName": 5}), "'userName' must be a string"),
            (
                json!({"userName": "a", "active": "maybe"}),
                "'active' must be a boolean",
            ),
            (json!({"userName": "a", "emails": "x@y"}), "'emails' must be an array"),
            (json!({"userName": "a", "name": "x"}), "'name' must be an object"),
            (json!({"userName": "a", "schemas": "x"}), "'schemas' must be an array"),
            (
                json!({"userName": "a", "schemas": [crate::schema::GROUP_SCHEMA]}),
                "must include",
            ),
        ];
        for (body, want) in cases {
            let err = normalize(ResourceKind::User, &body).unwrap_err().to_string();
            assert!(err.contains(want), "{body}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn only_one_primary_value_survives() {
        let doc = normalize(
            ResourceKind::User,
            &json!({"userName": "a", "emails": [
                {"value": "a@x", "primary": true}, {"value": "b@x", "primary": "true"}]}),
        )
        .unwrap();
        assert_eq!(doc["emails"][0]["primary"], true);
        assert_eq!(doc["emails"][1]["primary"], false);
    }

    #[test]
    fn group_body_ignores_members_and_requires_display_name() {
        let doc = normalize(
            ResourceKind::Group,
            &json!({"displayName": "Admins", "members": [{"value": "x"}], "id": "y"}),
        )
        .unwrap();
        assert_eq!(Value::Object(doc), json!({"displayName": "Admins"}));
        assert!(normalize(ResourceKind::Group, &json!({"members": []})).is_err());
    }
}
