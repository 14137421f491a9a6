//! Group membership changes carved out of a PATCH request.
//!
//! Memberships live in their own table and change by inserting and deleting (group, user)
//! pairs, never by rewriting a member list, so concurrent PATCHes from an IdP lose nothing.
//! This module turns the `members` operations of a Group PATCH, in every shape real IdPs send,
//! into such set operations; the other operations go to the generic PATCH engine.

use serde_json::Value;

use crate::DomainError;
use crate::filter::{CompValue, CompareOp, Filter};
use crate::patch::{PatchOp, PatchOpKind};
use crate::schema::GROUP_SCHEMA;

/// One set operation on a group's members, by user id as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    /// Insert these pairs (already present ones are left alone).
    Add(Vec<String>),
    /// Delete these pairs.
    Remove(Vec<String>),
    /// Delete every pair matching the filter (`members[display co "x"]`).
    RemoveWhere(Filter),
    /// Delete every pair.
    RemoveAll,
    /// Make the member set exactly this.
    ReplaceAll(Vec<String>),
}

/// The ids in a `members` value: an array of `{"value": id}` objects or a single one.
pub fn member_values(value: &Value) -> Result<Vec<String>, DomainError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![value],
        Value::Null => Vec::new(),
        _ => {
            return Err(DomainError::InvalidValue(
                "'members' must be an array of objects like {\"value\": \"<user id>\"}".into(),
            ));
        }
    };
    let mut ids = Vec::with_capacity(items.len());
    for item in items {
        let id = item
            .as_object()
            .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")))
            .and_then(|(_, v)| v.as_str());
        match id {
            Some(id) if !ids.iter().any(|x| x == id) => ids.push(id.to_owned()),
            Some(_) => {}
            None => {
                return Err(DomainError::InvalidValue(
                    "each member must be an object with a string 'value' holding a user id".into(),
                ));
            }
        }
    }
    Ok(ids)
}

fn is_members(op: &PatchOp) -> bool {
    op.path.as_ref().is_some_and(|p| {
        p.attr.name.eq_ignore_ascii_case("members")
            && p.attr
                .urn
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(GROUP_SCHEMA))
    })
}

/// `value eq "a" or value eq "b"`: the ids, when the filter is only that.
fn ids_of(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::Str(v),
        } if path.urn.is_none() && path.sub.is_none() && path.name.eq_ignore_ascii_case("value") => {
            Some(vec![v.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = ids_of(a)?;
            ids.extend(ids_of(b)?);
            Some(ids)
        }
        _ => None,
    }
}

/// Splits Group PATCH operations into attribute operations and membership changes, keeping
/// the order within each list.
pub fn split_group_ops(ops: &[PatchOp]) -> Result<(Vec<PatchOp>, Vec<MemberChange>), DomainError> {
    let mut attribute_ops = Vec::new();
    let mut changes = Vec::new();
    for op in ops {
        if is_members(op) {
            changes.push(member_change(op)?);
            continue;
        }
        // A no-path add/replace may carry `members` inside its value object.
        if op.path.is_none()
            && let Some(Value::Object(obj)) = &op.value
            && let Some((key, members)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("members"))
        {
            let ids = member_values(members)?;
            changes.push(match op.op {
                PatchOpKind::Replace => MemberChange::ReplaceAll(ids),
                _ => MemberChange::Add(ids),
            });
            let mut rest = obj.clone();
            rest.remove(key);
            if !rest.is_empty() {
                attribute_ops.push(PatchOp {
                    value: Some(Value::Object(rest)),
                    ..op.clone()
                });
            }
            continue;
        }
        attribute_ops.push(op.clone());
    }
    Ok((attribute_ops, changes))
}

fn member_change(op: &PatchOp) -> Result<MemberChange, DomainError> {
    let Some(path) = &op.path else {
        return Err(DomainError::InvalidPath("a members operation needs a path".into()));
    };
    if path.sub.is_some() || path.attr.sub.is_some() {
        return Err(DomainError::InvalidPath(
            "members' sub-attributes cannot be changed; add or remove the member instead".into(),
        ));
    }
    let value = op.value.as_ref();
    match (op.op, &path.filter) {
        (PatchOpKind::Add, None) => Ok(MemberChange::Add(member_values(value.unwrap_or(&Value::Null))?)),
        (PatchOpKind::Replace, None) => Ok(MemberChange::ReplaceAll(member_values(value.unwrap_or(&Value::Null))?)),
        // Entra ID: `remove` with path `members` and a value array removes only those members.
        (PatchOpKind::Remove, None) => match value {
            Some(v) if !v.is_null() => Ok(MemberChange::Remove(member_values(v)?)),
            _ => Ok(MemberChange::RemoveAll),
        },
        (PatchOpKind::Remove, Some(f)) => Ok(match ids_of(f) {
            Some(ids) => MemberChange::Remove(ids),
            None => MemberChange::RemoveWhere(f.clone()),
        }),
        (_, Some(_)) => Err(DomainError::InvalidPath(
            "members cannot be added or replaced through a filter; use add or remove with path 'members'".into(),
        )),
    }
}
