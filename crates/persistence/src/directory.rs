//! Read-only views for account managers: users with roles and groups, groups with counts and
//! mapped roles, the audit trail and the event feed.

use std::collections::HashMap;

use async_trait::async_trait;
use domain::DomainError;
use domain::ports::{
    AuditQuery, DirectoryGroup, DirectoryStore, DirectoryUser, ProvisioningReport, RequestLog, ScimRequest, UserQuery,
};
use domain::tenant::TenantId;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::{audit_events, group_memberships, groups, role_mappings, scim_request_log, user_roles, users};
use crate::error::DbResultExt;

/// The directory over Postgres or SQLite.
pub struct SqlDirectoryStore {
    db: DatabaseConnection,
}

impl SqlDirectoryStore {
    /// A store over the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    async fn decorate(&self, t: TenantId, rows: Vec<users::Model>) -> Result<Vec<DirectoryUser>, DomainError> {
        let ids: Vec<String> = rows.iter().map(|u| u.id.clone()).collect();
        let mut groups = crate::users::groups_of(&self.db, t, &ids).await?;
        let roles: HashMap<String, String> = user_roles::Entity::find()
            .filter(user_roles::Column::TenantId.eq(t.to_string()))
            .filter(user_roles::Column::UserId.is_in(ids.clone()))
            .all(&self.db)
            .await
            .ctx("reading roles")?
            .into_iter()
            .map(|r| (r.user_id, r.role))
            .collect();
        rows.into_iter()
            .map(|u| {
                Ok(DirectoryUser {
                    id: Uuid::parse_str(&u.id).map_err(|e| DomainError::Unexpected(e.into()))?,
                    role: roles.get(&u.id).cloned(),
                    groups: groups
                        .remove(&u.id)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|g| g.display)
                        .collect(),
                    user_name: u.user_name,
                    display_name: u.display_name,
                    external_id: u.external_id,
                    active: u.active,
                    created_at: u.created_at,
                    updated_at: u.updated_at,
                })
            })
            .collect()
    }
}

fn scoped(t: TenantId) -> sea_orm::Select<users::Entity> {
    users::Entity::find()
        .filter(users::Column::TenantId.eq(t.to_string()))
        .filter(users::Column::DeletedAt.is_null())
}

fn escape_like(s: &str) -> String {
    s.chars().fold(String::new(), |mut out, c| {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

#[async_trait]
impl DirectoryStore for SqlDirectoryStore {
    async fn users(&self, t: TenantId, q: &UserQuery) -> Result<Vec<DirectoryUser>, DomainError> {
        let mut select = scoped(t);
        if let Some(active) = q.active {
            select = select.filter(users::Column::Active.eq(active));
        }
        if let Some(text) = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
            select = select.filter(
                Expr::col(users::Column::UserNameNorm)
                    .like(LikeExpr::new(pattern.clone()).escape('\\'))
                    .or(Func::lower(Expr::col(users::Column::DisplayName)).like(LikeExpr::new(pattern).escape('\\'))),
            );
        }
        if let Some(role) = &q.role {
            let with_role = user_roles::Entity::find()
                .select_only()
                .column(user_roles::Column::UserId)
                .filter(user_roles::Column::TenantId.eq(t.to_string()))
                .filter(user_roles::Column::Role.eq(role.clone()))
                .into_query();
            select = select.filter(users::Column::Id.in_subquery(with_role));
        }
        if let Some(after) = q.after {
            select = select.filter(users::Column::Id.gt(after.to_string()));
        }
        let rows = select
            .order_by_asc(users::Column::Id)
            .limit(q.limit)
            .all(&self.db)
            .await
            .ctx("listing users")?;
        self.decorate(t, rows).await
    }

    async fn user(&self, t: TenantId, id: Uuid) -> Result<Option<DirectoryUser>, DomainError> {
        let rows = scoped(t)
            .filter(users::Column::Id.eq(id.to_string()))
            .all(&self.db)
            .await
            .ctx("reading a user")?;
        Ok(self.decorate(t, rows).await?.into_iter().next())
    }

    async fn groups(&self, t: TenantId) -> Result<Vec<DirectoryGroup>, DomainError> {
        let rows = groups::Entity::find()
            .filter(groups::Column::TenantId.eq(t.to_string()))
            .order_by_asc(groups::Column::DisplayNameNorm)
            .all(&self.db)
            .await
            .ctx("listing groups")?;
        let counts: HashMap<String, i64> = group_memberships::Entity::find()
            .select_only()
            .column(group_memberships::Column::GroupId)
            .column_as(group_memberships::Column::UserId.count(), "n")
            .filter(group_memberships::Column::TenantId.eq(t.to_string()))
            .group_by(group_memberships::Column::GroupId)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await
            .ctx("counting members")?
            .into_iter()
            .collect();
        let mapped: HashMap<String, String> = role_mappings::Entity::find()
            .filter(role_mappings::Column::TenantId.eq(t.to_string()))
            .all(&self.db)
            .await
            .ctx("reading role mappings")?
            .into_iter()
            .map(|m| (m.group_name_norm, m.role))
            .collect();
        rows.into_iter()
            .map(|g| {
                Ok(DirectoryGroup {
                    id: Uuid::parse_str(&g.id).map_err(|e| DomainError::Unexpected(e.into()))?,
                    member_count: counts.get(&g.id).copied().unwrap_or(0).unsigned_abs(),
                    mapped_role: mapped.get(&g.display_name_norm).cloned(),
                    display_name: g.display_name,
                })
            })
            .collect()
    }

    async fn members(&self, t: TenantId, group: Uuid) -> Result<Option<Vec<DirectoryUser>>, DomainError> {
        let exists = groups::Entity::find()
            .filter(groups::Column::TenantId.eq(t.to_string()))
            .filter(groups::Column::Id.eq(group.to_string()))
            .one(&self.db)
            .await
            .ctx("reading a group")?
            .is_some();
        if !exists {
            return Ok(None);
        }
        let member_ids = group_memberships::Entity::find()
            .select_only()
            .column(group_memberships::Column::UserId)
            .filter(group_memberships::Column::TenantId.eq(t.to_string()))
            .filter(group_memberships::Column::GroupId.eq(group.to_string()))
            .into_query();
        let rows = scoped(t)
            .filter(users::Column::Id.in_subquery(member_ids))
            .order_by_asc(users::Column::UserNameNorm)
            .all(&self.db)
            .await
            .ctx("listing members")?;
        Ok(Some(self.decorate(t, rows).await?))
    }

    async fn audit(&self, t: TenantId, q: &AuditQuery) -> Result<Vec<Value>, DomainError> {
        let mut select = audit_events::Entity::find().filter(audit_events::Column::TenantId.eq(t.to_string()));
        if let Some(kind) = &q.kind {
            select = select.filter(audit_events::Column::EventType.eq(kind.clone()));
        }
        if let Some(actor) = &q.actor {
            select = select.filter(audit_events::Column::Actor.eq(actor.clone()));
        }
        if let Some(since) = q.since {
            select = select.filter(audit_events::Column::OccurredAt.gte(since));
        }
        if let Some(before) = q.before {
            select = select.filter(audit_events::Column::Id.lt(before.to_string()));
        }
        let rows = select
            .order_by_desc(audit_events::Column::Id)
            .limit(q.limit)
            .all(&self.db)
            .await
            .ctx("reading audit")?;
        rows.into_iter()
            .map(|m| {
                serde_json::from_str(&m.envelope)
                    .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored event envelope: {e}")))
            })
            .collect()
    }

    async fn report(&self, t: TenantId) -> Result<ProvisioningReport, DomainError> {
        self.build_report(t).await
    }

    async fn feed(&self, t: TenantId, after: Option<Uuid>, limit: u64) -> Result<Vec<Value>, DomainError> {
        crate::events::events_after(&self.db, t, after, limit).await
    }
}

impl SqlDirectoryStore {
    async fn count(&self, select: sea_orm::Select<users::Entity>) -> Result<u64, DomainError> {
        use sea_orm::PaginatorTrait;
        select.count(&self.db).await.ctx("counting")
    }

    pub(crate) async fn build_report(&self, t: TenantId) -> Result<ProvisioningReport, DomainError> {
        use sea_orm::PaginatorTrait;
        let users_active = self.count(scoped(t).filter(users::Column::Active.eq(true))).await?;
        let users_inactive = self.count(scoped(t).filter(users::Column::Active.eq(false))).await?;
        let groups = self.groups(t).await?;
        let memberships = group_memberships::Entity::find()
            .filter(group_memberships::Column::TenantId.eq(t.to_string()))
            .count(&self.db)
            .await
            .ctx("counting memberships")?;
        let mut users_per_role = std::collections::BTreeMap::new();
        for (role, n) in user_roles::Entity::find()
            .select_only()
            .column(user_roles::Column::Role)
            .column_as(user_roles::Column::UserId.count(), "n")
            .filter(user_roles::Column::TenantId.eq(t.to_string()))
            .group_by(user_roles::Column::Role)
            .into_tuple::<(String, i64)>()
            .all(&self.db)
            .await
            .ctx("counting roles")?
        {
            users_per_role.insert(role, n.unsigned_abs());
        }
        let with_role = user_roles::Entity::find()
            .select_only()
            .column(user_roles::Column::UserId)
            .filter(user_roles::Column::TenantId.eq(t.to_string()))
            .into_query();
        let no_role = scoped(t)
            .filter(users::Column::Active.eq(true))
            .filter(users::Column::Id.not_in_subquery(with_role));
        let users_without_role_count = self.count(no_role.clone()).await?;
        let users_without_role = no_role
            .order_by_asc(users::Column::UserNameNorm)
            .limit(100)
            .all(&self.db)
            .await
            .ctx("listing users without a role")?
            .into_iter()
            .map(|u| u.user_name)
            .collect();
        let log = scim_request_log::Entity::find()
            .filter(scim_request_log::Column::TenantId.eq(t.to_string()))
            .order_by_desc(scim_request_log::Column::Id)
            .limit(1)
            .all(&self.db)
            .await
            .ctx("reading the SCIM request log")?;
        let errors = scim_request_log::Entity::find()
            .filter(scim_request_log::Column::TenantId.eq(t.to_string()))
            .filter(scim_request_log::Column::Status.gte(400))
            .order_by_desc(scim_request_log::Column::Id)
            .limit(20)
            .all(&self.db)
            .await
            .ctx("reading SCIM errors")?;
        Ok(ProvisioningReport {
            users_active,
            users_inactive,
            memberships,
            users_per_role,
            groups_without_mapping: groups
                .iter()
                .filter(|g| g.mapped_role.is_none())
                .map(|g| g.display_name.clone())
                .collect(),
            groups: groups.len() as u64,
            users_without_role,
            users_without_role_count,
            last_scim_request: log.into_iter().next().map(to_request),
            recent_scim_errors: errors.into_iter().map(to_request).collect(),
        })
    }
}

fn to_request(m: scim_request_log::Model) -> ScimRequest {
    ScimRequest {
        method: m.method,
        path: m.path,
        status: u16::try_from(m.status).unwrap_or_default(),
        scim_type: m.scim_type,
        at: m.occurred_at,
    }
}

#[async_trait]
impl RequestLog for SqlDirectoryStore {
    async fn record(&self, batch: Vec<(TenantId, ScimRequest)>) -> Result<(), DomainError> {
        use sea_orm::Set;
        if batch.is_empty() {
            return Ok(());
        }
        let rows = batch.into_iter().map(|(t, r)| scim_request_log::ActiveModel {
            id: Set(Uuid::now_v7().to_string()),
            tenant_id: Set(t.to_string()),
            method: Set(r.method),
            path: Set(r.path),
            status: Set(i32::from(r.status)),
            scim_type: Set(r.scim_type),
            occurred_at: Set(r.at),
        });
        scim_request_log::Entity::insert_many(rows)
            .exec_without_returning(&self.db)
            .await
            .ctx("logging SCIM requests")?;
        Ok(())
    }
}
