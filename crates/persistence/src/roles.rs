//! Effective roles, recomputed in the same transaction as any membership, mapping or default
//! role change, and the role-mapping repository.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use domain::DomainError;
use domain::events::{Actor, Event, EventType, ResourceRef};
use domain::ports::{RoleChange, RoleStore};
use domain::roles::{RoleCatalogue, RoleMapping};
use domain::tenant::TenantId;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{group_memberships, groups, role_mappings, sso_connections, user_roles, users};
use crate::error::DbResultExt;
use crate::outbox;

/// The mapped roles of each user's groups, keyed by user id.
async fn mapped_roles<C: ConnectionTrait>(
    db: &C,
    t: TenantId,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<String>>, DomainError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in user_ids.chunks(500) {
        let stmt = Query::select()
            .column((group_memberships::Entity, group_memberships::Column::UserId))
            .column((role_mappings::Entity, role_mappings::Column::Role))
            .from(group_memberships::Entity)
            .inner_join(
                groups::Entity,
                Expr::col((groups::Entity, groups::Column::Id))
                    .equals((group_memberships::Entity, group_memberships::Column::GroupId)),
            )
            .inner_join(
                role_mappings::Entity,
                Expr::col((role_mappings::Entity, role_mappings::Column::TenantId))
                    .equals((groups::Entity, groups::Column::TenantId))
                    .and(
                        Expr::col((role_mappings::Entity, role_mappings::Column::GroupNameNorm))
                            .equals((groups::Entity, groups::Column::DisplayNameNorm)),
                    ),
            )
            .and_where(Expr::col((group_memberships::Entity, group_memberships::Column::TenantId)).eq(t.to_string()))
            .and_where(
                Expr::col((group_memberships::Entity, group_memberships::Column::UserId)).is_in(chunk.iter().cloned()),
            )
            .to_owned();
        for row in db.query_all(&stmt).await.ctx("reading mapped roles")? {
            let user: String = row.try_get("", "user_id").ctx("reading user_id")?;
            let role: String = row.try_get("", "role").ctx("reading role")?;
            out.entry(user).or_default().push(role);
        }
    }
    Ok(out)
}

async fn default_role<C: ConnectionTrait>(db: &C, t: TenantId) -> Result<Option<String>, DomainError> {
    Ok(sso_connections::Entity::find_by_id(t.to_string())
        .one(db)
        .await
        .ctx("reading the default role")?
        .and_then(|c| c.default_role))
}

async fn current_roles<C: ConnectionTrait>(
    db: &C,
    t: TenantId,
    user_ids: &[String],
) -> Result<HashMap<String, String>, DomainError> {
    let mut out = HashMap::new();
    for chunk in user_ids.chunks(500) {
        for m in user_roles::Entity::find()
            .filter(user_roles::Column::TenantId.eq(t.to_string()))
            .filter(user_roles::Column::UserId.is_in(chunk.iter().cloned()))
            .all(db)
            .await
            .ctx("reading effective roles")?
        {
            out.insert(m.user_id, m.role);
        }
    }
    Ok(out)
}

/// Every live user of the tenant.
pub(crate) async fn all_users<C: ConnectionTrait>(db: &C, t: TenantId) -> Result<Vec<String>, DomainError> {
    users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::TenantId.eq(t.to_string()))
        .filter(users::Column::DeletedAt.is_null())
        .into_tuple::<String>()
        .all(db)
        .await
        .ctx("listing users")
}

/// Recomputes the effective role of these users and writes what changed, with one
/// `user.role_changed` event per changed user.
pub(crate) async fn recompute<C: ConnectionTrait>(
    db: &C,
    catalogue: &RoleCatalogue,
    t: TenantId,
    actor: &Actor,
    user_ids: &[String],
) -> Result<(), DomainError> {
    if user_ids.is_empty() {
        return Ok(());
    }
    let live: Vec<String> = {
        let mut v = Vec::new();
        for chunk in user_ids.chunks(500) {
            v.extend(
                users::Entity::find()
                    .select_only()
                    .column(users::Column::Id)
                    .filter(users::Column::TenantId.eq(t.to_string()))
                    .filter(users::Column::DeletedAt.is_null())
                    .filter(users::Column::Id.is_in(chunk.iter().cloned()))
                    .into_tuple::<String>()
                    .all(db)
                    .await
                    .ctx("reading users")?,
            );
        }
        v
    };
    let default = default_role(db, t).await?;
    let mapped = mapped_roles(db, t, &live).await?;
    let current = current_roles(db, t, &live).await?;
    for user in &live {
        let new = catalogue.effective(
            mapped.get(user).into_iter().flatten().map(String::as_str),
            default.as_deref(),
        );
        let old = current.get(user).cloned();
        if new == old {
            continue;
        }
        user_roles::Entity::delete_many()
            .filter(user_roles::Column::TenantId.eq(t.to_string()))
            .filter(user_roles::Column::UserId.eq(user.clone()))
            .exec(db)
            .await
            .ctx("clearing a role")?;
        if let Some(role) = &new {
            user_roles::Entity::insert(user_roles::ActiveModel {
                user_id: Set(user.clone()),
                tenant_id: Set(t.to_string()),
                role: Set(role.clone()),
                updated_at: Set(Utc::now()),
            })
            .exec_without_returning(db)
            .await
            .ctx("writing a role")?;
        }
        let ev = Event::new(
            EventType::UserRoleChanged,
            t,
            actor,
            ResourceRef {
                kind: "User",
                id: user.clone(),
            },
            json!({"from": old, "to": new}),
        );
        outbox::push(db, &ev).await?;
    }
    Ok(())
}

/// Removes a deleted user's role row (no event: `user.deleted` says it).
pub(crate) async fn forget<C: ConnectionTrait>(db: &C, t: TenantId, user: &str) -> Result<(), DomainError> {
    user_roles::Entity::delete_many()
        .filter(user_roles::Column::TenantId.eq(t.to_string()))
        .filter(user_roles::Column::UserId.eq(user))
        .exec(db)
        .await
        .ctx("removing a role")?;
    Ok(())
}

/// Role mappings in Postgres or SQLite.
pub struct SqlRoleStore {
    db: DatabaseConnection,
    catalogue: Arc<RoleCatalogue>,
}

impl SqlRoleStore {
    /// A store over the pool.
    pub fn new(db: DatabaseConnection, catalogue: Arc<RoleCatalogue>) -> Self {
        Self { db, catalogue }
    }
}

fn normalise(mappings: &[RoleMapping], catalogue: &RoleCatalogue) -> Result<Vec<RoleMapping>, DomainError> {
    let mut out: Vec<RoleMapping> = Vec::with_capacity(mappings.len());
    for m in mappings {
        let group = m.group.trim();
        if group.is_empty() {
            return Err(DomainError::InvalidValue("a mapping's group must not be empty".into()));
        }
        catalogue.check(&m.role)?;
        if out.iter().any(|o| o.group.to_lowercase() == group.to_lowercase()) {
            return Err(DomainError::InvalidValue(format!(
                "the group '{group}' is mapped twice"
            )));
        }
        out.push(RoleMapping {
            group: group.to_owned(),
            role: m.role.clone(),
        });
    }
    Ok(out)
}

#[async_trait]
impl RoleStore for SqlRoleStore {
    async fn mappings(&self, t: TenantId) -> Result<Vec<RoleMapping>, DomainError> {
        Ok(role_mappings::Entity::find()
            .filter(role_mappings::Column::TenantId.eq(t.to_string()))
            .order_by_asc(role_mappings::Column::GroupNameNorm)
            .all(&self.db)
            .await
            .ctx("reading role mappings")?
            .into_iter()
            .map(|m| RoleMapping {
                group: m.group_display_name,
                role: m.role,
            })
            .collect())
    }

    #[tracing::instrument(skip(self, mappings), err(level = "debug"))]
    async fn replace_mappings(
        &self,
        t: TenantId,
        actor: &Actor,
        mappings: Vec<RoleMapping>,
    ) -> Result<Vec<RoleMapping>, DomainError> {
        let mappings = normalise(&mappings, &self.catalogue)?;
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        role_mappings::Entity::delete_many()
            .filter(role_mappings::Column::TenantId.eq(t.to_string()))
            .exec(&txn)
            .await
            .ctx("clearing role mappings")?;
        let now = Utc::now();
        for m in &mappings {
            role_mappings::Entity::insert(role_mappings::ActiveModel {
                tenant_id: Set(t.to_string()),
                group_name_norm: Set(m.group.to_lowercase()),
                group_display_name: Set(m.group.clone()),
                role: Set(m.role.clone()),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await
            .ctx("writing a role mapping")?;
        }
        let ev = Event::new(
            EventType::RoleMappingUpdated,
            t,
            actor,
            ResourceRef {
                kind: "RoleMappings",
                id: t.to_string(),
            },
            json!({"mappings": mappings}),
        );
        outbox::push(&txn, &ev).await?;
        let users = all_users(&txn, t).await?;
        recompute(&txn, &self.catalogue, t, actor, &users).await?;
        txn.commit().await.ctx("committing role mappings")?;
        Ok(mappings)
    }

    async fn preview(&self, t: TenantId, proposed: &[RoleMapping]) -> Result<Vec<RoleChange>, DomainError> {
        let proposed = normalise(proposed, &self.catalogue)?;
        let by_group: HashMap<String, &str> = proposed
            .iter()
            .map(|m| (m.group.to_lowercase(), m.role.as_str()))
            .collect();
        let live = users::Entity::find()
            .filter(users::Column::TenantId.eq(t.to_string()))
            .filter(users::Column::DeletedAt.is_null())
            .order_by_asc(users::Column::UserNameNorm)
            .all(&self.db)
            .await
            .ctx("listing users")?;
        let ids: Vec<String> = live.iter().map(|u| u.id.clone()).collect();
        let current = current_roles(&self.db, t, &ids).await?;
        let default = default_role(&self.db, t).await?;
        let groups = crate::users::groups_of(&self.db, t, &ids).await?;
        live.into_iter()
            .map(|u| {
                let names = groups
                    .get(&u.id)
                    .into_iter()
                    .flatten()
                    .map(|g| g.display.to_lowercase());
                let roles: Vec<&str> = names.filter_map(|n| by_group.get(&n).copied()).collect();
                Ok(RoleChange {
                    user_id: Uuid::parse_str(&u.id).map_err(|e| DomainError::Unexpected(e.into()))?,
                    user_name: u.user_name,
                    current: current.get(&u.id).cloned(),
                    proposed: self.catalogue.effective(roles, default.as_deref()),
                })
            })
            .collect()
    }
}
