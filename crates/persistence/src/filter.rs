//! SCIM filters (`domain::filter::Filter`) and `sortBy` translated into SQL, so that a query
//! runs in the database and never by loading a tenant's rows.
//!
//! Attributes with an indexed column use it, with the column's comparison rules (RFC 7643
//! `caseExact`): case-insensitive attributes compare lower-cased values (`userName` against its
//! stored lower-cased column), case-exact ones (`id`, `externalId`) compare as stored.
//! `emails`, `members` and `User.groups` live in their own tables and become `EXISTS`
//! sub-queries, so a value path such as `emails[type eq "work" and value co "@x"]` holds for one
//! and the same email.
//!
//! Every other attribute of the schema table (`title`, `name.middleName`, the Enterprise
//! extension, `phoneNumbers[type eq "mobile"]`, ...) is read from the JSON document column:
//! `json_extract` / `json_each` on SQLite, `->>` / `jsonb_array_elements` on Postgres. JSON keys
//! come only from the schema table (canonical names, the same ones the document is stored
//! with), never from the request, and every value of the request is a bound parameter.
//!
//! SQL's three-valued logic would make `not (title eq "x")` drop users without a title, so
//! every comparison on a nullable operand is guarded with `IS NOT NULL`: a missing value
//! compares false, and its negation is true (RFC 7644 §3.4.2.2).

use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::filter::{AttrPath, CompValue, CompareOp, Filter};
use domain::ports::{CursorPos, CursorRequest, ListQuery, SortValue};
use domain::schema::{AttrType, AttributeDef, ResourceKind, Returned};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, Order, QueryFilter, QueryOrder, QueryResult,
    QuerySelect, Select,
};

use crate::error::DbResultExt;

/// How one operand is compared.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text compared as stored.
    Exact,
    /// Text compared case-insensitively; `stored_lower` when the value is already lower case.
    Insensitive {
        stored_lower: bool,
    },
    /// A SQL boolean column.
    Bool,
    /// A JSON boolean, read as the text `true` / `false`.
    JsonBool,
    Time,
}

/// Something a filter compares: a column or a JSON value, with its comparison rules.
#[derive(Clone)]
struct Operand {
    expr: Expr,
    kind: Kind,
    nullable: bool,
}

impl Operand {
    fn column(table: &'static str, name: &'static str, kind: Kind, nullable: bool) -> Self {
        Self {
            expr: Expr::col((table, name)),
            kind,
            nullable,
        }
    }
}

/// Where a JSON value is read from.
#[derive(Clone, Copy)]
enum Base {
    /// The `doc` column of the resource's table.
    Doc(&'static str),
    /// The current element of a multi-valued attribute (the `je` row of an `EXISTS`).
    Element,
}

/// A multi-valued attribute kept in its own table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Multi {
    Emails,
    Members,
    /// `User.groups`, derived from the membership table.
    Groups,
}

/// What an attribute path resolves to.
enum Target {
    Operand(Operand),
    /// A single-valued complex attribute named without a sub-attribute (`name`).
    Complex {
        keys: Vec<&'static str>,
        def: &'static AttributeDef,
    },
    /// A multi-valued attribute with its own table.
    Multi(Multi),
    /// A multi-valued attribute of the JSON document.
    JsonMulti {
        keys: Vec<&'static str>,
        def: &'static AttributeDef,
    },
}

/// The resource being queried.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Resource {
    User,
    Group,
}

impl Resource {
    fn table(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Group => "groups",
        }
    }

    fn kind(self) -> ResourceKind {
        match self {
            Self::User => ResourceKind::User,
            Self::Group => ResourceKind::Group,
        }
    }
}

fn invalid(msg: impl Into<String>) -> DomainError {
    DomainError::InvalidFilter(msg.into())
}

fn unknown(path: &AttrPath, resource: Resource) -> DomainError {
    invalid(format!(
        "filtering on '{path}' is not supported: the {} schema has no such attribute",
        resource.kind().name()
    ))
}

/// Resolves a path against the schema table: the JSON keys from the document root (the
/// extension URN first for extension attributes), the attribute and its sub-attribute.
fn lookup(
    path: &AttrPath,
    resource: Resource,
) -> Result<(Vec<&'static str>, &'static AttributeDef, Option<&'static AttributeDef>), DomainError> {
    let kind = resource.kind();
    let schema = match &path.urn {
        None => kind.core(),
        Some(urn) => kind.schema(urn).ok_or_else(|| {
            invalid(format!(
                "filtering on '{path}' is not supported: '{urn}' is not a schema of the {} resource",
                kind.name()
            ))
        })?,
    };
    let def = schema.attribute(&path.name).ok_or_else(|| unknown(path, resource))?;
    if def.returned == Returned::Never {
        return Err(invalid(format!(
            "'{path}' is never returned, so it cannot be filtered on"
        )));
    }
    let sub = match path.sub.as_deref() {
        None => None,
        Some(s) => Some(def.sub_attribute(s).ok_or_else(|| {
            invalid(format!(
                "filtering on '{path}' is not supported: '{}' has no sub-attribute '{s}'",
                def.name
            ))
        })?),
    };
    let mut keys = Vec::with_capacity(3);
    if !std::ptr::eq(schema, kind.core()) {
        keys.push(schema.id);
    }
    keys.push(def.name);
    Ok((keys, def, sub))
}

/// An operand on a simple JSON value.
fn json_operand(
    base: Base,
    keys: Vec<&'static str>,
    def: &AttributeDef,
    backend: DbBackend,
    path: &AttrPath,
) -> Result<Operand, DomainError> {
    let kind = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::DateTime => {
            if def.case_exact {
                Kind::Exact
            } else {
                Kind::Insensitive { stored_lower: false }
            }
        }
        AttrType::Boolean => Kind::JsonBool,
        AttrType::Integer | AttrType::Decimal | AttrType::Complex => {
            return Err(invalid(format!(
                "filtering on '{path}' is not supported (a {:?} attribute)",
                def.ty
            )));
        }
    };
    let expr = if kind == Kind::JsonBool {
        json_bool(backend, base, &keys)
    } else {
        json_text(backend, base, &keys)
    };
    Ok(Operand {
        expr,
        kind,
        nullable: true,
    })
}

fn resolve(path: &AttrPath, resource: Resource, backend: DbBackend) -> Result<Target, DomainError> {
    let core = resource.kind().core().id;
    let qualified_core = path.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(core));
    if qualified_core {
        let name = path.name.to_ascii_lowercase();
        let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
        let table = resource.table();
        let col = |name, kind, nullable| Ok(Target::Operand(Operand::column(table, name, kind, nullable)));
        let ci = Kind::Insensitive { stored_lower: false };
        let lower = Kind::Insensitive { stored_lower: true };
        match (resource, name.as_str(), sub.as_deref()) {
            (_, "id", None) => return col("id", Kind::Exact, false),
            (_, "externalid", None) => return col("external_id", Kind::Exact, true),
            (_, "meta", Some("created")) => return col("created_at", Kind::Time, false),
            (_, "meta", Some("lastmodified")) => return col("updated_at", Kind::Time, false),
            (_, "id" | "externalid" | "meta", _) => {
                return Err(invalid(format!(
                    "filtering on '{path}' is not supported; of the common attributes, id, externalId, meta.created and meta.lastModified are"
                )));
            }
            (Resource::User, "username", None) => return col("user_name_norm", lower, false),
            (Resource::User, "displayname", None) => return col("display_name", ci, true),
            (Resource::User, "active", None) => return col("active", Kind::Bool, false),
            (Resource::User, "name", Some("givenname")) => return col("given_name", ci, true),
            (Resource::User, "name", Some("familyname")) => return col("family_name", ci, true),
            (Resource::User, "emails", _) => return Ok(Target::Multi(Multi::Emails)),
            (Resource::User, "groups", _) => return Ok(Target::Multi(Multi::Groups)),
            (Resource::Group, "displayname", None) => return col("display_name_norm", lower, false),
            (Resource::Group, "members", _) => return Ok(Target::Multi(Multi::Members)),
            _ => {}
        }
    }
    let (mut keys, def, sub) = lookup(path, resource)?;
    if def.multi_valued {
        return Ok(Target::JsonMulti { keys, def });
    }
    match (def.ty, sub) {
        (AttrType::Complex, None) => Ok(Target::Complex { keys, def }),
        (AttrType::Complex, Some(sub)) => {
            keys.push(sub.name);
            Ok(Target::Operand(json_operand(
                Base::Doc(resource.table()),
                keys,
                sub,
                backend,
                path,
            )?))
        }
        _ => Ok(Target::Operand(json_operand(
            Base::Doc(resource.table()),
            keys,
            def,
            backend,
            path,
        )?)),
    }
}

/// The JSON path `$."k1"."k2"` for SQLite. Keys come from the schema table only.
fn sqlite_path(keys: &[&str]) -> String {
    keys.iter().fold(String::from("$"), |mut out, k| {
        out.push_str(".\"");
        out.push_str(k);
        out.push('"');
        out
    })
}

fn doc_col(table: &'static str) -> Expr {
    Expr::col((table, "doc"))
}

/// The JSON value at `keys` as text (strings unquoted), NULL when absent.
fn json_text(backend: DbBackend, base: Base, keys: &[&'static str]) -> Expr {
    match backend {
        DbBackend::Sqlite => match base {
            Base::Doc(t) => cust(
                DbBackend::Sqlite,
                "json_extract($1, $2)",
                [doc_col(t), Expr::val(sqlite_path(keys))],
            ),
            Base::Element => cust(
                DbBackend::Sqlite,
                "(CASE WHEN \"je\".\"type\" = 'object' THEN json_extract(\"je\".\"value\", $1) END)",
                [Expr::val(sqlite_path(keys))],
            ),
        },
        _ => {
            let root = match base {
                Base::Doc(t) => Expr::cust_with_exprs("CAST($1 AS jsonb)", [doc_col(t)]),
                Base::Element => Expr::cust("\"je\".\"value\""),
            };
            pg_path(root, keys, true)
        }
    }
}

/// `root -> k1 -> ... ->> kn` (or `->` throughout when `!text`), keys as bound parameters.
fn pg_path(root: Expr, keys: &[&'static str], text: bool) -> Expr {
    let mut sql = String::from("$1");
    let mut args = vec![root];
    for (i, k) in keys.iter().enumerate() {
        let op = if text && i + 1 == keys.len() { "->>" } else { "->" };
        sql = format!("({sql} {op} ${})", i + 2);
        args.push(Expr::val(k.to_string()));
    }
    Expr::cust_with_exprs(sql, args)
}

/// The JSON value at `keys` as `'true'` / `'false'` when it is a boolean.
fn json_bool(backend: DbBackend, base: Base, keys: &[&'static str]) -> Expr {
    match backend {
        DbBackend::Sqlite => match base {
            Base::Doc(t) => cust(
                DbBackend::Sqlite,
                "json_type($1, $2)",
                [doc_col(t), Expr::val(sqlite_path(keys))],
            ),
            Base::Element => cust(
                DbBackend::Sqlite,
                "(CASE WHEN \"je\".\"type\" = 'object' THEN json_type(\"je\".\"value\", $1) END)",
                [Expr::val(sqlite_path(keys))],
            ),
        },
        _ => json_text(backend, base, keys),
    }
}

/// `EXISTS` over the elements of a JSON array attribute of the document, each element
/// visible to `condition` as `je`.
fn json_exists(backend: DbBackend, table: &'static str, keys: &[&'static str], condition: Expr) -> Expr {
    match backend {
        DbBackend::Sqlite => cust(
            DbBackend::Sqlite,
            "EXISTS (SELECT 1 FROM json_each($1, $2) AS \"je\" WHERE $3)",
            [doc_col(table), Expr::val(sqlite_path(keys)), condition],
        ),
        _ => {
            let array = || {
                pg_path(
                    Expr::cust_with_exprs("CAST($1 AS jsonb)", [doc_col(table)]),
                    keys,
                    false,
                )
            };
            Expr::cust_with_exprs(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof($1) = 'array' THEN $2 ELSE CAST('[]' AS jsonb) END) AS \"je\"(\"value\") WHERE $3)",
                [array(), array(), condition],
            )
        }
    }
}

fn always() -> Expr {
    Expr::cust("1 = 1")
}

/// A custom SQL expression. Templates are written with `$1`, `$2`, ... (each used once, in
/// order); SQLite's query builder expects `?` instead.
fn cust<I: IntoIterator<Item = Expr>>(backend: DbBackend, template: &str, exprs: I) -> Expr {
    let template = match backend {
        DbBackend::Sqlite => {
            let mut out = String::with_capacity(template.len());
            let mut chars = template.chars().peekable();
            while let Some(c) = chars.next() {
                if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    out.push('?');
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => template.to_owned(),
    };
    Expr::cust_with_exprs(template, exprs)
}

/// The operand of a table-backed multi-valued attribute's sub-attribute; `None` when the
/// sub-attribute has no column (then the JSON document answers, for emails).
fn sub_column(multi: Multi, sub: Option<&str>) -> Option<Operand> {
    let sub = sub.map(str::to_ascii_lowercase);
    match (multi, sub.as_deref()) {
        (Multi::Emails, None | Some("value")) => Some(Operand::column(
            "user_emails",
            "value_norm",
            Kind::Insensitive { stored_lower: true },
            false,
        )),
        (Multi::Emails, Some("type")) => Some(Operand::column(
            "user_emails",
            "kind",
            Kind::Insensitive { stored_lower: false },
            true,
        )),
        (Multi::Emails, Some("primary")) => Some(Operand::column("user_emails", "is_primary", Kind::Bool, false)),
        (Multi::Members, None | Some("value")) => {
            Some(Operand::column("group_memberships", "user_id", Kind::Exact, false))
        }
        (Multi::Groups, None | Some("value")) => {
            Some(Operand::column("group_memberships", "group_id", Kind::Exact, false))
        }
        _ => None,
    }
}

fn exists(multi: Multi, condition: Expr) -> Expr {
    let mut q: SelectStatement = Query::select();
    match multi {
        Multi::Emails => q
            .expr(Expr::val(1))
            .from("user_emails")
            .and_where(Expr::col(("user_emails", "user_id")).equals(("users", "id")))
            .and_where(Expr::col(("user_emails", "tenant_id")).equals(("users", "tenant_id"))),
        Multi::Members => q
            .expr(Expr::val(1))
            .from("group_memberships")
            .and_where(Expr::col(("group_memberships", "group_id")).equals(("groups", "id"))),
        Multi::Groups => q
            .expr(Expr::val(1))
            .from("group_memberships")
            .and_where(Expr::col(("group_memberships", "user_id")).equals(("users", "id")))
            .and_where(Expr::col(("group_memberships", "tenant_id")).equals(("users", "tenant_id"))),
    };
    q.and_where(condition);
    Expr::exists(q)
}

/// The schema definition of `emails`, for the JSON fallback of its unindexed sub-attributes.
fn emails_def() -> Option<&'static AttributeDef> {
    ResourceKind::User.core().attribute("emails")
}

/// Whether every attribute inside an `emails[...]` filter has a column.
fn email_filter_indexed(filter: &Filter) -> bool {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => email_filter_indexed(a) && email_filter_indexed(b),
        Filter::Not(inner) => email_filter_indexed(inner),
        Filter::Present(p) | Filter::Compare { path: p, .. } => {
            sub_column(Multi::Emails, Some(p.sub.as_deref().unwrap_or(&p.name))).is_some()
        }
        Filter::ValuePath { .. } => false,
    }
}

/// Translates a filter into a condition on the resource's table.
pub fn condition(filter: &Filter, resource: Resource, backend: DbBackend) -> Result<Expr, DomainError> {
    Translator {
        resource,
        backend,
        within: None,
        unknown_absent: false,
    }
    .translate(filter)
}

/// Like [`condition`], for a query over several resource types (RFC 7644 §3.4.2.1): an
/// attribute this resource type does not define is treated as having no value, so a
/// comparison on it is false (and its negation true) instead of an error.
pub fn condition_across_types(filter: &Filter, resource: Resource, backend: DbBackend) -> Result<Expr, DomainError> {
    Translator {
        resource,
        backend,
        within: None,
        unknown_absent: true,
    }
    .translate(filter)
}

/// Whether the resource type defines the attribute a path starts with (common attributes,
/// core or extension schema).
pub fn defines(path: &AttrPath, resource: Resource) -> bool {
    let kind = resource.kind();
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

/// Inside a value path: the attribute whose elements the inner paths are relative to.
#[derive(Clone, Copy)]
enum Within {
    Table(Multi),
    Json(&'static AttributeDef),
}

#[derive(Clone, Copy)]
struct Translator {
    resource: Resource,
    backend: DbBackend,
    within: Option<Within>,
    /// See [`condition_across_types`].
    unknown_absent: bool,
}

/// A condition that is never true (an attribute without a value).
fn never() -> Expr {
    always().not()
}

impl Translator {
    fn translate(&self, filter: &Filter) -> Result<Expr, DomainError> {
        match filter {
            Filter::And(a, b) => Ok(self.translate(a)?.and(self.translate(b)?)),
            Filter::Or(a, b) => Ok(self.translate(a)?.or(self.translate(b)?)),
            Filter::Not(inner) => Ok(self.translate(inner)?.not()),
            Filter::Present(path) => self.leaf(path, true, &|c| Ok(present(c))),
            Filter::Compare { path, op, value } => {
                self.leaf(path, false, &|c| compare(c, *op, value, path, self.backend))
            }
            Filter::ValuePath { path, filter } => {
                if self.within.is_some() {
                    return Err(invalid("nested value paths are not allowed"));
                }
                if self.unknown_absent && !defines(path, self.resource) {
                    return Ok(never());
                }
                let nested = |within| Self {
                    within: Some(within),
                    ..*self
                };
                match resolve(path, self.resource, self.backend)? {
                    Target::Multi(Multi::Emails) if !email_filter_indexed(filter) => {
                        let def = emails_def().ok_or_else(|| unknown(path, self.resource))?;
                        let inner = nested(Within::Json(def)).translate(filter)?;
                        Ok(json_exists(self.backend, self.resource.table(), &["emails"], inner))
                    }
                    Target::Multi(multi) => Ok(exists(multi, nested(Within::Table(multi)).translate(filter)?)),
                    Target::JsonMulti { keys, def } => {
                        let inner = nested(Within::Json(def)).translate(filter)?;
                        Ok(json_exists(self.backend, self.resource.table(), &keys, inner))
                    }
                    Target::Operand(_) | Target::Complex { .. } => Err(invalid(format!(
                        "'{path}' is not multi-valued, so it cannot take a [value filter]"
                    ))),
                }
            }
        }
    }

    /// A comparison (`make`) on one attribute; `is_present` for `pr`, which complex and
    /// multi-valued attributes named without a sub-attribute answer as a whole.
    fn leaf(
        &self,
        path: &AttrPath,
        is_present: bool,
        make: &dyn Fn(Operand) -> Result<Expr, DomainError>,
    ) -> Result<Expr, DomainError> {
        if let Some(within) = self.within {
            // Inside `emails[...]`, `value` means `emails.value`.
            if path.urn.is_some() {
                return Err(invalid(format!("'{path}' cannot be used inside a value filter")));
            }
            let sub = path.sub.as_deref().unwrap_or(&path.name);
            return match within {
                Within::Table(multi) => make(sub_column(multi, Some(sub)).ok_or_else(|| {
                    invalid(format!(
                        "filtering on '{path}' is not supported inside this value filter"
                    ))
                })?),
                Within::Json(def) => {
                    let sub_def = def.sub_attribute(sub).ok_or_else(|| {
                        invalid(format!(
                            "filtering on '{}.{sub}' is not supported: '{}' has no sub-attribute '{sub}'",
                            def.name, def.name
                        ))
                    })?;
                    make(json_operand(
                        Base::Element,
                        vec![sub_def.name],
                        sub_def,
                        self.backend,
                        path,
                    )?)
                }
            };
        }
        if self.unknown_absent && !defines(path, self.resource) {
            return Ok(never());
        }
        let table = self.resource.table();
        match resolve(path, self.resource, self.backend)? {
            Target::Operand(c) => make(c),
            Target::Complex { keys, def } => {
                if !is_present {
                    if let Some(value) = def.sub_attribute("value") {
                        let mut keys = keys;
                        keys.push(value.name);
                        return make(json_operand(Base::Doc(table), keys, value, self.backend, path)?);
                    }
                    return Err(invalid(format!(
                        "'{path}' is complex: filter on one of its sub-attributes, such as '{path}.{}'",
                        def.sub_attributes.first().map_or("value", |s| s.name)
                    )));
                }
                // `name pr`: present when any sub-attribute is.
                let mut any: Option<Expr> = None;
                for sub in def.sub_attributes.iter().filter(|s| s.ty != AttrType::Complex) {
                    let mut k = keys.clone();
                    k.push(sub.name);
                    let p = present(json_operand(Base::Doc(table), k, sub, self.backend, path)?);
                    any = Some(match any {
                        Some(a) => a.or(p),
                        None => p,
                    });
                }
                Ok(any.unwrap_or_else(never))
            }
            Target::Multi(multi) => match sub_column(multi, path.sub.as_deref()) {
                Some(c) => Ok(exists(multi, make(c)?)),
                None if multi == Multi::Emails => {
                    let def = emails_def().ok_or_else(|| unknown(path, self.resource))?;
                    self.json_multi_leaf(path, vec!["emails"], def, is_present, make)
                }
                None => Err(invalid(format!("filtering on '{path}' is not supported"))),
            },
            Target::JsonMulti { keys, def } => self.json_multi_leaf(path, keys, def, is_present, make),
        }
    }

    /// A leaf on a multi-valued JSON attribute (`phoneNumbers.type eq "work"`,
    /// `phoneNumbers pr`, `roles eq "admin"`): true when some element satisfies it.
    fn json_multi_leaf(
        &self,
        path: &AttrPath,
        keys: Vec<&'static str>,
        def: &'static AttributeDef,
        is_present: bool,
        make: &dyn Fn(Operand) -> Result<Expr, DomainError>,
    ) -> Result<Expr, DomainError> {
        let table = self.resource.table();
        let sub = match path.sub.as_deref() {
            Some(s) => def.sub_attribute(s).ok_or_else(|| unknown(path, self.resource))?,
            None => {
                if is_present {
                    return Ok(json_exists(self.backend, table, &keys, always()));
                }
                def.sub_attribute("value").ok_or_else(|| {
                    invalid(format!(
                        "'{path}' has no 'value': filter on one of its sub-attributes, such as '{path}.{}'",
                        def.sub_attributes.first().map_or("type", |s| s.name)
                    ))
                })?
            }
        };
        let operand = json_operand(Base::Element, vec![sub.name], sub, self.backend, path)?;
        Ok(json_exists(self.backend, table, &keys, make(operand)?))
    }
}

fn present(c: Operand) -> Expr {
    match c.kind {
        Kind::Exact | Kind::Insensitive { .. } => c.expr.clone().is_not_null().and(c.expr.ne("")),
        Kind::Bool | Kind::Time => c.expr.is_not_null(),
        Kind::JsonBool => c.expr.clone().eq("true").or(c.expr.eq("false")),
    }
}

fn escape_like(s: &str) -> String {
    s.chars().fold(String::with_capacity(s.len()), |mut out, ch| {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
        out
    })
}

fn escape_glob(s: &str) -> String {
    s.chars().fold(String::with_capacity(s.len()), |mut out, ch| {
        match ch {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(ch);
                out.push(']');
            }
            _ => out.push(ch),
        }
        out
    })
}

fn text_value(value: &CompValue, path: &AttrPath) -> Result<String, DomainError> {
    match value {
        CompValue::Str(s) => Ok(s.clone()),
        CompValue::Number(n) => Ok(n.to_string()),
        CompValue::Bool(b) => Ok(b.to_string()),
        CompValue::Null => Err(invalid(format!(
            "'{path}' cannot be compared with null; use 'not ({path} pr)'"
        ))),
    }
}

fn compare(
    c: Operand,
    op: CompareOp,
    value: &CompValue,
    path: &AttrPath,
    backend: DbBackend,
) -> Result<Expr, DomainError> {
    if matches!(value, CompValue::Null) && op == CompareOp::Eq {
        return Ok(present(c).not());
    }
    if matches!(value, CompValue::Null) && op == CompareOp::Ne {
        return Ok(present(c));
    }
    let positive = match op {
        CompareOp::Ne => return Ok(compare(c, CompareOp::Eq, value, path, backend)?.not()),
        _ => match c.kind {
            Kind::Bool => bool_compare(&c, op, value, path)?,
            Kind::JsonBool => {
                let b = bool_value(value, path)?;
                match op {
                    CompareOp::Eq => c.expr.clone().eq(if b { "true" } else { "false" }),
                    _ => return Err(bool_ops(path)),
                }
            }
            Kind::Time => time_compare(&c, op, value, path)?,
            Kind::Exact => exact_compare(&c, op, text_value(value, path)?, backend),
            Kind::Insensitive { stored_lower } => {
                let v = text_value(value, path)?.to_lowercase();
                let col = if stored_lower {
                    c.expr.clone()
                } else {
                    Func::lower(c.expr.clone()).into()
                };
                ordered(col, op, v, backend)
            }
        },
    };
    Ok(if c.nullable {
        c.expr.is_not_null().and(positive)
    } else {
        positive
    })
}

/// Postgres compares text by the database's collation; RFC 7644 asks for plain Unicode order
/// (what SQLite's BINARY collation gives), so ordering comparisons use the "C" collation.
fn collate_c(expr: Expr, backend: DbBackend) -> Expr {
    match backend {
        DbBackend::Postgres => Expr::cust_with_exprs("($1 COLLATE \"C\")", [expr]),
        _ => expr,
    }
}

fn ordered(col: Expr, op: CompareOp, v: String, backend: DbBackend) -> Expr {
    match op {
        CompareOp::Eq | CompareOp::Ne => col.eq(v),
        CompareOp::Co => col.like(LikeExpr::new(format!("%{}%", escape_like(&v))).escape('\\')),
        CompareOp::Sw => col.like(LikeExpr::new(format!("{}%", escape_like(&v))).escape('\\')),
        CompareOp::Ew => col.like(LikeExpr::new(format!("%{}", escape_like(&v))).escape('\\')),
        CompareOp::Gt => collate_c(col, backend).gt(v),
        CompareOp::Ge => collate_c(col, backend).gte(v),
        CompareOp::Lt => collate_c(col, backend).lt(v),
        CompareOp::Le => collate_c(col, backend).lte(v),
    }
}

fn exact_compare(c: &Operand, op: CompareOp, v: String, backend: DbBackend) -> Expr {
    // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive counterpart.
    let glob = |pattern: String| cust(DbBackend::Sqlite, "$1 GLOB $2", [c.expr.clone(), Expr::val(pattern)]);
    match (op, backend) {
        (CompareOp::Co, DbBackend::Sqlite) => glob(format!("*{}*", escape_glob(&v))),
        (CompareOp::Sw, DbBackend::Sqlite) => glob(format!("{}*", escape_glob(&v))),
        (CompareOp::Ew, DbBackend::Sqlite) => glob(format!("*{}", escape_glob(&v))),
        _ => ordered(c.expr.clone(), op, v, backend),
    }
}

fn bool_value(value: &CompValue, path: &AttrPath) -> Result<bool, DomainError> {
    match value {
        CompValue::Bool(b) => Ok(*b),
        CompValue::Str(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        CompValue::Str(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(format!("'{path}' is a boolean: compare it with true or false"))),
    }
}

fn bool_ops(path: &AttrPath) -> DomainError {
    invalid(format!("'{path}' is a boolean: only 'eq', 'ne' and 'pr' apply"))
}

fn bool_compare(c: &Operand, op: CompareOp, value: &CompValue, path: &AttrPath) -> Result<Expr, DomainError> {
    let b = bool_value(value, path)?;
    match op {
        CompareOp::Eq => Ok(c.expr.clone().eq(b)),
        _ => Err(bool_ops(path)),
    }
}

fn parse_time(s: &str, path: &AttrPath) -> Result<DateTime<Utc>, DomainError> {
    Ok(DateTime::parse_from_rfc3339(s)
        .map_err(|_| invalid(format!("'{s}' is not an RFC 3339 dateTime (for '{path}')")))?
        .with_timezone(&Utc))
}

fn time_compare(c: &Operand, op: CompareOp, value: &CompValue, path: &AttrPath) -> Result<Expr, DomainError> {
    let CompValue::Str(s) = value else {
        return Err(invalid(format!(
            "'{path}' is a dateTime: compare it with a quoted RFC 3339 timestamp"
        )));
    };
    let t = parse_time(s, path)?;
    let col = c.expr.clone();
    Ok(match op {
        CompareOp::Eq | CompareOp::Ne => col.eq(t),
        CompareOp::Gt => col.gt(t),
        CompareOp::Ge => col.gte(t),
        CompareOp::Lt => col.lt(t),
        CompareOp::Le => col.lte(t),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            return Err(invalid(format!("'{path}' is a dateTime: use eq, ne, gt, ge, lt or le")));
        }
    })
}

// ---------------------------------------------------------------------------------------
// Sorting and paging
// ---------------------------------------------------------------------------------------

/// The SQL type of a sort key.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SortType {
    Text,
    Time,
    Bool,
}

/// The expression a list is ordered by (before the id tie-breaker).
#[derive(Clone)]
struct SortKey {
    expr: Expr,
    ty: SortType,
}

const KEY_TEXT: &str = "scim_sort_text";
const KEY_TIME: &str = "scim_sort_time";
const KEY_BOOL: &str = "scim_sort_bool";

fn cannot_sort(path: &AttrPath, why: &str) -> DomainError {
    DomainError::InvalidValue(format!("cannot sort by '{path}': {why}"))
}

/// The sort key of `sortBy` (RFC 7644 §3.4.2.3); `None` for `id`, the default order. Strings
/// sort case-insensitively unless `caseExact`, in plain Unicode order; a multi-valued `emails`
/// sorts by its primary (else first) value.
fn sort_key(path: &AttrPath, resource: Resource, backend: DbBackend) -> Result<Option<SortKey>, DomainError> {
    // The filter translator's errors name the problem; for sorting they are invalidValue.
    let target = resolve(path, resource, backend).map_err(|e| cannot_sort(path, &e.to_string()))?;
    let text = |expr: Expr| {
        Ok(Some(SortKey {
            expr: collate_c(expr, backend),
            ty: SortType::Text,
        }))
    };
    match target {
        Target::Operand(c) => match c.kind {
            Kind::Exact if path.name.eq_ignore_ascii_case("id") && path.sub.is_none() => Ok(None),
            Kind::Exact | Kind::Insensitive { stored_lower: true } => text(c.expr),
            Kind::Insensitive { stored_lower: false } => text(Func::lower(c.expr).into()),
            Kind::Time => Ok(Some(SortKey {
                expr: c.expr,
                ty: SortType::Time,
            })),
            Kind::Bool => Ok(Some(SortKey {
                expr: c.expr,
                ty: SortType::Bool,
            })),
            Kind::JsonBool => text(c.expr),
        },
        Target::Multi(Multi::Emails) if path.sub.as_deref().is_none_or(|s| s.eq_ignore_ascii_case("value")) => {
            let first = Query::select()
                .column(("user_emails", "value_norm"))
                .from("user_emails")
                .and_where(Expr::col(("user_emails", "user_id")).equals(("users", "id")))
                .and_where(Expr::col(("user_emails", "tenant_id")).equals(("users", "tenant_id")))
                .order_by(("user_emails", "is_primary"), Order::Desc)
                .order_by(("user_emails", "position"), Order::Asc)
                .limit(1)
                .to_owned();
            text(Expr::SubQuery(None, Box::new(first.into())))
        }
        Target::Multi(_) | Target::JsonMulti { .. } => Err(cannot_sort(
            path,
            "only emails among the multi-valued attributes is sortable",
        )),
        Target::Complex { .. } => Err(cannot_sort(path, "name one of its sub-attributes")),
    }
}

/// The tie-breaker. Ids are lower-case hyphenated UUIDs, which every collation orders like
/// plain bytes, so the column is used as it is and its primary-key index serves the order.
fn id_expr(resource: Resource) -> Expr {
    Expr::col((resource.table(), "id"))
}

fn key_value(v: &SortValue, ty: SortType) -> Option<Expr> {
    match (v, ty) {
        (SortValue::Text(s), SortType::Text) => Some(Expr::val(s.clone())),
        (SortValue::Time(t), SortType::Time) => Some(Expr::val(*t)),
        (SortValue::Bool(b), SortType::Bool) => Some(Expr::val(*b)),
        _ => None,
    }
}

/// The rows strictly after `pos` in the order (ascending, or descending when `desc`). Rows
/// without a key sort after all rows with one (ascending), ties broken by id.
fn after(key: Option<&SortKey>, id: Expr, pos: &CursorPos, desc: bool) -> Result<Expr, DomainError> {
    let idv = pos.id.to_string();
    let id_after = if desc { id.lt(idv) } else { id.gt(idv) };
    let Some(k) = key else {
        return Ok(id_after);
    };
    let e = || k.expr.clone();
    Ok(match (&pos.key, desc) {
        (Some(v), _) => {
            let v = key_value(v, k.ty)
                .ok_or_else(|| DomainError::InvalidValue("the cursor does not belong to this sort order".into()))?;
            if desc {
                e().is_not_null().and(e().lt(v.clone()).or(e().eq(v).and(id_after)))
            } else {
                e().is_null().or(e().gt(v.clone())).or(e().eq(v).and(id_after))
            }
        }
        (None, false) => e().is_null().and(id_after),
        (None, true) => e().is_not_null().or(e().is_null().and(id_after)),
    })
}

fn order<E: EntityTrait>(mut s: Select<E>, key: Option<&SortKey>, id: Expr, desc: bool) -> Select<E> {
    let dir = || if desc { Order::Desc } else { Order::Asc };
    if let Some(k) = key {
        s = s
            .order_by(k.expr.clone().is_null(), dir())
            .order_by(k.expr.clone(), dir());
    }
    s.order_by(id, dir())
}

/// A row with the value of its sort key.
pub struct Keyed<M> {
    pub model: M,
    id: String,
    key: Option<SortValue>,
}

impl<M: FromQueryResult> FromQueryResult for Keyed<M> {
    fn from_query_result(res: &QueryResult, pre: &str) -> Result<Self, DbErr> {
        let model = M::from_query_result(res, pre)?;
        let id: String = res.try_get(pre, "id")?;
        let key = if let Ok(Some(s)) = res.try_get::<Option<String>>(pre, KEY_TEXT) {
            Some(SortValue::Text(s))
        } else if let Ok(Some(t)) = res.try_get::<Option<DateTime<Utc>>>(pre, KEY_TIME) {
            Some(SortValue::Time(t))
        } else if let Ok(Some(b)) = res.try_get::<Option<bool>>(pre, KEY_BOOL) {
            Some(SortValue::Bool(b))
        } else {
            None
        };
        Ok(Self { model, id, key })
    }
}

impl<M> Keyed<M> {
    fn pos(&self) -> Result<CursorPos, DomainError> {
        let id = uuid::Uuid::parse_str(&self.id)
            .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored id {:?}: {e}", self.id)))?;
        Ok(CursorPos {
            key: self.key.clone(),
            id,
        })
    }
}

/// One page of rows, with the cursor positions around it (cursor paging only).
pub struct Fetched<M> {
    pub rows: Vec<M>,
    pub next: Option<CursorPos>,
    pub previous: Option<CursorPos>,
}

/// Orders and pages an already filtered select as the query asks: by `sortBy` (ties broken by
/// id, so the order is total and stable) with `startIndex` or an RFC 9865 cursor. A cursor is
/// a keyset position, so rows inserted or deleted meanwhile never shift the pages.
pub async fn fetch_page<E, C>(
    db: &C,
    select: Select<E>,
    resource: Resource,
    q: &ListQuery,
) -> Result<Fetched<E::Model>, DomainError>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let backend = db.get_database_backend();
    let key = match &q.sort_by {
        Some(path) => sort_key(path, resource, backend)?,
        None => None,
    };
    let id = id_expr(resource);
    let mut select = select;
    if let Some(k) = &key {
        let alias = match k.ty {
            SortType::Text => KEY_TEXT,
            SortType::Time => KEY_TIME,
            SortType::Bool => KEY_BOOL,
        };
        select = select.expr_as(k.expr.clone(), alias);
    }
    let desc = q.descending;
    let Some(cursor) = &q.cursor else {
        let rows = order(select, key.as_ref(), id, desc)
            .offset(q.start_index.saturating_sub(1))
            .limit(q.count)
            .into_model::<Keyed<E::Model>>()
            .all(db)
            .await
            .ctx("listing resources")?;
        return Ok(Fetched {
            rows: rows.into_iter().map(|r| r.model).collect(),
            next: None,
            previous: None,
        });
    };
    // Backwards pages are read in the reverse order, then put back in order.
    let (select, reverse) = match cursor {
        CursorRequest::First => (select, false),
        CursorRequest::After(pos) => (select.filter(after(key.as_ref(), id.clone(), pos, desc)?), false),
        CursorRequest::Before(pos) => (select.filter(after(key.as_ref(), id.clone(), pos, !desc)?), true),
    };
    let mut rows = order(select, key.as_ref(), id, desc != reverse)
        .limit(q.count.saturating_add(1))
        .into_model::<Keyed<E::Model>>()
        .all(db)
        .await
        .ctx("listing resources")?;
    let more = u64::try_from(rows.len()).unwrap_or(u64::MAX) > q.count;
    rows.truncate(usize::try_from(q.count).unwrap_or(usize::MAX));
    if reverse {
        rows.reverse();
    }
    let first = rows.first().map(Keyed::pos).transpose()?;
    let last = rows.last().map(Keyed::pos).transpose()?;
    let (next, previous) = match cursor {
        CursorRequest::First => (last.filter(|_| more), None),
        CursorRequest::After(_) => (last.filter(|_| more), first),
        CursorRequest::Before(_) => (last, first.filter(|_| more)),
    };
    Ok(Fetched {
        rows: rows.into_iter().map(|r| r.model).collect(),
        next,
        previous,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    /// Custom SQL must use each backend's placeholders: `?` on SQLite, `$n` on Postgres; a
    /// `$1` left in SQLite text would be an unbound named parameter.
    #[test]
    fn custom_sql_uses_each_backends_placeholders_and_binds_every_value() {
        for f in [
            "title eq \"x\"",
            "phoneNumbers[type eq \"mobile\" and value sw \"+1\"]",
            "externalId co \"A\" and roles.primary eq true",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value gt \"m\"",
        ] {
            let filter = domain::filter::parse_filter(f).unwrap();
            for b in [DbBackend::Sqlite, DbBackend::Postgres] {
                let c = condition(&filter, Resource::User, b).unwrap();
                let q = Query::select().expr(Expr::val(1)).from("users").and_where(c).to_owned();
                let (sql, values) = match b {
                    DbBackend::Sqlite => q.build(SqliteQueryBuilder),
                    _ => q.build(PostgresQueryBuilder),
                };
                let marks = match b {
                    DbBackend::Sqlite => {
                        assert!(!sql.contains('$'), "{f}: {sql}");
                        sql.matches('?').count()
                    }
                    _ => {
                        assert!(!sql.contains('?'), "{f}: {sql}");
                        sql.matches('$').count()
                    }
                };
                assert_eq!(marks, values.0.len(), "{f}: {sql}");
                assert!(
                    !sql.contains("mobile") && !sql.contains("title\""),
                    "values are bound: {sql}"
                );
            }
        }
    }
}
