//! The user repository.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use domain::DomainError;
use domain::events::{Actor, Event, EventType, ResourceRef};
use domain::patch::{PatchOp, apply_all};
use domain::ports::{IfMatch, ListQuery, Page, UserStore};
use domain::resource::{Document, GroupRef, User, UserColumns, normalize};
use domain::roles::RoleCatalogue;
use domain::schema::ResourceKind;
use domain::tenant::TenantId;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Select, Set, TransactionTrait,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::entities::{group_memberships, groups, user_emails, users};
use crate::error::{DbResultExt, is_unique_violation, unexpected};
use crate::filter::{Resource, condition};
use crate::outbox;

/// Users in Postgres or SQLite.
pub struct SqlUserStore {
    db: DatabaseConnection,
    catalogue: Arc<RoleCatalogue>,
}

impl SqlUserStore {
    /// A store over the pool.
    pub fn new(db: DatabaseConnection, catalogue: Arc<RoleCatalogue>) -> Self {
        Self { db, catalogue }
    }
}

/// Every user query starts here: the tenant's live (not tombstoned) users.
fn scoped(t: TenantId) -> Select<users::Entity> {
    users::Entity::find()
        .filter(users::Column::TenantId.eq(t.to_string()))
        .filter(users::Column::DeletedAt.is_null())
}

fn parse_id(s: &str) -> Result<Uuid, DomainError> {
    Uuid::parse_str(s).map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored id {s:?}: {e}")))
}

fn to_domain(m: users::Model, groups: Option<Vec<GroupRef>>) -> Result<User, DomainError> {
    let doc: Document = serde_json::from_str(&m.doc)
        .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored user document: {e}")))?;
    Ok(User {
        id: parse_id(&m.id)?,
        doc,
        version: m.version,
        created: m.created_at,
        last_modified: m.updated_at,
        groups,
    })
}

fn not_found(id: Uuid) -> DomainError {
    DomainError::NotFound(format!("User {id} not found"))
}

fn taken(user_name: &str) -> DomainError {
    DomainError::Uniqueness(format!(
        "userName '{user_name}' is already taken in this tenant (userName is unique, case-insensitively)"
    ))
}

fn event(t: TenantId, actor: &Actor, kind: EventType, id: Uuid, cols: &UserColumns) -> Event {
    Event::new(
        kind,
        t,
        actor,
        ResourceRef {
            kind: "User",
            id: id.to_string(),
        },
        json!({"userName": cols.user_name, "externalId": cols.external_id, "active": cols.active}),
    )
}

/// The groups of each user, in one query.
pub(crate) async fn groups_of<C: ConnectionTrait>(
    db: &C,
    t: TenantId,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<GroupRef>>, DomainError> {
    let mut out: HashMap<String, Vec<GroupRef>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let stmt = Query::select()
        .column((group_memberships::Entity, group_memberships::Column::UserId))
        .column((groups::Entity, groups::Column::Id))
        .column((groups::Entity, groups::Column::DisplayName))
        .from(group_memberships::Entity)
        .inner_join(
            groups::Entity,
            Expr::col((groups::Entity, groups::Column::Id))
                .equals((group_memberships::Entity, group_memberships::Column::GroupId)),
        )
        .and_where(Expr::col((group_memberships::Entity, group_memberships::Column::TenantId)).eq(t.to_string()))
        .and_where(
            Expr::col((group_memberships::Entity, group_memberships::Column::UserId)).is_in(user_ids.iter().cloned()),
        )
        .order_by((groups::Entity, groups::Column::Id), sea_orm::Order::Asc)
        .to_owned();
    for row in db.query_all(&stmt).await.ctx("loading users' groups")? {
        let user_id: String = row.try_get("", "user_id").ctx("reading user_id")?;
        let group_id: String = row.try_get("", "id").ctx("reading group id")?;
        let display: String = row.try_get("", "display_name").ctx("reading display_name")?;
        out.entry(user_id).or_default().push(GroupRef {
            id: parse_id(&group_id)?,
            display,
        });
    }
    Ok(out)
}

async fn write_emails<C: ConnectionTrait>(
    db: &C,
    t: TenantId,
    id: &str,
    cols: &UserColumns,
) -> Result<(), DomainError> {
    user_emails::Entity::delete_many()
        .filter(user_emails::Column::UserId.eq(id))
        .exec(db)
        .await
        .ctx("clearing user emails")?;
    if cols.emails.is_empty() {
        return Ok(());
    }
    let rows = cols.emails.iter().enumerate().map(|(i, e)| user_emails::ActiveModel {
        tenant_id: Set(t.to_string()),
        user_id: Set(id.to_owned()),
        position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
        value: Set(e.value.clone()),
        value_norm: Set(e.value.to_lowercase()),
        kind: Set(e.kind.clone()),
        is_primary: Set(e.primary),
    });
    user_emails::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .ctx("writing user emails")?;
    Ok(())
}

/// Reads the user for update inside a transaction (row-locked on Postgres).
async fn lock<C: ConnectionTrait>(db: &C, t: TenantId, id: Uuid) -> Result<users::Model, DomainError> {
    let mut q = scoped(t).filter(users::Column::Id.eq(id.to_string()));
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await.ctx("reading a user")?.ok_or_else(|| not_found(id))
}

fn check_version(current: i64, if_match: IfMatch) -> Result<(), DomainError> {
    match if_match {
        Some(v) if v != current => Err(DomainError::PreconditionFailed),
        _ => Ok(()),
    }
}

impl SqlUserStore {
    /// Writes a new document for an existing user; one event, chosen by what changed.
    async fn write<C: ConnectionTrait>(
        &self,
        db: &C,
        t: TenantId,
        actor: &Actor,
        current: users::Model,
        mut doc: Document,
        is_put: bool,
    ) -> Result<User, DomainError> {
        let id = parse_id(&current.id)?;
        // PUT without `active` keeps the current state: a PUT that omits it must never
        // deactivate anybody (idp-wire.md §7). A PATCH that removes `active` really removes it
        // (RFC 7644 §3.5.2.2); a user without the attribute counts as active.
        if is_put && !doc.contains_key("active") {
            doc.insert("active".into(), Value::Bool(current.active));
        }
        let old: Document = serde_json::from_str(&current.doc).unwrap_or_default();
        if old == doc {
            return to_domain(current, None);
        }
        let cols = UserColumns::of(&doc);
        let now = Utc::now();
        let version = current.version + 1;
        let update = users::ActiveModel {
            user_name: Set(cols.user_name.clone()),
            user_name_norm: Set(cols.user_name.to_lowercase()),
            external_id: Set(cols.external_id.clone()),
            display_name: Set(cols.display_name.clone()),
            given_name: Set(cols.given_name.clone()),
            family_name: Set(cols.family_name.clone()),
            active: Set(cols.active),
            doc: Set(Value::Object(doc.clone()).to_string()),
            version: Set(version),
            updated_at: Set(now),
            ..Default::default()
        };
        users::Entity::update_many()
            .set(update)
            .filter(users::Column::Id.eq(current.id.clone()))
            .filter(users::Column::TenantId.eq(t.to_string()))
            .exec(db)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    taken(&cols.user_name)
                } else {
                    unexpected(e, "updating a user")
                }
            })?;
        write_emails(db, t, &current.id, &cols).await?;
        let kind = match (current.active, cols.active) {
            (true, false) => EventType::UserDeactivated,
            (false, true) => EventType::UserReactivated,
            _ => EventType::UserUpdated,
        };
        outbox::push(db, &event(t, actor, kind, id, &cols)).await?;
        Ok(User {
            id,
            doc,
            version,
            created: current.created_at,
            last_modified: now,
            groups: None,
        })
    }
}

#[async_trait]
impl UserStore for SqlUserStore {
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn get(&self, t: TenantId, id: Uuid, load_refs: bool) -> Result<Option<User>, DomainError> {
        let Some(m) = scoped(t)
            .filter(users::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .ctx("reading a user")?
        else {
            return Ok(None);
        };
        let groups = if load_refs {
            Some(
                groups_of(&self.db, t, std::slice::from_ref(&m.id))
                    .await?
                    .remove(&m.id)
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        to_domain(m, groups).map(Some)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn list(&self, t: TenantId, q: &ListQuery) -> Result<Page<User>, DomainError> {
        let mut select = scoped(t);
        if let Some(f) = &q.filter {
            let backend = self.db.get_database_backend();
            select = select.filter(if q.unknown_attributes_absent {
                crate::filter::condition_across_types(f, Resource::User, backend)?
            } else {
                condition(f, Resource::User, backend)?
            });
        }
        let total = select.clone().count(&self.db).await.ctx("counting users")?;
        if q.count == 0 {
            return Ok(Page {
                total,
                items: Vec::new(),
                next: None,
                previous: None,
            });
        }
        let page = crate::filter::fetch_page(&self.db, select, Resource::User, q).await?;
        let mut groups = if q.load_refs {
            let ids: Vec<String> = page.rows.iter().map(|m| m.id.clone()).collect();
            Some(groups_of(&self.db, t, &ids).await?)
        } else {
            None
        };
        let items = page
            .rows
            .into_iter()
            .map(|m| {
                let refs = groups.as_mut().map(|g| g.remove(&m.id).unwrap_or_default());
                to_domain(m, refs)
            })
            .collect::<Result<_, _>>()?;
        Ok(Page {
            total,
            items,
            next: page.next,
            previous: page.previous,
        })
    }

    #[tracing::instrument(skip(self, doc), err(level = "debug"))]
    async fn insert(&self, t: TenantId, actor: &Actor, mut doc: Document) -> Result<User, DomainError> {
        doc.entry("active").or_insert(Value::Bool(true));
        let cols = UserColumns::of(&doc);
        let id = Uuid::now_v7();
        let now = Utc::now();
        let row = users::ActiveModel {
            id: Set(id.to_string()),
            tenant_id: Set(t.to_string()),
            user_name: Set(cols.user_name.clone()),
            user_name_norm: Set(cols.user_name.to_lowercase()),
            external_id: Set(cols.external_id.clone()),
            display_name: Set(cols.display_name.clone()),
            given_name: Set(cols.given_name.clone()),
            family_name: Set(cols.family_name.clone()),
            active: Set(cols.active),
            doc: Set(Value::Object(doc.clone()).to_string()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        };
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        users::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    taken(&cols.user_name)
                } else {
                    unexpected(e, "inserting a user")
                }
            })?;
        write_emails(&txn, t, &id.to_string(), &cols).await?;
        outbox::push(&txn, &event(t, actor, EventType::UserCreated, id, &cols)).await?;
        // A new user has no groups yet: only the connection's default role can apply.
        crate::roles::recompute(&txn, &self.catalogue, t, actor, &[id.to_string()]).await?;
        txn.commit().await.ctx("committing a new user")?;
        Ok(User {
            id,
            doc,
            version: 1,
            created: now,
            last_modified: now,
            groups: Some(Vec::new()),
        })
    }

    #[tracing::instrument(skip(self, doc), err(level = "debug"))]
    async fn replace(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        doc: Document,
        if_match: IfMatch,
    ) -> Result<User, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let current = lock(&txn, t, id).await?;
        check_version(current.version, if_match)?;
        let mut user = self.write(&txn, t, actor, current, doc, true).await?;
        user.groups = Some(
            groups_of(&txn, t, &[id.to_string()])
                .await?
                .remove(&id.to_string())
                .unwrap_or_default(),
        );
        txn.commit().await.ctx("committing a user replace")?;
        Ok(user)
    }

    #[tracing::instrument(skip(self, ops), err(level = "debug"))]
    async fn patch(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        ops: &[PatchOp],
        if_match: IfMatch,
    ) -> Result<User, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let current = lock(&txn, t, id).await?;
        check_version(current.version, if_match)?;
        let old: Document = serde_json::from_str(&current.doc)
            .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored user document: {e}")))?;
        let patched = apply_all(&old, ops, ResourceKind::User)?;
        // Re-validate the result as if it had been PUT: a PATCH cannot store what a PUT could not.
        let doc = normalize(ResourceKind::User, &Value::Object(patched))?;
        let mut user = self.write(&txn, t, actor, current, doc, false).await?;
        user.groups = Some(
            groups_of(&txn, t, &[id.to_string()])
                .await?
                .remove(&id.to_string())
                .unwrap_or_default(),
        );
        txn.commit().await.ctx("committing a user patch")?;
        Ok(user)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn delete(&self, t: TenantId, actor: &Actor, id: Uuid, if_match: IfMatch) -> Result<(), DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let current = lock(&txn, t, id).await?;
        check_version(current.version, if_match)?;
        let now = Utc::now();
        let id_s = id.to_string();
        // Groups that lose this member change too: their version moves so ETags stay honest.
        let member_of = group_memberships::Entity::find()
            .filter(group_memberships::Column::TenantId.eq(t.to_string()))
            .filter(group_memberships::Column::UserId.eq(id_s.clone()))
            .all(&txn)
            .await
            .ctx("reading a user's memberships")?;
        let group_ids: Vec<String> = member_of.into_iter().map(|m| m.group_id).collect();
        if !group_ids.is_empty() {
            groups::Entity::update_many()
                .col_expr(groups::Column::Version, Expr::col(groups::Column::Version).add(1))
                .col_expr(groups::Column::UpdatedAt, Expr::val(now))
                .filter(groups::Column::TenantId.eq(t.to_string()))
                .filter(groups::Column::Id.is_in(group_ids.clone()))
                .exec(&txn)
                .await
                .ctx("bumping group versions")?;
        }
        group_memberships::Entity::delete_many()
            .filter(group_memberships::Column::TenantId.eq(t.to_string()))
            .filter(group_memberships::Column::UserId.eq(id_s.clone()))
            .exec(&txn)
            .await
            .ctx("removing a user's memberships")?;
        user_emails::Entity::delete_many()
            .filter(user_emails::Column::UserId.eq(id_s.clone()))
            .exec(&txn)
            .await
            .ctx("removing a user's emails")?;
        users::Entity::update_many()
            .set(users::ActiveModel {
                deleted_at: Set(Some(now)),
                updated_at: Set(now),
                version: Set(current.version + 1),
                ..Default::default()
            })
            .filter(users::Column::Id.eq(id_s))
            .filter(users::Column::TenantId.eq(t.to_string()))
            .exec(&txn)
            .await
            .ctx("tombstoning a user")?;
        let cols = UserColumns::of(&serde_json::from_str(&current.doc).unwrap_or_default());
        crate::roles::forget(&txn, t, &id.to_string()).await?;
        let mut ev = event(t, actor, EventType::UserDeleted, id, &cols);
        ev.data["groups"] = json!(group_ids);
        outbox::push(&txn, &ev).await?;
        txn.commit().await.ctx("committing a user delete")?;
        Ok(())
    }
}
