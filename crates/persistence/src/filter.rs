//! SCIM filters (`domain::filter::Filter`) translated into SQL conditions, so that a filter
//! runs in the database on indexed columns and never by loading a tenant's rows.
//!
//! Each filterable attribute maps to a column with its comparison rules (RFC 7643 `caseExact`):
//! case-insensitive attributes compare lower-cased values (`userName` against its stored
//! lower-cased column), case-exact ones (`id`, `externalId`) compare as stored. Multi-valued
//! attributes (`emails`, `members`) become `EXISTS` sub-queries, so a value path such as
//! `emails[type eq "work" and value co "@x"]` holds for one and the same email.

use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::filter::{AttrPath, CompValue, CompareOp, Filter};
use domain::schema::{GROUP_SCHEMA, USER_SCHEMA};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement};

/// How one column is compared.
#[derive(Clone, Copy)]
enum Kind {
    /// Text compared as stored.
    Exact,
    /// Text compared case-insensitively; `stored_lower` when the column already holds lower case.
    Insensitive {
        stored_lower: bool,
    },
    Bool,
    Time,
}

#[derive(Clone, Copy)]
struct Column {
    table: &'static str,
    name: &'static str,
    kind: Kind,
    nullable: bool,
}

impl Column {
    const fn new(table: &'static str, name: &'static str, kind: Kind, nullable: bool) -> Self {
        Self {
            table,
            name,
            kind,
            nullable,
        }
    }

    fn expr(self) -> Expr {
        Expr::col((self.table, self.name))
    }
}

/// What an attribute path resolves to.
enum Target {
    Column(Column),
    /// A multi-valued attribute: a sub-query over its rows, with columns by sub-attribute.
    Multi(Multi),
}

#[derive(Clone, Copy)]
enum Multi {
    Emails,
    Members,
}

/// The resource being filtered.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

fn unsupported(path: &AttrPath, resource: Resource) -> DomainError {
    let supported = match resource {
        Resource::User => {
            "id, userName, externalId, displayName, active, name.givenName, name.familyName, emails (value, type, primary), meta.created, meta.lastModified"
        }
        Resource::Group => {
            "id, displayName, externalId, members (value), meta.created, meta.lastModified"
        }
    };
    DomainError::InvalidFilter(format!(
        "filtering on '{path}' is not supported; filterable attributes are: {supported}"
    ))
}

fn resolve(path: &AttrPath, resource: Resource) -> Result<Target, DomainError> {
    let core = match resource {
        Resource::User => USER_SCHEMA,
        Resource::Group => GROUP_SCHEMA,
    };
    if path
        .urn
        .as_deref()
        .is_some_and(|u| !u.eq_ignore_ascii_case(core))
    {
        return Err(unsupported(path, resource));
    }
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub.as_deref().map(str::to_ascii_lowercase);
    let table = match resource {
        Resource::User => "users",
        Resource::Group => "groups",
    };
    let col = |name, kind, nullable| Ok(Target::Column(Column::new(table, name, kind, nullable)));
    let ci = Kind::Insensitive {
        stored_lower: false,
    };
    match (resource, name.as_str(), sub.as_deref()) {
        (_, "id", None) => col("id", Kind::Exact, false),
        (_, "externalid", None) => col("external_id", Kind::Exact, true),
        (_, "meta", Some("created")) => col("created_at", Kind::Time, false),
        (_, "meta", Some("lastmodified")) => col("updated_at", Kind::Time, false),
        (Resource::User, "username", None) => col(
            "user_name_norm",
            Kind::Insensitive { stored_lower: true },
            false,
        ),
        (Resource::User, "displayname", None) => col("display_name", ci, true),
        (Resource::User, "active", None) => col("active", Kind::Bool, false),
        (Resource::User, "name", Some("givenname")) => col("given_name", ci, true),
        (Resource::User, "name", Some("familyname")) => col("family_name", ci, true),
        (Resource::User, "emails", _) => Ok(Target::Multi(Multi::Emails)),
        (Resource::Group, "displayname", None) => col(
            "display_name_norm",
            Kind::Insensitive { stored_lower: true },
            false,
        ),
        (Resource::Group, "members", _) => Ok(Target::Multi(Multi::Members)),
        _ => Err(unsupported(path, resource)),
    }
}

/// The column of a multi-valued attribute's sub-attribute.
fn sub_column(multi: Multi, sub: Option<&str>, path: &AttrPath) -> Result<Column, DomainError> {
    let sub = sub.map(str::to_ascii_lowercase);
    match (multi, sub.as_deref()) {
        (Multi::Emails, None | Some("value")) => Ok(Column::new(
            "user_emails",
            "value_norm",
            Kind::Insensitive { stored_lower: true },
            false,
        )),
        (Multi::Emails, Some("type")) => Ok(Column::new(
            "user_emails",
            "kind",
            Kind::Insensitive {
                stored_lower: false,
            },
            true,
        )),
        (Multi::Emails, Some("primary")) => {
            Ok(Column::new("user_emails", "is_primary", Kind::Bool, false))
        }
        (Multi::Members, None | Some("value")) => Ok(Column::new(
            "group_memberships",
            "user_id",
            Kind::Exact,
            false,
        )),
        _ => Err(DomainError::InvalidFilter(format!(
            "filtering on '{path}' is not supported"
        ))),
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
    };
    q.and_where(condition);
    Expr::exists(q)
}

/// Translates a filter into a condition on the resource's table.
pub fn condition(
    filter: &Filter,
    resource: Resource,
    backend: DbBackend,
) -> Result<Expr, DomainError> {
    Translator {
        resource,
        backend,
        within: None,
    }
    .translate(filter)
}

#[derive(Clone, Copy)]
struct Translator {
    resource: Resource,
    backend: DbBackend,
    /// Set inside a value path: attribute paths are then sub-attributes of this one.
    within: Option<Multi>,
}

impl Translator {
    fn translate(&self, filter: &Filter) -> Result<Expr, DomainError> {
        match filter {
            Filter::And(a, b) => Ok(self.translate(a)?.and(self.translate(b)?)),
            Filter::Or(a, b) => Ok(self.translate(a)?.or(self.translate(b)?)),
            Filter::Not(inner) => Ok(self.translate(inner)?.not()),
            Filter::Present(path) => self.leaf(path, |c| Ok(present(c))),
            Filter::Compare { path, op, value } => {
                self.leaf(path, |c| compare(c, *op, value, path, self.backend))
            }
            Filter::ValuePath { path, filter } => {
                if self.within.is_some() {
                    return Err(DomainError::InvalidFilter(
                        "nested value paths are not allowed".into(),
                    ));
                }
                match resolve(path, self.resource)? {
                    Target::Multi(multi) => {
                        let inner = Self {
                            within: Some(multi),
                            ..*self
                        }
                        .translate(filter)?;
                        Ok(exists(multi, inner))
                    }
                    Target::Column(_) => Err(DomainError::InvalidFilter(format!(
                        "'{path}' is not multi-valued, so it cannot take a [value filter]"
                    ))),
                }
            }
        }
    }

    fn leaf(
        &self,
        path: &AttrPath,
        make: impl Fn(Column) -> Result<Expr, DomainError>,
    ) -> Result<Expr, DomainError> {
        if let Some(multi) = self.within {
            // Inside `emails[...]`, `value` means `emails.value`.
            let sub = if path.sub.is_some() {
                path.sub.as_deref()
            } else {
                Some(path.name.as_str())
            };
            return make(sub_column(multi, sub, path)?);
        }
        match resolve(path, self.resource)? {
            Target::Column(c) => make(c),
            Target::Multi(multi) => Ok(exists(
                multi,
                make(sub_column(multi, path.sub.as_deref(), path)?)?,
            )),
        }
    }
}

fn present(c: Column) -> Expr {
    match c.kind {
        Kind::Exact | Kind::Insensitive { .. } => c.expr().is_not_null().and(c.expr().ne("")),
        Kind::Bool | Kind::Time => c.expr().is_not_null(),
    }
}

fn escape_like(s: &str) -> String {
    s.chars()
        .fold(String::with_capacity(s.len()), |mut out, ch| {
            if matches!(ch, '%' | '_' | '\\') {
                out.push('\\');
            }
            out.push(ch);
            out
        })
}

fn escape_glob(s: &str) -> String {
    s.chars()
        .fold(String::with_capacity(s.len()), |mut out, ch| {
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
        CompValue::Null => Err(DomainError::InvalidFilter(format!(
            "'{path}' cannot be compared with null; use 'not ({path} pr)'"
        ))),
    }
}

fn compare(
    c: Column,
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
            Kind::Bool => bool_compare(c, op, value, path)?,
            Kind::Time => time_compare(c, op, value, path)?,
            Kind::Exact => exact_compare(c, op, text_value(value, path)?, backend),
            Kind::Insensitive { stored_lower } => {
                let v = text_value(value, path)?.to_lowercase();
                let col = if stored_lower {
                    c.expr()
                } else {
                    Func::lower(c.expr()).into()
                };
                ordered(col, op, v)
            }
        },
    };
    // SQL's NULL would make `not (x eq "a")` drop rows without x; guard so it keeps them.
    Ok(if c.nullable {
        c.expr().is_not_null().and(positive)
    } else {
        positive
    })
}

fn ordered(col: Expr, op: CompareOp, v: String) -> Expr {
    match op {
        CompareOp::Eq | CompareOp::Ne => col.eq(v),
        CompareOp::Co => col.like(LikeExpr::new(format!("%{}%", escape_like(&v))).escape('\\')),
        CompareOp::Sw => col.like(LikeExpr::new(format!("{}%", escape_like(&v))).escape('\\')),
        CompareOp::Ew => col.like(LikeExpr::new(format!("%{}", escape_like(&v))).escape('\\')),
        CompareOp::Gt => col.gt(v),
        CompareOp::Ge => col.gte(v),
        CompareOp::Lt => col.lt(v),
        CompareOp::Le => col.lte(v),
    }
}

fn exact_compare(c: Column, op: CompareOp, v: String, backend: DbBackend) -> Expr {
    // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive counterpart.
    let glob =
        |pattern: String| Expr::cust_with_exprs("$1 GLOB $2", [c.expr(), Expr::val(pattern)]);
    match (op, backend) {
        (CompareOp::Co, DbBackend::Sqlite) => glob(format!("*{}*", escape_glob(&v))),
        (CompareOp::Sw, DbBackend::Sqlite) => glob(format!("{}*", escape_glob(&v))),
        (CompareOp::Ew, DbBackend::Sqlite) => glob(format!("*{}", escape_glob(&v))),
        _ => ordered(c.expr(), op, v),
    }
}

fn bool_compare(
    c: Column,
    op: CompareOp,
    value: &CompValue,
    path: &AttrPath,
) -> Result<Expr, DomainError> {
    let b = match value {
        CompValue::Bool(b) => *b,
        CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
        CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
        _ => {
            return Err(DomainError::InvalidFilter(format!(
                "'{path}' is a boolean: compare it with true or false"
            )));
        }
    };
    match op {
        CompareOp::Eq => Ok(c.expr().eq(b)),
        _ => Err(DomainError::InvalidFilter(format!(
            "'{path}' is a boolean: only 'eq', 'ne' and 'pr' apply"
        ))),
    }
}

fn time_compare(
    c: Column,
    op: CompareOp,
    value: &CompValue,
    path: &AttrPath,
) -> Result<Expr, DomainError> {
    let CompValue::Str(s) = value else {
        return Err(DomainError::InvalidFilter(format!(
            "'{path}' is a dateTime: compare it with a quoted RFC 3339 timestamp"
        )));
    };
    let t: DateTime<Utc> = DateTime::parse_from_rfc3339(s)
        .map_err(|_| {
            DomainError::InvalidFilter(format!("'{s}' is not an RFC 3339 dateTime (for '{path}')"))
        })?
        .with_timezone(&Utc);
    let col = c.expr();
    Ok(match op {
        CompareOp::Eq | CompareOp::Ne => col.eq(t),
        CompareOp::Gt => col.gt(t),
        CompareOp::Ge => col.gte(t),
        CompareOp::Lt => col.lt(t),
        CompareOp::Le => col.lte(t),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
            return Err(DomainError::InvalidFilter(format!(
                "'{path}' is a dateTime: use eq, ne, gt, ge, lt or le"
            )));
        }
    })
}
