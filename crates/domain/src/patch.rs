//! SCIM PATCH (RFC 7644 §3.5.2): request parsing and a schema-driven engine that applies
//! operations to a resource document.
//!
//! The document is a JSON object holding the resource's attributes: core attributes at the
//! top level, extension attributes nested under their schema URN. `id`, `meta` and `schemas`
//! are never in it; the caller owns those.
//!
//! Besides RFC 7644 §3.5.2.1-3 the engine absorbs what real identity providers send
//! (Okta, Microsoft Entra ID, OneLogin, JumpCloud): operation names in any case, `"False"`
//! strings for booleans, `id` inside a no-path value, `emails[type eq "work"].value` on a
//! user without a work email, `remove` with a value list, `""` meaning "unset", and so on.
//! Each leniency is commented where it is implemented.

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::filter::{self, AttrPath, Filter, get_ci};
use crate::schema::{self, AttrType, AttributeDef, Mutability, ResourceKind, Returned, SchemaDef};

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

/// The three PATCH operations (RFC 7644 §3.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    Add,
    Replace,
    Remove,
}

impl PatchOpKind {
    /// The operation name as RFC 7644 writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Replace => "replace",
            Self::Remove => "remove",
        }
    }
}

/// A PATCH path (RFC 7644 §3.5.2, `PATH = attrPath / valuePath [subAttr]`).
///
/// * `members[value eq "x"]` -> `attr` members, `filter` Some(value eq "x"), `sub` None;
/// * `emails[type eq "work"].value` -> `attr` emails, `filter` Some(type eq "work"),
///   `sub` Some("value");
/// * `name.givenName` -> `attr` {name, sub givenName}, no filter, `sub` None: without a
///   filter the sub-attribute stays inside the [`AttrPath`];
/// * `urn:...:enterprise:2.0:User:employeeNumber` -> `attr` {urn Some(..), employeeNumber};
/// * a path that is exactly the URN of a known schema (one of `schema::ALL`, e.g.
///   `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`) -> `attr` {urn Some(that
///   URN), name ""}: the whole extension object. An unknown extension URN cannot be told
///   apart from a URN-qualified attribute, so it parses as the latter.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

impl PatchPath {
    /// Parses a PATCH path; errors are [`PatchError::InvalidPath`].
    pub fn parse(s: &str) -> Result<PatchPath, PatchError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PatchError::InvalidPath("the path is empty".into()));
        }
        if schema::ALL.iter().any(|schema| schema.id.eq_ignore_ascii_case(s)) {
            return Ok(PatchPath {
                attr: AttrPath {
                    urn: Some(s.to_string()),
                    name: String::new(),
                    sub: None,
                },
                filter: None,
                sub: None,
            });
        }
        let (attr, filter, sub) =
            filter::parse_value_path(s).map_err(|e| PatchError::InvalidPath(format!("invalid path '{s}': {e}")))?;
        Ok(PatchPath { attr, filter, sub })
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// One PATCH operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: PatchOpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// Why a PATCH failed; each variant is an RFC 7644 §3.12 `scimType`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    /// Malformed body, unknown op, missing `Operations` (`invalidSyntax`).
    #[error("{0}")]
    InvalidSyntax(String),
    /// Unparseable or unknown path (`invalidPath`).
    #[error("{0}")]
    InvalidPath(String),
    /// Value missing or of the wrong type (`invalidValue`).
    #[error("{0}")]
    InvalidValue(String),
    /// The path's filter matched nothing where a match is required (`noTarget`,
    /// RFC 7644 §3.5.2).
    #[error("{0}")]
    NoTarget(String),
    /// Attempt to modify a readOnly/immutable attribute, or to unset a required one
    /// (`mutability`).
    #[error("{0}")]
    Mutability(String),
}

use PatchError::{InvalidPath, InvalidSyntax, InvalidValue, Mutability as MutabilityError, NoTarget};

// ---------------------------------------------------------------------------------------
// Request parsing
// ---------------------------------------------------------------------------------------

/// Keys of a no-path value object that are silently skipped: Okta sends
/// `{"op":"replace","value":{"id":"...","displayName":"New"}}` when renaming a group, and
/// these common attributes are the caller's business (RFC 7643 §3.1).
const IGNORED_VALUE_KEYS: [&str; 3] = ["id", "meta", "schemas"];

fn is_ignored_key(k: &str) -> bool {
    IGNORED_VALUE_KEYS.iter().any(|i| i.eq_ignore_ascii_case(k))
}

/// Parses a PATCH body (RFC 7644 §3.5.2).
///
/// Lenient where identity providers differ from the RFC: a missing `schemas` is tolerated,
/// `Operations`, `op`, `path` and `value` keys and the op names are matched in any case, and
/// an empty `path` means no path. A `schemas` that is present must be an array of strings
/// containing `urn:ietf:params:scim:api:messages:2.0:PatchOp`.
pub fn parse_patch_request(body: &Value) -> Result<Vec<PatchOp>, PatchError> {
    let Some(obj) = body.as_object() else {
        return Err(InvalidSyntax("the PATCH body must be a JSON object".into()));
    };
    if let Some(schemas) = get_ci(obj, "schemas") {
        let Some(list) = schemas.as_array().filter(|l| l.iter().all(Value::is_string)) else {
            return Err(InvalidSyntax("'schemas' must be an array of strings".into()));
        };
        if !list
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema::PATCH_OP)))
        {
            return Err(InvalidSyntax(format!(
                "'schemas' must contain \"{}\"",
                schema::PATCH_OP
            )));
        }
    }
    let Some(ops) = get_ci(obj, "Operations") else {
        return Err(InvalidSyntax("the PATCH body has no 'Operations'".into()));
    };
    let Some(ops) = ops.as_array() else {
        return Err(InvalidSyntax("'Operations' must be an array".into()));
    };
    if ops.is_empty() {
        return Err(InvalidSyntax("'Operations' must not be empty".into()));
    }
    ops.iter().enumerate().map(|(i, op)| parse_op(i, op)).collect()
}

fn parse_op(index: usize, op: &Value) -> Result<PatchOp, PatchError> {
    let Some(obj) = op.as_object() else {
        return Err(InvalidSyntax(format!("operation {index} is not a JSON object")));
    };
    let kind = match get_ci(obj, "op") {
        Some(Value::String(name)) => match name.to_ascii_lowercase().as_str() {
            "add" => PatchOpKind::Add,
            "replace" => PatchOpKind::Replace,
            "remove" => PatchOpKind::Remove,
            _ => {
                return Err(InvalidSyntax(format!(
                    "unknown op '{name}' in operation {index}: expected add, replace or remove"
                )));
            }
        },
        Some(_) => {
            return Err(InvalidSyntax(format!("'op' of operation {index} must be a string")));
        }
        None => return Err(InvalidSyntax(format!("operation {index} has no 'op'"))),
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(PatchPath::parse(s)?),
        Some(_) => {
            return Err(InvalidPath(format!("'path' of operation {index} must be a string")));
        }
    };
    let value = get_ci(obj, "value").cloned();
    match kind {
        // RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP
        // status code 400 and a "scimType" error code of "noTarget"."
        PatchOpKind::Remove if path.is_none() => {
            return Err(NoTarget(format!("operation {index}: 'remove' requires a path")));
        }
        // RFC 7644 §3.5.2.1 and §3.5.2.3: add and replace carry a "value".
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => {
            return Err(InvalidValue(format!(
                "operation {index}: '{}' requires a 'value'",
                kind.as_str()
            )));
        }
        _ => {}
    }
    Ok(PatchOp { op: kind, path, value })
}

// ---------------------------------------------------------------------------------------
// Engine entry points
// ---------------------------------------------------------------------------------------

/// Applies one operation to a resource document (core attributes at the top level,
/// extension attributes under their URN key). `kind` selects the schema. On error the
/// document is left untouched.
pub fn apply_op(doc: &mut Map<String, Value>, op: &PatchOp, kind: ResourceKind) -> Result<(), PatchError> {
    let mut work = doc.clone();
    apply_in_place(&mut work, op, kind)?;
    *doc = work;
    Ok(())
}

/// Applies all operations in order to a copy and returns it, or the first error. RFC 7644
/// §3.5.2: PATCH is atomic, so the caller's document is never partially changed.
pub fn apply_all(
    doc: &Map<String, Value>,
    ops: &[PatchOp],
    kind: ResourceKind,
) -> Result<Map<String, Value>, PatchError> {
    let mut work = doc.clone();
    for op in ops {
        apply_in_place(&mut work, op, kind)?;
    }
    Ok(work)
}

/// Applies one operation, possibly leaving `doc` half-changed on error (the public entry
/// points work on a copy).
fn apply_in_place(doc: &mut Map<String, Value>, op: &PatchOp, kind: ResourceKind) -> Result<(), PatchError> {
    match &op.path {
        None if op.op == PatchOpKind::Remove => Err(NoTarget("'remove' requires a path".into())),
        None => apply_object(doc, op.op, need(op.value.as_ref(), op.op)?, kind),
        Some(p) => apply_path(
            doc,
            op.op,
            &p.attr,
            p.filter.as_ref(),
            p.sub.as_deref(),
            op.value.as_ref(),
            kind,
        ),
    }
}

fn need(value: Option<&Value>, op: PatchOpKind) -> Result<&Value, PatchError> {
    value.ok_or_else(|| InvalidValue(format!("'{}' requires a 'value'", op.as_str())))
}

/// A no-path add or replace: RFC 7644 §3.5.2.1 ("the target location is assumed to be the
/// resource itself") and §3.5.2.3 ("the "value" parameter contains a list of one or more
/// attributes that are to be replaced"). Each key is applied as if it were a path.
fn apply_object(
    doc: &mut Map<String, Value>,
    op: PatchOpKind,
    value: &Value,
    kind: ResourceKind,
) -> Result<(), PatchError> {
    let Value::Object(obj) = value else {
        return Err(InvalidValue(format!(
            "'{}' without a path needs an object of attributes as its value",
            op.as_str()
        )));
    };
    for (key, v) in obj {
        if is_ignored_key(key) {
            continue;
        }
        apply_key(doc, op, key, v, kind)?;
    }
    Ok(())
}

/// One key of a no-path value object: a simple name, a dotted name (`name.givenName`,
/// Entra), a URN-qualified name, or an extension URN whose value is an object of that
/// extension's attributes.
fn apply_key(
    doc: &mut Map<String, Value>,
    op: PatchOpKind,
    key: &str,
    v: &Value,
    kind: ResourceKind,
) -> Result<(), PatchError> {
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        if key.eq_ignore_ascii_case(kind.core().id) {
            return apply_object(doc, op, v, kind);
        }
        let known_extension = kind.extensions().iter().any(|s| s.id.eq_ignore_ascii_case(key));
        let qualified_known = AttrPath::parse(key)
            .ok()
            .and_then(|p| p.urn)
            .is_some_and(|u| kind.schema(&u).is_some());
        // A key that is not an attribute of a known schema but holds an object is taken as
        // a whole custom extension (IdPs send their own extensions; we keep them).
        if known_extension || (!qualified_known && v.is_object()) {
            let whole = AttrPath {
                urn: Some(key.to_string()),
                name: String::new(),
                sub: None,
            };
            return apply_path(doc, op, &whole, None, None, Some(v), kind);
        }
    }
    let attr = AttrPath::parse(key).map_err(|e| InvalidPath(format!("invalid attribute '{key}' in the value: {e}")))?;
    apply_path(doc, op, &attr, None, None, Some(v), kind)
}

// ---------------------------------------------------------------------------------------
// Path resolution
// ---------------------------------------------------------------------------------------

/// Where an attribute lives in the document.
#[derive(Debug, Clone)]
enum Container {
    /// The top level.
    Core,
    /// The object under this extension URN key.
    Ext(String),
}

#[derive(Debug)]
struct Sub {
    key: String,
    def: Option<&'static AttributeDef>,
}

/// A path resolved against the schema.
#[derive(Debug)]
struct Target<'p> {
    container: Container,
    /// The attribute's key in canonical case.
    key: String,
    /// None for an attribute of an extension with no known schema.
    def: Option<&'static AttributeDef>,
    sub: Option<Sub>,
    filter: Option<&'p Filter>,
}

#[derive(Debug)]
enum Resolved<'p> {
    /// The core schema URN itself: the resource.
    Core,
    /// A whole extension object.
    Extension(String),
    Attr(Target<'p>),
    /// An attribute that is accepted and thrown away (`password`).
    Discard,
}

fn existing_key(map: &Map<String, Value>, wanted: &str) -> Option<String> {
    if map.contains_key(wanted) {
        return Some(wanted.to_string());
    }
    map.keys().find(|k| k.eq_ignore_ascii_case(wanted)).cloned()
}

/// Resolves `attr` (plus a value filter and the sub-attribute written after it) against the
/// schema of `kind`, enforcing mutability (RFC 7643 §2.2).
fn resolve<'p>(
    doc: &Map<String, Value>,
    attr: &AttrPath,
    filter: Option<&'p Filter>,
    filter_sub: Option<&str>,
    kind: ResourceKind,
) -> Result<Resolved<'p>, PatchError> {
    let (container, schema): (Container, Option<&'static SchemaDef>) = match &attr.urn {
        None => (Container::Core, Some(kind.core())),
        Some(u) if u.eq_ignore_ascii_case(kind.core().id) => (Container::Core, Some(kind.core())),
        Some(u) => match kind.extensions().iter().find(|s| s.id.eq_ignore_ascii_case(u)) {
            Some(s) => (Container::Ext(s.id.to_string()), Some(*s)),
            None if schema::ALL.iter().any(|s| s.id.eq_ignore_ascii_case(u)) => {
                return Err(InvalidPath(format!(
                    "schema '{u}' does not apply to {} resources",
                    kind.name()
                )));
            }
            // An extension we have no schema for: kept as sent, any attribute name accepted.
            None => (Container::Ext(existing_key(doc, u).unwrap_or_else(|| u.clone())), None),
        },
    };
    if attr.name.is_empty() {
        if filter.is_some() || attr.sub.is_some() || filter_sub.is_some() {
            return Err(InvalidPath("a schema URN path takes no filter or sub-attribute".into()));
        }
        return Ok(match container {
            Container::Core => Resolved::Core,
            Container::Ext(key) => Resolved::Extension(key),
        });
    }
    let def = match schema {
        Some(s) => Some(lookup(s, &attr.name, matches!(container, Container::Core))?),
        None => None,
    };
    if let Some(d) = def {
        // RFC 7643 §2.2: readOnly attributes "SHALL NOT be modified"; RFC 7644 §3.5.2
        // answers with `mutability`.
        if d.mutability == Mutability::ReadOnly {
            return Err(MutabilityError(format!(
                "'{}' is read-only and cannot be modified",
                d.name
            )));
        }
        // The password is accepted for compatibility and never stored.
        if d.mutability == Mutability::WriteOnly && d.returned == Returned::Never {
            return Ok(Resolved::Discard);
        }
    }
    let key = match (def, &container) {
        (Some(d), _) => d.name.to_string(),
        (None, Container::Ext(ext)) => doc
            .get(ext)
            .and_then(Value::as_object)
            .and_then(|m| existing_key(m, &attr.name))
            .unwrap_or_else(|| attr.name.clone()),
        (None, Container::Core) => attr.name.clone(),
    };
    let sub_name = match (attr.sub.as_deref(), filter_sub) {
        (Some(_), Some(_)) => return Err(InvalidPath(format!("'{attr}' has two sub-attributes"))),
        (a, b) => a.or(b),
    };
    let sub = match (sub_name, def) {
        (None, _) => None,
        (Some(s), None) => Some(Sub {
            key: s.to_string(),
            def: None,
        }),
        (Some(s), Some(d)) => {
            if d.sub_attributes.is_empty() {
                return Err(InvalidPath(format!("'{}' has no sub-attributes", d.name)));
            }
            let Some(sd) = d.sub_attribute(s) else {
                return Err(InvalidPath(format!("unknown attribute '{}.{s}'", d.name)));
            };
            if sd.mutability == Mutability::ReadOnly {
                return Err(MutabilityError(format!(
                    "'{}.{}' is read-only and cannot be modified",
                    d.name, sd.name
                )));
            }
            Some(Sub {
                key: sd.name.to_string(),
                def: Some(sd),
            })
        }
    };
    if let (Some(f), Some(d)) = (filter, def) {
        if !d.multi_valued {
            return Err(InvalidPath(format!(
                "'{}' is single-valued and cannot take a value filter",
                d.name
            )));
        }
        check_filter_paths(f, d)?;
    }
    Ok(Resolved::Attr(Target {
        container,
        key,
        def,
        sub,
        filter,
    }))
}

/// The attribute `name` of `schema`; in the core schema also the common attributes
/// (RFC 7643 §3.1: `id`, `externalId`, `meta`, `schemas`).
fn lookup(schema: &'static SchemaDef, name: &str, core: bool) -> Result<&'static AttributeDef, PatchError> {
    if let Some(d) = schema.attribute(name) {
        return Ok(d);
    }
    if core && let Some(d) = filter::common_attribute(name) {
        return Ok(d);
    }
    Err(InvalidPath(format!("unknown attribute '{name}'")))
}

/// RFC 7644 §3.5.2: an unrecognised attribute in the value filter is `invalidPath`, not a
/// silent "matches nothing".
fn check_filter_paths(f: &Filter, def: &AttributeDef) -> Result<(), PatchError> {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_filter_paths(a, def)?;
            check_filter_paths(b, def)
        }
        Filter::Not(inner) => check_filter_paths(inner, def),
        Filter::Present(path) | Filter::Compare { path, .. } => {
            let known = path.urn.is_none()
                && path.sub.is_none()
                && if def.sub_attributes.is_empty() {
                    path.name.eq_ignore_ascii_case("value")
                } else {
                    def.sub_attribute(&path.name).is_some()
                };
            if known {
                Ok(())
            } else {
                Err(InvalidPath(format!(
                    "unknown attribute '{path}' in the filter on '{}'",
                    def.name
                )))
            }
        }
        Filter::ValuePath { .. } => Err(InvalidPath("nested value paths are not allowed".into())),
    }
}

// ---------------------------------------------------------------------------------------
// Applying to a resolved path
// ---------------------------------------------------------------------------------------

fn apply_path(
    doc: &mut Map<String, Value>,
    op: PatchOpKind,
    attr: &AttrPath,
    filter: Option<&Filter>,
    filter_sub: Option<&str>,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), PatchError> {
    match resolve(doc, attr, filter, filter_sub, kind)? {
        Resolved::Discard => Ok(()),
        Resolved::Core => match op {
            PatchOpKind::Remove => Err(InvalidPath("the resource itself cannot be removed".into())),
            _ => apply_object(doc, op, need(value, op)?, kind),
        },
        Resolved::Extension(key) => apply_extension(doc, op, &key, value, kind),
        Resolved::Attr(target) => with_container(doc, &target.container, |m| apply_target(m, op, &target, value)),
    }
}

/// A whole extension object: remove drops it; add/replace merge its attributes one by one
/// (like a complex attribute, RFC 7644 §3.5.2.3: attributes not given are left unchanged).
fn apply_extension(
    doc: &mut Map<String, Value>,
    op: PatchOpKind,
    key: &str,
    value: Option<&Value>,
    kind: ResourceKind,
) -> Result<(), PatchError> {
    let remove = |doc: &mut Map<String, Value>| {
        if let Some(k) = existing_key(doc, key) {
            doc.remove(&k);
        }
    };
    if op == PatchOpKind::Remove {
        remove(doc);
        return Ok(());
    }
    match need(value, op)? {
        Value::Null => {
            remove(doc);
            Ok(())
        }
        Value::Object(obj) => {
            for (k, v) in obj {
                if is_ignored_key(k) {
                    continue;
                }
                let mut attr =
                    AttrPath::parse(k).map_err(|e| InvalidPath(format!("invalid attribute '{k}' in '{key}': {e}")))?;
                if attr.urn.is_some() {
                    return Err(InvalidPath(format!("'{k}' inside '{key}' must not be URN-qualified")));
                }
                attr.urn = Some(key.to_string());
                apply_path(doc, op, &attr, None, None, Some(v), kind)?;
            }
            Ok(())
        }
        _ => Err(InvalidValue(format!(
            "the value of extension '{key}' must be an object"
        ))),
    }
}

/// Runs `f` on the map the attribute lives in. An extension object is taken out, changed,
/// and put back under its canonical key only if it is not empty, so removing an
/// extension's last attribute removes the extension.
fn with_container(
    doc: &mut Map<String, Value>,
    container: &Container,
    f: impl FnOnce(&mut Map<String, Value>) -> Result<(), PatchError>,
) -> Result<(), PatchError> {
    match container {
        Container::Core => f(doc),
        Container::Ext(key) => {
            let mut ext = match existing_key(doc, key).and_then(|k| doc.remove(&k)) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let result = f(&mut ext);
            if !ext.is_empty() {
                doc.insert(key.clone(), Value::Object(ext));
            }
            result
        }
    }
}

/// Moves a value stored under a differently-cased key to the canonical key, so that
/// `NAME.GIVENNAME` writes `name.givenName` and never creates a duplicate.
fn normalize_key(map: &mut Map<String, Value>, canonical: &str) {
    if map.contains_key(canonical) {
        return;
    }
    if let Some(k) = map.keys().find(|k| k.eq_ignore_ascii_case(canonical)).cloned()
        && let Some(v) = map.remove(&k)
    {
        map.insert(canonical.to_string(), v);
    }
}

fn apply_target(
    m: &mut Map<String, Value>,
    op: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    normalize_key(m, &t.key);
    let multi = match t.def {
        Some(d) => d.multi_valued,
        // No schema: the data decides.
        None => {
            t.filter.is_some()
                || m.get(&t.key).is_some_and(Value::is_array)
                || (t.sub.is_none() && value.is_some_and(Value::is_array))
        }
    };
    if multi {
        apply_multi(m, op, t, value)
    } else {
        apply_single(m, op, t, value)
    }
}

/// Unsets an attribute. RFC 7644 §3.5.2.2: "If an attribute is removed or becomes
/// unassigned and is defined as a required attribute or a read-only attribute, the server
/// SHALL return ... a "scimType" error code of "mutability"."
fn unset(m: &mut Map<String, Value>, t: &Target<'_>) -> Result<(), PatchError> {
    if let Some(d) = t.def
        && d.required
    {
        return Err(MutabilityError(format!(
            "'{}' is required and cannot be removed",
            d.name
        )));
    }
    m.remove(&t.key);
    Ok(())
}

/// Takes the object stored under `key` out of `m` (an empty one if absent or not an
/// object); [`put_object`] puts it back.
fn take_object(m: &mut Map<String, Value>, key: &str) -> Map<String, Value> {
    match m.remove(key) {
        Some(Value::Object(o)) => o,
        _ => Map::new(),
    }
}

/// Stores `obj` under `key`, or leaves the attribute unassigned when it is empty (an empty
/// complex value is no value, RFC 7643 §2.5).
fn put_object(m: &mut Map<String, Value>, key: &str, obj: Map<String, Value>) {
    if !obj.is_empty() {
        m.insert(key.to_string(), Value::Object(obj));
    }
}

/// A single-valued attribute, simple or complex (RFC 7644 §3.5.2.1-3).
fn apply_single(
    m: &mut Map<String, Value>,
    op: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let complex = t.def.is_some_and(|d| d.ty == AttrType::Complex);
    match (&t.sub, op) {
        (None, PatchOpKind::Remove) => unset(m, t),
        (None, _) if complex => {
            let v = need(value, op)?;
            let Some(entries) = complex_entries(t.def, &t.key, v)? else {
                return unset(m, t);
            };
            // RFC 7644 §3.5.2.1/§3.5.2.3: for a complex attribute the given
            // sub-attributes replace or are added; "sub-attributes that are not specified
            // in the value parameter are left unchanged".
            let mut obj = take_object(m, &t.key);
            for (k, x) in entries {
                normalize_key(&mut obj, &k);
                match x {
                    Some(x) => obj.insert(k, x),
                    None => obj.remove(&k),
                };
            }
            put_object(m, &t.key, obj);
            Ok(())
        }
        (None, _) => {
            // RFC 7644 §3.5.2.1: add on a single-valued attribute replaces its value (Entra
            // sends add for attributes that are already set).
            match coerce_scalar(t.def, &t.key, need(value, op)?)? {
                Some(x) => {
                    m.insert(t.key.clone(), x);
                    Ok(())
                }
                None => unset(m, t),
            }
        }
        (Some(sub), PatchOpKind::Remove) => {
            let mut obj = take_object(m, &t.key);
            if let Some(k) = existing_key(&obj, &sub.key) {
                obj.remove(&k);
            }
            put_object(m, &t.key, obj);
            Ok(())
        }
        (Some(sub), _) => {
            let label = format!("{}.{}", t.key, sub.key);
            let x = coerce_scalar(sub.def, &label, need(value, op)?)?;
            let mut obj = take_object(m, &t.key);
            normalize_key(&mut obj, &sub.key);
            match x {
                Some(x) => obj.insert(sub.key.clone(), x),
                None => obj.remove(&sub.key),
            };
            put_object(m, &t.key, obj);
            Ok(())
        }
    }
}

/// A multi-valued attribute (RFC 7644 §3.5.2.1-3), with or without a value filter and a
/// sub-attribute.
fn apply_multi(
    m: &mut Map<String, Value>,
    op: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<(), PatchError> {
    let mut list = match m.remove(&t.key) {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    };
    let winner = match t.filter {
        None => multi_unfiltered(&mut list, op, t, value)?,
        Some(f) => multi_filtered(&mut list, op, t, f, value)?,
    };
    if op != PatchOpKind::Remove {
        normalize_primary(&mut list, winner);
    }
    // RFC 7644 §3.5.2.2: "If no other values remain after removal of the selected values,
    // the multi-valued attribute SHALL be considered unassigned."
    if list.is_empty() {
        if op == PatchOpKind::Replace && t.def.is_some_and(|d| d.required) {
            return Err(MutabilityError(format!(
                "'{}' is required and cannot be emptied",
                t.key
            )));
        }
    } else {
        m.insert(t.key.clone(), Value::Array(list));
    }
    Ok(())
}

/// No value filter. Returns the index of the element last written with `primary: true`.
fn multi_unfiltered(
    list: &mut Vec<Value>,
    op: PatchOpKind,
    t: &Target<'_>,
    value: Option<&Value>,
) -> Result<Option<usize>, PatchError> {
    let mut winner = None;
    match (&t.sub, op) {
        (None, PatchOpKind::Add) => {
            // RFC 7644 §3.5.2.1: "If the target location specifies a multi-valued
            // attribute, a new value is added to the attribute"; a value already there is
            // not duplicated ("no changes SHOULD be made").
            for item in items(t.def, &t.key, need(value, op)?)? {
                winner = add_item(list, item, t.def).or(winner);
            }
        }
        (None, PatchOpKind::Replace) => {
            // RFC 7644 §3.5.2.3: without a filter the whole set of values is replaced.
            let new = items(t.def, &t.key, need(value, op)?)?;
            list.clear();
            for item in new {
                winner = add_item(list, item, t.def).or(winner);
            }
        }
        (None, PatchOpKind::Remove) => match value {
            // Entra ID: `{"op":"remove","path":"members","value":[{"value":"id1"}]}` removes
            // only the listed values, not the whole attribute.
            Some(v) if !v.is_null() => {
                let listed: Vec<&Value> = match v {
                    Value::Array(a) => a.iter().collect(),
                    other => vec![other],
                };
                let ci = value_case_insensitive(t.def);
                list.retain(|e| !listed.iter().any(|l| listed_match(e, l, ci)));
            }
            _ => list.clear(),
        },
        (Some(sub), PatchOpKind::Remove) => {
            for e in list.iter_mut() {
                remove_sub(e, &sub.key);
            }
            drop_empty(list);
        }
        (Some(sub), _) => {
            // `emails.value` with no filter addresses every value (RFC 7644 §3.5.2.3 applies
            // the change to all values when no filter selects some).
            let label = format!("{}.{}", t.key, sub.key);
            let x = coerce_scalar(sub.def, &label, need(value, op)?)?;
            if list.is_empty() {
                if let Some(x) = x.clone() {
                    let mut obj = Map::new();
                    obj.insert(sub.key.clone(), x);
                    list.push(Value::Object(obj));
                }
            } else {
                for e in list.iter_mut() {
                    set_sub(e, sub, x.clone())?;
                }
                drop_empty(list);
            }
            if is_primary_true(&sub.key, x.as_ref()) {
                winner = list.len().checked_sub(1);
            }
        }
    }
    Ok(winner)
}

/// With a value filter (RFC 7644 §3.5.2.1-3 "valuePath").
fn multi_filtered(
    list: &mut Vec<Value>,
    op: PatchOpKind,
    t: &Target<'_>,
    f: &Filter,
    value: Option<&Value>,
) -> Result<Option<usize>, PatchError> {
    let attrs: &[AttributeDef] = t.def.map_or(&[][..], |d| d.sub_attributes);
    let hits: Vec<usize> = list
        .iter()
        .enumerate()
        .filter(|(_, e)| filter::matches(f, e, attrs))
        .map(|(i, _)| i)
        .collect();
    let no_target = || NoTarget(format!("no value of '{}' matches the filter '{f}'", t.key));
    let mut winner = None;
    match (&t.sub, op) {
        (None, PatchOpKind::Remove) => {
            // RFC 7644 §3.5.2.2: the values matched by the filter are removed. Matching
            // nothing is not an error: the desired state already holds.
            let mut i = 0;
            list.retain(|_| {
                let keep = !hits.contains(&i);
                i += 1;
                keep
            });
        }
        (Some(sub), PatchOpKind::Remove) => {
            for &i in &hits {
                if let Some(e) = list.get_mut(i) {
                    remove_sub(e, &sub.key);
                }
            }
            drop_empty(list);
        }
        (None, PatchOpKind::Replace) => {
            // RFC 7644 §3.5.2.3: "all matching record values SHALL be replaced"; no match
            // is `noTarget`.
            let v = need(value, op)?;
            let v = match v {
                Value::Array(a) if a.len() == 1 => a.first().unwrap_or(v),
                other => other,
            };
            let new =
                item(t.def, &t.key, v)?.ok_or_else(|| InvalidValue(format!("'{}' needs a non-empty value", t.key)))?;
            if hits.is_empty() {
                return Err(no_target());
            }
            for &i in &hits {
                if let Some(e) = list.get_mut(i) {
                    *e = new.clone();
                }
            }
            if is_primary(&new) {
                winner = hits.last().copied();
            }
        }
        (None, _) => {
            // Add with a filter: merge the value into every matching element, or create
            // the element the filter describes when none matches.
            let entries = complex_entries(t.def, &t.key, need(value, op)?)?.unwrap_or_default();
            if hits.is_empty() {
                let mut obj = element_from_filter(f, t.def).ok_or_else(no_target)?;
                merge_entries(&mut obj, &entries);
                winner = is_primary_entries(&entries).then_some(list.len());
                list.push(Value::Object(obj));
            } else {
                for &i in &hits {
                    if let Some(Value::Object(obj)) = list.get_mut(i) {
                        merge_entries(obj, &entries);
                    }
                }
                if is_primary_entries(&entries) {
                    winner = hits.last().copied();
                }
                drop_empty(list);
            }
        }
        (Some(sub), _) => {
            // RFC 7644 §3.5.2.3: "the matching values' sub-attribute SHALL be replaced".
            // When nothing matches, an `eq`-only filter describes the element to create:
            // Entra ID sends `replace emails[type eq "work"].value` to a user without a
            // work email and expects it to be added.
            let label = format!("{}.{}", t.key, sub.key);
            let x = coerce_scalar(sub.def, &label, need(value, op)?)?;
            if hits.is_empty() {
                let Some(x) = x.clone() else {
                    // Unsetting a sub-attribute of nothing: already done.
                    return Ok(None);
                };
                let mut obj = element_from_filter(f, t.def).ok_or_else(no_target)?;
                obj.insert(sub.key.clone(), x);
                list.push(Value::Object(obj));
                if is_primary_true(&sub.key, list.last().and_then(|e| e.get(&sub.key))) {
                    winner = list.len().checked_sub(1);
                }
            } else {
                for &i in &hits {
                    if let Some(e) = list.get_mut(i) {
                        set_sub(e, sub, x.clone())?;
                    }
                }
                if is_primary_true(&sub.key, x.as_ref()) {
                    winner = hits.last().copied();
                }
                drop_empty(list);
            }
        }
    }
    Ok(winner)
}

// ---------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------

/// Converts a value for a simple attribute (or sub-attribute) to its stored form.
/// `Ok(None)` means "unset": `null` (RFC 7644 §3.5.2.3 replace with null), and the empty
/// string, which OneLogin sends for fields it has no mapping for.
fn coerce_scalar(def: Option<&AttributeDef>, label: &str, v: &Value) -> Result<Option<Value>, PatchError> {
    match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.is_empty() => return Ok(None),
        _ => {}
    }
    let Some(d) = def else {
        return Ok(Some(v.clone()));
    };
    let wrong = |what: &str| InvalidValue(format!("'{label}' must be {what}, not {v}"));
    match d.ty {
        AttrType::String | AttrType::Reference => match v {
            Value::String(_) => Ok(Some(v.clone())),
            _ => Err(wrong("a string")),
        },
        AttrType::DateTime => match v {
            Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => Ok(Some(v.clone())),
            _ => Err(wrong("an RFC 3339 date-time string")),
        },
        // Entra ID sends `"value": "False"` for `active`: accept the two strings in any case.
        AttrType::Boolean => match v {
            Value::Bool(_) => Ok(Some(v.clone())),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(wrong("a boolean")),
        },
        AttrType::Integer => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(v.clone())),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(|i| Some(Value::Number(i.into())))
                .map_err(|_| wrong("an integer")),
            _ => Err(wrong("an integer")),
        },
        AttrType::Decimal => match v {
            Value::Number(_) => Ok(Some(v.clone())),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(|n| Some(Value::Number(n)))
                .ok_or_else(|| wrong("a number")),
            _ => Err(wrong("a number")),
        },
        AttrType::Complex => Err(wrong("an object")),
    }
}

type Entries = Vec<(String, Option<Value>)>;

/// The sub-attributes of a complex value, each coerced; `None` entries unset that
/// sub-attribute. `Ok(None)` for a `null` value (unset the attribute).
fn complex_entries(def: Option<&AttributeDef>, label: &str, v: &Value) -> Result<Option<Entries>, PatchError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(obj) => {
            let mut out = Vec::with_capacity(obj.len());
            for (k, sv) in obj {
                let Some(d) = def else {
                    out.push((k.clone(), (!sv.is_null()).then(|| sv.clone())));
                    continue;
                };
                let Some(sd) = d.sub_attribute(k) else {
                    return Err(InvalidValue(format!("'{k}' is not a sub-attribute of '{label}'")));
                };
                // RFC 7643 §2.2: values of readOnly sub-attributes sent by a client are
                // ignored (IdPs echo `display` of members and manager.displayName).
                if sd.mutability == Mutability::ReadOnly
                    || (sd.mutability == Mutability::WriteOnly && sd.returned == Returned::Never)
                {
                    continue;
                }
                let x = coerce_scalar(Some(sd), &format!("{label}.{}", sd.name), sv)?;
                out.push((sd.name.to_string(), x));
            }
            Ok(Some(out))
        }
        // Entra ID sends the manager as a bare id string: it is the `value`
        // sub-attribute (RFC 7643 §2.4: `value` is the significant value).
        Value::String(_) if def.is_some_and(|d| d.sub_attribute("value").is_some()) => Ok(Some(vec![(
            "value".to_string(),
            coerce_scalar(def.and_then(|d| d.sub_attribute("value")), label, v)?,
        )])),
        _ => Err(InvalidValue(format!("'{label}' must be an object, not {v}"))),
    }
}

fn merge_entries(obj: &mut Map<String, Value>, entries: &Entries) {
    for (k, x) in entries {
        normalize_key(obj, k);
        match x {
            Some(x) => obj.insert(k.clone(), x.clone()),
            None => obj.remove(k),
        };
    }
}

/// One element of a multi-valued attribute in stored form; `None` when it carries nothing.
fn item(def: Option<&AttributeDef>, label: &str, v: &Value) -> Result<Option<Value>, PatchError> {
    let complex = def.is_none_or(|d| d.ty == AttrType::Complex);
    if complex && (v.is_object() || def.is_some()) {
        let Some(entries) = complex_entries(def, label, v)? else {
            return Ok(None);
        };
        let mut obj = Map::new();
        merge_entries(&mut obj, &entries);
        return Ok((!obj.is_empty()).then_some(Value::Object(obj)));
    }
    coerce_scalar(def, label, v)
}

/// The elements a value stands for: an array, or a single element (RFC 7644 leaves it to
/// the array; IdPs also send one object).
fn items(def: Option<&AttributeDef>, label: &str, v: &Value) -> Result<Vec<Value>, PatchError> {
    let raw: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut out = Vec::with_capacity(raw.len());
    for r in raw {
        if let Some(x) = item(def, label, r)? {
            out.push(x);
        }
    }
    Ok(out)
}

/// Adds one element, or merges it into the element it duplicates. Returns its index when
/// it was written with `primary: true`.
fn add_item(list: &mut Vec<Value>, item: Value, def: Option<&AttributeDef>) -> Option<usize> {
    let primary = is_primary(&item);
    let ci = value_case_insensitive(def);
    let index = match list.iter().position(|e| same_element(e, &item, ci)) {
        Some(i) => {
            if let Some(existing) = list.get_mut(i) {
                match (existing, item) {
                    (Value::Object(old), Value::Object(new)) => {
                        for (k, v) in new {
                            normalize_key(old, &k);
                            old.insert(k, v);
                        }
                    }
                    (old, new) => *old = new,
                }
            }
            i
        }
        None => {
            list.push(item);
            list.len().saturating_sub(1)
        }
    };
    primary.then_some(index)
}

/// Whether the `value` sub-attribute compares case-insensitively (RFC 7643 `caseExact`).
fn value_case_insensitive(def: Option<&AttributeDef>) -> bool {
    !def.and_then(|d| d.sub_attribute("value")).is_some_and(|v| v.case_exact)
}

fn values_equal(a: &Value, b: &Value, case_insensitive: bool) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) if case_insensitive => x.to_lowercase() == y.to_lowercase(),
        _ => a == b,
    }
}

/// Two elements denote the same value: equal, or the same `value` (and the same `type`
/// when both have one), so adding `{"value": "a@x"}` next to `{"value": "a@x", "type":
/// "work"}` does not duplicate it and adding member `{"value": id}` twice keeps one.
fn same_element(a: &Value, b: &Value, ci: bool) -> bool {
    if a == b {
        return true;
    }
    match (a.as_object(), b.as_object()) {
        (Some(x), Some(y)) => match (get_ci(x, "value"), get_ci(y, "value")) {
            (Some(va), Some(vb)) => {
                values_equal(va, vb, ci)
                    && match (get_ci(x, "type"), get_ci(y, "type")) {
                        (Some(ta), Some(tb)) => values_equal(ta, tb, true),
                        _ => true,
                    }
            }
            _ => false,
        },
        (None, None) => values_equal(a, b, ci),
        _ => false,
    }
}

/// Whether element `e` is one of those listed in an Entra-style remove value.
fn listed_match(e: &Value, listed: &Value, ci: bool) -> bool {
    match (e.as_object(), listed.as_object()) {
        (Some(eo), Some(lo)) => match get_ci(lo, "value") {
            Some(lv) => get_ci(eo, "value").is_some_and(|ev| values_equal(ev, lv, ci)),
            None => {
                !lo.is_empty()
                    && lo
                        .iter()
                        .all(|(k, v)| get_ci(eo, k).is_some_and(|ev| values_equal(ev, v, ci)))
            }
        },
        (Some(eo), None) => get_ci(eo, "value").is_some_and(|ev| values_equal(ev, listed, ci)),
        (None, Some(lo)) => get_ci(lo, "value").is_some_and(|lv| values_equal(e, lv, ci)),
        (None, None) => values_equal(e, listed, ci),
    }
}

/// Sets (or with `None` unsets) a sub-attribute of one element. RFC 7643 §2.2: an
/// immutable sub-attribute (e.g. a member's `value`) may be set but not changed.
fn set_sub(e: &mut Value, sub: &Sub, x: Option<Value>) -> Result<(), PatchError> {
    let Value::Object(obj) = e else {
        return Ok(());
    };
    normalize_key(obj, &sub.key);
    match x {
        Some(x) => {
            if let Some(d) = sub.def
                && d.mutability == Mutability::Immutable
                && obj.get(&sub.key).is_some_and(|old| *old != x)
            {
                return Err(MutabilityError(format!("'{}' is immutable", d.name)));
            }
            obj.insert(sub.key.clone(), x);
        }
        None => {
            obj.remove(&sub.key);
        }
    }
    Ok(())
}

fn remove_sub(e: &mut Value, key: &str) {
    if let Value::Object(obj) = e
        && let Some(k) = existing_key(obj, key)
    {
        obj.remove(&k);
    }
}

/// Drops elements left without any sub-attribute.
fn drop_empty(list: &mut Vec<Value>) {
    list.retain(|e| !matches!(e, Value::Object(o) if o.is_empty()));
}

/// The element an `eq`-only filter describes: `type eq "work" and primary eq true` ->
/// `{"type": "work", "primary": true}`. None when the filter is anything else.
fn element_from_filter(f: &Filter, def: Option<&AttributeDef>) -> Option<Map<String, Value>> {
    fn collect(f: &Filter, out: &mut Vec<(String, Value)>, def: Option<&AttributeDef>) -> bool {
        match f {
            Filter::And(a, b) => collect(a, out, def) && collect(b, out, def),
            Filter::Compare {
                path,
                op: filter::CompareOp::Eq,
                value,
            } if path.urn.is_none() && path.sub.is_none() => {
                let key = def
                    .and_then(|d| d.sub_attribute(&path.name))
                    .map_or_else(|| path.name.clone(), |s| s.name.to_string());
                out.push((key, value.to_json()));
                true
            }
            _ => false,
        }
    }
    let mut terms = Vec::new();
    if !collect(f, &mut terms, def) {
        return None;
    }
    let mut obj = Map::new();
    for (k, v) in terms {
        if !v.is_null() {
            obj.insert(k, v);
        }
    }
    Some(obj)
}

fn is_primary(e: &Value) -> bool {
    e.as_object()
        .and_then(|o| get_ci(o, "primary"))
        .is_some_and(|p| *p == Value::Bool(true))
}

fn is_primary_true(key: &str, x: Option<&Value>) -> bool {
    key.eq_ignore_ascii_case("primary") && x.is_some_and(|v| *v == Value::Bool(true))
}

fn is_primary_entries(entries: &Entries) -> bool {
    entries.iter().any(|(k, v)| is_primary_true(k, v.as_ref()))
}

/// RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once." The
/// element written last with `primary: true` (`winner`) keeps it; otherwise the last one.
fn normalize_primary(list: &mut [Value], winner: Option<usize>) {
    let trues: Vec<usize> = list
        .iter()
        .enumerate()
        .filter(|(_, e)| is_primary(e))
        .map(|(i, _)| i)
        .collect();
    if trues.len() < 2 {
        return;
    }
    let keep = winner.filter(|w| trues.contains(w)).or_else(|| trues.last().copied());
    for i in trues {
        if Some(i) != keep
            && let Some(Value::Object(o)) = list.get_mut(i)
        {
            normalize_key(o, "primary");
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::filter::{CompValue, CompareOp, parse_filter};
    use crate::schema::{ENTERPRISE_USER_SCHEMA, PATCH_OP};
    use serde_json::json;

    const ENT: &str = ENTERPRISE_USER_SCHEMA;

    fn variant(e: &PatchError) -> &'static str {
        match e {
            InvalidSyntax(_) => "InvalidSyntax",
            InvalidPath(_) => "InvalidPath",
            InvalidValue(_) => "InvalidValue",
            NoTarget(_) => "NoTarget",
            MutabilityError(_) => "Mutability",
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not an object: {other}"),
        }
    }

    /// Parses `operations` as a PATCH body and applies it.
    fn run(kind: ResourceKind, doc: &Value, operations: Value) -> Result<Value, PatchError> {
        let ops = parse_patch_request(&json!({"schemas": [PATCH_OP], "Operations": operations}))?;
        apply_all(&obj(doc.clone()), &ops, kind).map(Value::Object)
    }

    fn user() -> Value {
        json!({
            "userName": "bjensen",
            "active": true,
            "title": "Tour Guide",
            "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"},
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            ENT: {"employeeNumber": "701984", "department": "Tour Operations"}
        })
    }

    fn group() -> Value {
        json!({"displayName": "Tour Guides", "members": [{"value": "u1"}, {"value": "u2"}, {"value": "u3"}]})
    }

    enum Want {
        Doc(Value),
        Err(&'static str),
    }
    use Want::{Doc, Err as Fails};

    /// Applies `edit` to a copy of `base` to build an expected document.
    fn edited(base: Value, edit: impl FnOnce(&mut Value)) -> Value {
        let mut v = base;
        edit(&mut v);
        v
    }

    #[test]
    fn idp_requests_apply_as_expected() {
        use ResourceKind::{Group, User};
        let cases: Vec<(&str, ResourceKind, Value, Value, Want)> = vec![
            (
                "Okta deactivation: no-path replace",
                User,
                user(),
                json!([{"op": "replace", "value": {"active": false}}]),
                Doc(edited(user(), |u| u["active"] = json!(false))),
            ),
            (
                "Okta group rename with id inside the value",
                Group,
                group(),
                json!([{"op": "replace", "value": {"id": "abc", "displayName": "New", "meta": {}, "schemas": []}}]),
                Doc(edited(group(), |g| g["displayName"] = json!("New"))),
            ),
            (
                "Entra: Replace active with the string False",
                User,
                user(),
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
                Doc(edited(user(), |u| u["active"] = json!(false))),
            ),
            (
                "Entra: no-path replace with dotted and URN-qualified keys",
                User,
                user(),
                json!([{"op": "Replace", "value": {
                    "name.givenName": "Babs",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Sales",
                    "displayName": "Babs Jensen"
                }}]),
                Doc(edited(user(), |u| {
                    u["name"]["givenName"] = json!("Babs");
                    u[ENT]["department"] = json!("Sales");
                    u["displayName"] = json!("Babs Jensen");
                })),
            ),
            (
                "no-path add with an extension object merges its attributes",
                User,
                user(),
                json!([{"op": "add", "value": {ENT: {"costCenter": "4130", "manager": {"value": "m1", "displayName": "ignored"}}}}]),
                Doc(edited(user(), |u| {
                    u[ENT]["costCenter"] = json!("4130");
                    u[ENT]["manager"] = json!({"value": "m1"});
                })),
            ),
            (
                "no-path replace of a complex attribute merges sub-attributes",
                User,
                user(),
                json!([{"op": "replace", "value": {"name": {"familyName": "Smith"}}}]),
                Doc(edited(user(), |u| u["name"]["familyName"] = json!("Smith"))),
            ),
            (
                "replace emails[type eq \"work\"].value on an existing work email",
                User,
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
                Doc(edited(user(), |u| u["emails"][0]["value"] = json!("new@example.com"))),
            ),
            (
                "Entra: replace emails[type eq \"work\"].value on a user without one creates it",
                User,
                json!({"userName": "x"}),
                json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x@y.com"}]),
                Doc(json!({"userName": "x", "emails": [{"type": "work", "value": "x@y.com"}]})),
            ),
            (
                "Entra: add emails[type eq \"work\"].value creates the element too",
                User,
                json!({"userName": "x", "emails": [{"type": "home", "value": "h@y.com"}]}),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y.com"}]),
                Doc(
                    json!({"userName": "x", "emails": [{"type": "home", "value": "h@y.com"}, {"type": "work", "value": "x@y.com"}]}),
                ),
            ),
            (
                "add to emails with primary: the older primary becomes false",
                User,
                user(),
                json!([{"op": "add", "path": "emails", "value": [{"value": "new@x.com", "type": "other", "primary": "True"}]}]),
                Doc(edited(user(), |u| {
                    u["emails"][0]["primary"] = json!(false);
                    u["emails"]
                        .as_array_mut()
                        .unwrap()
                        .push(json!({"value": "new@x.com", "type": "other", "primary": true}));
                })),
            ),
            (
                "replace emails[type eq \"home\"].primary true moves the primary flag",
                User,
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
                Doc(edited(user(), |u| {
                    u["emails"][0]["primary"] = json!(false);
                    u["emails"][1]["primary"] = json!(true);
                })),
            ),
            (
                "add of an existing email (single object) does not duplicate it",
                User,
                user(),
                json!([{"op": "add", "path": "emails", "value": {"value": "BJENSEN@example.com", "type": "work"}}]),
                Doc(edited(user(), |u| {
                    u["emails"][0]["value"] = json!("BJENSEN@example.com")
                })),
            ),
            (
                "replace emails without a filter replaces the list",
                User,
                user(),
                json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com", "type": "work"}]}]),
                Doc(edited(user(), |u| {
                    u["emails"] = json!([{"value": "only@x.com", "type": "work"}])
                })),
            ),
            (
                "remove emails[type eq \"home\"]",
                User,
                user(),
                json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
                Doc(edited(user(), |u| {
                    u["emails"].as_array_mut().unwrap().pop();
                })),
            ),
            (
                "removing the last email unassigns emails",
                User,
                user(),
                json!([{"op": "remove", "path": "emails[type eq \"home\" or type eq \"work\"]"}]),
                Doc(edited(user(), |u| {
                    u.as_object_mut().unwrap().remove("emails");
                })),
            ),
            (
                "remove emails[type eq \"work\"].primary removes only the sub-attribute",
                User,
                user(),
                json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
                Doc(edited(user(), |u| {
                    u["emails"][0].as_object_mut().unwrap().remove("primary");
                })),
            ),
            (
                "remove with a filter that matches nothing is a no-op",
                User,
                user(),
                json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
                Doc(user()),
            ),
            (
                "remove name.middleName",
                User,
                user(),
                json!([{"op": "remove", "path": "name.middleName"}]),
                Doc(edited(user(), |u| {
                    u["name"].as_object_mut().unwrap().remove("middleName");
                })),
            ),
            (
                "remove of a missing attribute is a no-op",
                User,
                user(),
                json!([{"op": "remove", "path": "nickName"}, {"op": "remove", "path": "phoneNumbers[type eq \"work\"]"}]),
                Doc(user()),
            ),
            (
                "path names resolve case-insensitively and are written in canonical case",
                User,
                json!({"userName": "x"}),
                json!([{"op": "add", "path": "NAME.GIVENNAME", "value": "B"}, {"op": "add", "path": "DisplayName", "value": "D"}]),
                Doc(json!({"userName": "x", "name": {"givenName": "B"}, "displayName": "D"})),
            ),
            (
                "a differently-cased stored key is normalised, not duplicated",
                User,
                json!({"userName": "x", "TITLE": "old"}),
                json!([{"op": "replace", "path": "title", "value": "new"}]),
                Doc(json!({"userName": "x", "title": "new"})),
            ),
            (
                "Entra: add on an already set single-valued attribute replaces it",
                User,
                user(),
                json!([{"op": "Add", "path": "title", "value": "Boss"}]),
                Doc(edited(user(), |u| u["title"] = json!("Boss"))),
            ),
            (
                "OneLogin: an empty string removes the attribute",
                User,
                user(),
                json!([{"op": "replace", "path": "title", "value": ""}, {"op": "replace", "value": {"name.middleName": ""}}]),
                Doc(edited(user(), |u| {
                    u.as_object_mut().unwrap().remove("title");
                    u["name"].as_object_mut().unwrap().remove("middleName");
                })),
            ),
            (
                "replace with null removes the attribute",
                User,
                user(),
                json!([{"op": "replace", "path": "name", "value": null}]),
                Doc(edited(user(), |u| {
                    u.as_object_mut().unwrap().remove("name");
                })),
            ),
            (
                "the password is accepted and never written",
                User,
                user(),
                json!([
                    {"op": "replace", "path": "password", "value": "s3cret"},
                    {"op": "replace", "value": {"password": "s3cret", "nickName": "Babs"}}
                ]),
                Doc(edited(user(), |u| u["nickName"] = json!("Babs"))),
            ),
            (
                "Entra: the manager as a bare id string",
                User,
                user(),
                json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m42"}]),
                Doc(edited(user(), |u| u[ENT]["manager"] = json!({"value": "m42"}))),
            ),
            (
                "remove the whole enterprise extension",
                User,
                user(),
                json!([{"op": "remove", "path": ENT}]),
                Doc(edited(user(), |u| {
                    u.as_object_mut().unwrap().remove(ENT);
                })),
            ),
            (
                "removing an extension's last attribute removes the extension",
                User,
                json!({"userName": "x", ENT: {"department": "d"}}),
                json!([{"op": "remove", "path": format!("{ENT}:department")}]),
                Doc(json!({"userName": "x"})),
            ),
            (
                "a custom extension is kept under its URN",
                User,
                json!({"userName": "x"}),
                json!([
                    {"op": "add", "value": {"urn:example:custom:2.0:User": {"badge": "42"}}},
                    {"op": "replace", "path": "urn:example:custom:2.0:User:floor", "value": 3}
                ]),
                Doc(json!({"userName": "x", "urn:example:custom:2.0:User": {"badge": "42", "floor": 3}})),
            ),
            (
                "externalId is a writable common attribute",
                User,
                json!({"userName": "x"}),
                json!([{"op": "replace", "path": "externalId", "value": "E-1"}]),
                Doc(json!({"userName": "x", "externalId": "E-1"})),
            ),
            (
                "members add skips existing members",
                Group,
                group(),
                json!([{"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u4", "display": "ignored"}]}]),
                Doc(edited(group(), |g| {
                    g["members"].as_array_mut().unwrap().push(json!({"value": "u4"}))
                })),
            ),
            (
                "members remove with a filter",
                Group,
                group(),
                json!([{"op": "remove", "path": "members[value eq \"u2\"]"}]),
                Doc(json!({"displayName": "Tour Guides", "members": [{"value": "u1"}, {"value": "u3"}]})),
            ),
            (
                "Entra: members remove with a value array removes only those members",
                Group,
                group(),
                json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u3"}]}]),
                Doc(json!({"displayName": "Tour Guides", "members": [{"value": "u2"}]})),
            ),
            (
                "members remove without a value removes all",
                Group,
                group(),
                json!([{"op": "remove", "path": "members"}]),
                Doc(json!({"displayName": "Tour Guides"})),
            ),
            (
                "replace members [] empties the group",
                Group,
                group(),
                json!([{"op": "replace", "path": "members", "value": []}]),
                Doc(json!({"displayName": "Tour Guides"})),
            ),
            // Errors.
            (
                "path id is read-only",
                User,
                user(),
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                Fails("Mutability"),
            ),
            (
                "path meta.created is read-only",
                User,
                user(),
                json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
                Fails("Mutability"),
            ),
            (
                "path groups is read-only",
                User,
                user(),
                json!([{"op": "add", "path": "groups", "value": [{"value": "g1"}]}]),
                Fails("Mutability"),
            ),
            (
                "groups inside a no-path value is read-only",
                User,
                user(),
                json!([{"op": "add", "value": {"groups": [{"value": "g1"}]}}]),
                Fails("Mutability"),
            ),
            (
                "path schemas is read-only",
                User,
                user(),
                json!([{"op": "replace", "path": "schemas", "value": []}]),
                Fails("Mutability"),
            ),
            (
                "manager.displayName is read-only",
                User,
                user(),
                json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "x"}]),
                Fails("Mutability"),
            ),
            (
                "userName is required",
                User,
                user(),
                json!([{"op": "remove", "path": "userName"}]),
                Fails("Mutability"),
            ),
            (
                "userName cannot be emptied",
                User,
                user(),
                json!([{"op": "replace", "path": "userName", "value": ""}]),
                Fails("Mutability"),
            ),
            (
                "a member's value is immutable",
                Group,
                group(),
                json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u9"}]),
                Fails("Mutability"),
            ),
            (
                "unknown attribute path",
                User,
                user(),
                json!([{"op": "replace", "path": "shoeSize", "value": "44"}]),
                Fails("InvalidPath"),
            ),
            (
                "unknown attribute in a no-path value",
                User,
                user(),
                json!([{"op": "replace", "value": {"shoeSize": "44"}}]),
                Fails("InvalidPath"),
            ),
            (
                "unknown sub-attribute path",
                User,
                user(),
                json!([{"op": "replace", "path": "name.nick", "value": "x"}]),
                Fails("InvalidPath"),
            ),
            (
                "sub-attribute of a simple attribute",
                User,
                user(),
                json!([{"op": "replace", "path": "title.x", "value": "x"}]),
                Fails("InvalidPath"),
            ),
            (
                "unknown attribute in a value filter",
                User,
                user(),
                json!([{"op": "remove", "path": "emails[kind eq \"work\"]"}]),
                Fails("InvalidPath"),
            ),
            (
                "value filter on a single-valued attribute",
                User,
                user(),
                json!([{"op": "replace", "path": "name[givenName eq \"x\"].familyName", "value": "y"}]),
                Fails("InvalidPath"),
            ),
            (
                "the enterprise extension does not apply to groups",
                Group,
                group(),
                json!([{"op": "add", "path": format!("{ENT}:department"), "value": "x"}]),
                Fails("InvalidPath"),
            ),
            (
                "unknown attribute of a known extension",
                User,
                user(),
                json!([{"op": "add", "path": format!("{ENT}:shoeSize"), "value": "x"}]),
                Fails("InvalidPath"),
            ),
            (
                "filter matches nothing and is not eq-only",
                User,
                user(),
                json!([{"op": "replace", "path": "emails[type co \"oth\"].value", "value": "x"}]),
                Fails("NoTarget"),
            ),
            (
                "replace whole elements that do not exist",
                User,
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "x"}}]),
                Fails("NoTarget"),
            ),
            (
                "a boolean that is not one",
                User,
                user(),
                json!([{"op": "replace", "path": "active", "value": "yes"}]),
                Fails("InvalidValue"),
            ),
            (
                "a number for a string attribute",
                User,
                user(),
                json!([{"op": "replace", "path": "title", "value": 5}]),
                Fails("InvalidValue"),
            ),
            (
                "an unknown sub-attribute in a complex value",
                User,
                user(),
                json!([{"op": "add", "path": "name", "value": {"nick": "x"}}]),
                Fails("InvalidValue"),
            ),
            (
                "a no-path value that is not an object",
                User,
                user(),
                json!([{"op": "add", "value": "x"}]),
                Fails("InvalidValue"),
            ),
            (
                "an array for a complex single-valued attribute",
                User,
                user(),
                json!([{"op": "add", "path": "name", "value": [1]}]),
                Fails("InvalidValue"),
            ),
        ];
        for (msg, kind, doc, ops, want) in cases {
            let got = run(kind, &doc, ops);
            match (got, want) {
                (Ok(d), Doc(w)) => assert_eq!(d, w, "{msg}"),
                (Err(e), Fails(v)) => assert_eq!(variant(&e), v, "{msg}: {e}"),
                (Ok(d), Fails(v)) => panic!("{msg}: expected {v}, got {d}"),
                (Err(e), Doc(_)) => panic!("{msg}: unexpected error {e:?}"),
            }
        }
    }

    #[test]
    fn request_parsing() {
        let op = |v: Value| json!({"schemas": [PATCH_OP], "Operations": [v]});
        let cases: Vec<(&str, Value, Result<usize, &str>)> = vec![
            (
                "a normal body",
                op(json!({"op": "add", "path": "title", "value": "x"})),
                Ok(1),
            ),
            (
                "schemas may be missing",
                json!({"Operations": [{"op": "add", "value": {"title": "x"}}]}),
                Ok(1),
            ),
            (
                "operations in any case",
                json!({"operations": [{"op": "add", "value": {}}]}),
                Ok(1),
            ),
            (
                "OPERATIONS in any case",
                json!({"OPERATIONS": [{"Op": "add", "Value": {}}]}),
                Ok(1),
            ),
            (
                "op in upper case",
                op(json!({"op": "ADD", "path": "title", "value": "x"})),
                Ok(1),
            ),
            (
                "an empty path means no path",
                op(json!({"op": "replace", "path": "", "value": {"title": "x"}})),
                Ok(1),
            ),
            (
                "a null value is a value",
                op(json!({"op": "replace", "path": "title", "value": null})),
                Ok(1),
            ),
            ("not an object", json!([1]), Err("InvalidSyntax")),
            (
                "schemas not an array",
                json!({"schemas": PATCH_OP, "Operations": [{"op": "add", "value": {}}]}),
                Err("InvalidSyntax"),
            ),
            (
                "schemas with a non-string",
                json!({"schemas": [1], "Operations": [{"op": "add", "value": {}}]}),
                Err("InvalidSyntax"),
            ),
            (
                "schemas without PatchOp",
                json!({"schemas": ["urn:x"], "Operations": [{"op": "add", "value": {}}]}),
                Err("InvalidSyntax"),
            ),
            (
                "missing Operations",
                json!({"schemas": [PATCH_OP]}),
                Err("InvalidSyntax"),
            ),
            (
                "empty Operations",
                json!({"schemas": [PATCH_OP], "Operations": []}),
                Err("InvalidSyntax"),
            ),
            (
                "Operations not an array",
                json!({"Operations": {"op": "add"}}),
                Err("InvalidSyntax"),
            ),
            (
                "an operation that is not an object",
                json!({"Operations": ["add"]}),
                Err("InvalidSyntax"),
            ),
            (
                "unknown op",
                op(json!({"op": "merge", "path": "title", "value": "x"})),
                Err("InvalidSyntax"),
            ),
            (
                "missing op",
                op(json!({"path": "title", "value": "x"})),
                Err("InvalidSyntax"),
            ),
            (
                "op not a string",
                op(json!({"op": 1, "path": "title", "value": "x"})),
                Err("InvalidSyntax"),
            ),
            (
                "path not a string",
                op(json!({"op": "add", "path": 1, "value": "x"})),
                Err("InvalidPath"),
            ),
            (
                "unparseable path",
                op(json!({"op": "add", "path": "emails[type eq", "value": "x"})),
                Err("InvalidPath"),
            ),
            (
                "replace without value",
                op(json!({"op": "replace", "path": "title"})),
                Err("InvalidValue"),
            ),
            (
                "add without value",
                op(json!({"op": "add", "path": "title"})),
                Err("InvalidValue"),
            ),
            ("remove without path", op(json!({"op": "remove"})), Err("NoTarget")),
        ];
        for (msg, body, want) in cases {
            let got = parse_patch_request(&body);
            match (got, want) {
                (Ok(ops), Ok(n)) => assert_eq!(ops.len(), n, "{msg}"),
                (Err(e), Err(v)) => assert_eq!(variant(&e), v, "{msg}: {e}"),
                (got, want) => panic!("{msg}: got {got:?}, want {want:?}"),
            }
        }
        let ops = parse_patch_request(&op(
            json!({"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "x"}),
        ))
        .unwrap();
        assert_eq!(ops[0].op, PatchOpKind::Replace, "op kind");
        assert_eq!(ops[0].value, Some(json!("x")), "value kept");
        assert_eq!(
            ops[0].path.as_ref().map(ToString::to_string).as_deref(),
            Some("emails[type eq \"work\"].value"),
            "path display"
        );
    }

    #[test]
    fn patch_paths_parse() {
        let eq = |p: &str, v: &str| Filter::Compare {
            path: AttrPath::simple(p),
            op: CompareOp::Eq,
            value: CompValue::Str(v.into()),
        };
        let cases: Vec<(&str, PatchPath, &str)> = vec![
            (
                "members[value eq \"x\"]",
                PatchPath {
                    attr: AttrPath::simple("members"),
                    filter: Some(eq("value", "x")),
                    sub: None,
                },
                "filter without sub",
            ),
            (
                "emails[type eq \"work\"].value",
                PatchPath {
                    attr: AttrPath::simple("emails"),
                    filter: Some(eq("type", "work")),
                    sub: Some("value".into()),
                },
                "filter and sub",
            ),
            (
                "name.givenName",
                PatchPath {
                    attr: AttrPath::parse("name.givenName").unwrap(),
                    filter: None,
                    sub: None,
                },
                "the sub stays in AttrPath without a filter",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                PatchPath {
                    attr: AttrPath {
                        urn: Some(ENT.into()),
                        name: "employeeNumber".into(),
                        sub: None,
                    },
                    filter: None,
                    sub: None,
                },
                "URN-qualified",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                PatchPath {
                    attr: AttrPath {
                        urn: Some(ENT.into()),
                        name: String::new(),
                        sub: None,
                    },
                    filter: None,
                    sub: None,
                },
                "a bare extension URN",
            ),
            (
                "  title  ",
                PatchPath {
                    attr: AttrPath::simple("title"),
                    filter: None,
                    sub: None,
                },
                "surrounding spaces",
            ),
        ];
        for (input, want, msg) in cases {
            assert_eq!(PatchPath::parse(input), Ok(want), "{msg}: {input}");
        }
        for bad in [
            "",
            "emails[",
            "emails[type eq \"a\"]x",
            "a b",
            "emails[type eq \"a\"].value.x",
            "name..x",
        ] {
            assert!(
                matches!(PatchPath::parse(bad), Err(InvalidPath(_))),
                "'{bad}' must be InvalidPath"
            );
        }
        assert!(parse_filter("x pr").is_ok(), "filter parser is reachable from here");
    }

    #[test]
    fn apply_all_is_atomic_and_apply_op_leaves_doc_on_error() {
        let doc = obj(user());
        let ops = parse_patch_request(&json!({"Operations": [
            {"op": "replace", "path": "title", "value": "Changed"},
            {"op": "replace", "path": "id", "value": "x"}
        ]}))
        .unwrap();
        let result = apply_all(&doc, &ops, ResourceKind::User);
        assert!(matches!(result, Err(MutabilityError(_))), "second op fails");
        assert_eq!(Value::Object(doc.clone()), user(), "input untouched");

        let mut doc = obj(user());
        let op = PatchOp {
            op: PatchOpKind::Replace,
            path: None,
            value: Some(json!({"title": "Changed", "groups": []})),
        };
        assert!(
            apply_op(&mut doc, &op, ResourceKind::User).is_err(),
            "groups is read-only"
        );
        assert_eq!(Value::Object(doc.clone()), user(), "apply_op does not half-apply");

        let op = PatchOp {
            op: PatchOpKind::Remove,
            path: None,
            value: None,
        };
        assert!(
            matches!(apply_op(&mut doc, &op, ResourceKind::User), Err(NoTarget(_))),
            "remove without path"
        );
        let op = PatchOp {
            op: PatchOpKind::Add,
            path: PatchPath::parse("title").ok(),
            value: None,
        };
        assert!(
            matches!(apply_op(&mut doc, &op, ResourceKind::User), Err(InvalidValue(_))),
            "add without value"
        );
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn fuzz_never_panics() {
        let ops = ["add", "replace", "remove", "Add", "REMOVE", "merge"];
        let paths: Vec<Value> = vec![
            Value::Null,
            json!(""),
            json!("title"),
            json!("name"),
            json!("name.givenName"),
            json!("NAME.familyname"),
            json!("emails"),
            json!("emails[type eq \"work\"]"),
            json!("emails[type eq \"work\"].value"),
            json!("emails[type co \"w\"].primary"),
            json!("emails.value"),
            json!("members"),
            json!("members[value eq \"u1\"]"),
            json!("members[value eq \"u1\"].display"),
            json!("active"),
            json!("password"),
            json!("id"),
            json!("meta.created"),
            json!("groups"),
            json!("userName"),
            json!("displayName"),
            json!("externalId"),
            json!(ENT),
            json!(format!("{ENT}:manager")),
            json!(format!("{ENT}:manager.value")),
            json!("urn:example:custom:1.0:User:x"),
            json!("urn:example:custom:1.0:User:x.y"),
            json!("urn:ietf:params:scim:schemas:core:2.0:User"),
            json!("urn:ietf:params:scim:schemas:core:2.0:Group:displayName"),
            json!("emails[value pr].nosuch"),
            json!("x[[["),
            json!(5),
        ];
        let values: Vec<Value> = vec![
            Value::Null,
            json!(""),
            json!("x"),
            json!("True"),
            json!(true),
            json!(1),
            json!(2.5),
            json!([]),
            json!([{"value": "u1"}]),
            json!([{"value": "a@x", "type": "work", "primary": true}, {"value": "b@x", "primary": "true"}]),
            json!({"givenName": "A", "familyName": null}),
            json!({"value": "m"}),
            json!({"active": "false", "name.givenName": "x", ENT: {"department": "d"}}),
            json!({"id": "1", "displayName": "G", "members": [{"value": "u9"}]}),
            json!({"urn:example:custom:1.0:User": {"a": 1}}),
            json!([[1]]),
            json!({"nosuch": 1}),
        ];
        let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
        let mut ok = 0;
        for round in 0..2_000 {
            let kind = if round % 3 == 0 {
                ResourceKind::Group
            } else {
                ResourceKind::User
            };
            let base = if kind == ResourceKind::Group { group() } else { user() };
            let n = 1 + rng.below(4);
            let mut list = Vec::new();
            for _ in 0..n {
                let mut o = Map::new();
                o.insert("op".into(), json!(ops[rng.below(ops.len())]));
                let path = &paths[rng.below(paths.len())];
                if !path.is_null() {
                    o.insert("path".into(), path.clone());
                }
                if rng.below(5) != 0 {
                    o.insert("value".into(), values[rng.below(values.len())].clone());
                }
                list.push(Value::Object(o));
            }
            let body = json!({"Operations": list});
            if let Ok(parsed) = parse_patch_request(&body) {
                let doc = obj(base.clone());
                if let Ok(out) = apply_all(&doc, &parsed, kind) {
                    ok += 1;
                    // Invariants: no password, at most one primary email.
                    assert!(out.get("password").is_none(), "password stored by {body}");
                    let primaries = out.get("emails").and_then(Value::as_array).map_or(0, |e| {
                        e.iter().filter(|x| x.get("primary") == Some(&json!(true))).count()
                    });
                    assert!(primaries <= 1, "two primaries after {body}");
                }
                assert_eq!(Value::Object(doc), base, "input untouched");
            }
        }
        assert!(ok > 100, "some random patches should apply (got {ok})");
    }
}
