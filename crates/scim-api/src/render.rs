//! Domain resources rendered as SCIM JSON (RFC 7643), with `meta`, and the `attributes` /
//! `excludedAttributes` projection (RFC 7644 §3.4.2.5).

use chrono::{DateTime, SecondsFormat, Utc};
use domain::resource::{Document, Group, User};
use domain::schema::{GROUP_SCHEMA, USER_SCHEMA};
use serde_json::{Map, Value, json};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The weak ETag of a version (RFC 7644 §3.14).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// An entity tag that is not one of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignEtag;

/// The version an `If-Match` / `If-None-Match` value names; `None` for `*`.
pub fn parse_etag(header: &str) -> Result<Option<i64>, ForeignEtag> {
    let h = header.trim();
    if h == "*" {
        return Ok(None);
    }
    let h = h.strip_prefix("W/").unwrap_or(h);
    h.trim_matches('"').parse::<i64>().map(Some).map_err(|_| ForeignEtag)
}

fn schemas(core: &str, doc: &Document) -> Value {
    let mut list = vec![Value::String(core.to_owned())];
    list.extend(
        doc.keys()
            .filter(|k| k.starts_with("urn:"))
            .map(|k| Value::String(k.clone())),
    );
    Value::Array(list)
}

fn meta(kind: &str, location: String, created: DateTime<Utc>, modified: DateTime<Utc>, version: i64) -> Value {
    json!({
        "resourceType": kind,
        "created": time(created),
        "lastModified": time(modified),
        "location": location,
        "version": etag(version),
    })
}

/// A user as SCIM JSON. `base` is the SCIM base URL.
pub fn user_json(u: &User, base: &str) -> Value {
    let location = format!("{base}/Users/{}", u.id);
    let mut out = Map::new();
    out.insert("schemas".into(), schemas(USER_SCHEMA, &u.doc));
    out.insert("id".into(), Value::String(u.id.to_string()));
    for (k, v) in &u.doc {
        out.insert(k.clone(), v.clone());
    }
    if let Some(groups) = &u.groups {
        let list = groups
            .iter()
            .map(|g| json!({"value": g.id, "$ref": format!("{base}/Groups/{}", g.id), "display": g.display, "type": "direct"}))
            .collect();
        out.insert("groups".into(), Value::Array(list));
    }
    out.insert(
        "meta".into(),
        meta("User", location, u.created, u.last_modified, u.version),
    );
    Value::Object(out)
}

/// A group as SCIM JSON.
pub fn group_json(g: &Group, base: &str) -> Value {
    let location = format!("{base}/Groups/{}", g.id);
    let mut out = Map::new();
    out.insert("schemas".into(), schemas(GROUP_SCHEMA, &g.doc));
    out.insert("id".into(), Value::String(g.id.to_string()));
    for (k, v) in &g.doc {
        out.insert(k.clone(), v.clone());
    }
    if let Some(members) = &g.members {
        // No `display`: a member reads back exactly as an IdP wrote it (`value`, `$ref`, `type`),
        // which is what RFC 7644 §3.5.2 PATCH round trips (and scim2-tester) compare; the user's
        // name is one GET away, and no IdP in idp-wire.md reads it.
        let list = members
            .iter()
            .map(|m| json!({"value": m.id, "$ref": format!("{base}/Users/{}", m.id), "type": "User"}))
            .collect();
        out.insert("members".into(), Value::Array(list));
    }
    out.insert(
        "meta".into(),
        meta("Group", location, g.created, g.last_modified, g.version),
    );
    Value::Object(out)
}

/// One requested attribute path, lower-cased: `(urn, name, sub)`.
#[derive(Debug, Clone, PartialEq)]
struct Wanted {
    urn: Option<String>,
    name: String,
    sub: Option<String>,
}

fn parse_list(list: &str, core: &str) -> Vec<Wanted> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let lower = s.to_ascii_lowercase();
            let (urn, rest) = if lower.starts_with("urn:") {
                match lower.rfind(':') {
                    Some(i) => (Some(lower[..i].to_owned()), lower[i + 1..].to_owned()),
                    None => (None, lower.clone()),
                }
            } else {
                (None, lower.clone())
            };
            // `urn:...:User` alone names the whole extension.
            let urn = urn.filter(|u| u != &core.to_ascii_lowercase());
            let (name, sub) = match rest.split_once('.') {
                Some((n, s)) => (n.to_owned(), Some(s.to_owned())),
                None => (rest, None),
            };
            Wanted { urn, name, sub }
        })
        .collect()
}

/// Which attributes a response carries.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    include: Option<Vec<Wanted>>,
    exclude: Vec<Wanted>,
}

const ALWAYS: &[&str] = &["id", "schemas"];

impl Projection {
    /// From the `attributes` and `excludedAttributes` query parameters.
    pub fn new(attributes: Option<&str>, excluded: Option<&str>, core: &str) -> Self {
        Self {
            include: attributes.map(|a| parse_list(a, core)).filter(|l| !l.is_empty()),
            exclude: excluded.map(|e| parse_list(e, core)).unwrap_or_default(),
        }
    }

    /// Whether a top-level core attribute is returned at all (e.g. whether to load `members`).
    pub fn wants(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        let excluded = self
            .exclude
            .iter()
            .any(|w| w.urn.is_none() && w.name == name && w.sub.is_none());
        let included = self
            .include
            .as_ref()
            .is_none_or(|l| l.iter().any(|w| w.urn.is_none() && w.name == name));
        included && !excluded
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, resource: &mut Value) {
        let Some(obj) = resource.as_object_mut() else {
            return;
        };
        if let Some(include) = &self.include {
            obj.retain(|key, value| {
                let k = key.to_ascii_lowercase();
                if ALWAYS.contains(&k.as_str()) {
                    return true;
                }
                if k.starts_with("urn:") {
                    let wanted: Vec<&Wanted> = include.iter().filter(|w| w.urn.as_deref() == Some(&k)).collect();
                    if wanted.iter().any(|w| w.name.is_empty())
                        || include.iter().any(|w| w.urn.is_none() && w.name == k)
                    {
                        return true;
                    }
                    if let Some(ext) = value.as_object_mut() {
                        ext.retain(|sub, _| wanted.iter().any(|w| w.name == sub.to_ascii_lowercase()));
                        return !ext.is_empty();
                    }
                    return false;
                }
                let wanted: Vec<&Wanted> = include.iter().filter(|w| w.urn.is_none() && w.name == k).collect();
                if wanted.is_empty() {
                    return false;
                }
                if wanted.iter().all(|w| w.sub.is_some()) {
                    let subs: Vec<&str> = wanted.iter().filter_map(|w| w.sub.as_deref()).collect();
                    keep_subs(value, &subs);
                }
                true
            });
        }
        for w in &self.exclude {
            match (&w.urn, &w.sub) {
                (Some(urn), _) => {
                    let key = obj.keys().find(|k| k.to_ascii_lowercase() == *urn).cloned();
                    if let Some(key) = key
                        && let Some(ext) = obj.get_mut(&key).and_then(Value::as_object_mut)
                    {
                        ext.retain(|k, _| k.to_ascii_lowercase() != w.name);
                    }
                }
                (None, None) => obj.retain(|k, _| {
                    let k = k.to_ascii_lowercase();
                    ALWAYS.contains(&k.as_str()) || k != w.name
                }),
                (None, Some(sub)) => {
                    let key = obj.keys().find(|k| k.to_ascii_lowercase() == w.name).cloned();
                    if let Some(v) = key.and_then(|k| obj.get_mut(&k)) {
                        drop_sub(v, sub);
                    }
                }
            }
        }
    }
}

fn keep_subs(value: &mut Value, subs: &[&str]) {
    match value {
        Value::Object(o) => o.retain(|k, _| subs.contains(&k.to_ascii_lowercase().as_str())),
        Value::Array(items) => items.iter_mut().for_each(|i| keep_subs(i, subs)),
        _ => {}
    }
}

fn drop_sub(value: &mut Value, sub: &str) {
    match value {
        Value::Object(o) => o.retain(|k, _| k.to_ascii_lowercase() != sub),
        Value::Array(items) => items.iter_mut().for_each(|i| drop_sub(i, sub)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_round_trip_and_garbage_is_refused() {
        assert_eq!(parse_etag(&etag(7)), Ok(Some(7)));
        assert_eq!(parse_etag("\"7\""), Ok(Some(7)));
        assert_eq!(parse_etag("*"), Ok(None));
        assert_eq!(parse_etag("W/\"x\""), Err(ForeignEtag));
    }

    #[test]
    fn projection_keeps_id_and_requested_attributes_only() {
        let mut v = json!({"schemas": [], "id": "1", "userName": "a", "name": {"givenName": "g", "familyName": "f"},
            "emails": [{"value": "a@x", "type": "work"}], "meta": {},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "d", "division": "v"}});
        Projection::new(
            Some("userName,name.givenName,emails.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
            None,
            USER_SCHEMA,
        )
        .apply(&mut v);
        assert_eq!(
            v,
            json!({"schemas": [], "id": "1", "userName": "a", "name": {"givenName": "g"}, "emails": [{"value": "a@x"}],
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "d"}})
        );
    }

    #[test]
    fn excluded_members_are_not_wanted_and_removed() {
        let p = Projection::new(None, Some("members"), GROUP_SCHEMA);
        assert!(!p.wants("members"));
        assert!(p.wants("displayName"));
        let mut v = json!({"id": "1", "displayName": "x", "members": []});
        p.apply(&mut v);
        assert_eq!(v, json!({"id": "1", "displayName": "x"}));
    }
}
