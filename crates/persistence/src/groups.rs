//! The group repository; memberships change only by inserting and deleting pairs.

use std::collections::{HashMap, HashSet};

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::events::{Actor, Event, EventType, ResourceRef};
use domain::filter::matches;
use domain::membership::{MemberChange, split_group_ops};
use domain::patch::{PatchOp, apply_all};
use domain::ports::{GroupStore, IfMatch, ListQuery, Page};
use domain::resource::{Document, Group, MemberRef, normalize};
use domain::roles::RoleCatalogue;
use domain::schema::{GROUP, ResourceKind};
use domain::tenant::TenantId;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
    Select, Set, TransactionTrait, TryInsertResult,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::entities::{group_memberships, groups, users};
use crate::error::{DbResultExt, is_unique_violation, unexpected};
use crate::filter::{Resource, condition};
use crate::outbox;

/// Groups in Postgres or SQLite.
pub struct SqlGroupStore {
    db: DatabaseConnection,
    catalogue: Arc<RoleCatalogue>,
}

impl SqlGroupStore {
    /// A store over the pool.
    pub fn new(db: DatabaseConnection, catalogue: Arc<RoleCatalogue>) -> Self {
        Self { db, catalogue }
    }
}

/// Every group query starts here.
fn scoped(t: TenantId) -> Select<groups::Entity> {
    groups::Entity::find().filter(groups::Column::TenantId.eq(t.to_string()))
}

fn parse_id(s: &str) -> Result<Uuid, DomainError> {
    Uuid::parse_str(s).map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored id {s:?}: {e}")))
}

fn to_domain(m: groups::Model, members: Option<Vec<MemberRef>>) -> Result<Group, DomainError> {
    let doc: Document = serde_json::from_str(&m.doc)
        .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored group document: {e}")))?;
    Ok(Group {
        id: parse_id(&m.id)?,
        doc,
        version: m.version,
        created: m.created_at,
        last_modified: m.updated_at,
        members,
    })
}

fn not_found(id: Uuid) -> DomainError {
    DomainError::NotFound(format!("Group {id} not found"))
}

fn taken(name: &str) -> DomainError {
    DomainError::Uniqueness(format!(
        "a group named '{name}' already exists in this tenant (displayName is unique, case-insensitively)"
    ))
}

fn group_event(t: TenantId, actor: &Actor, kind: EventType, id: Uuid, data: Value) -> Event {
    Event::new(
        kind,
        t,
        actor,
        ResourceRef {
            kind: "Group",
            id: id.to_string(),
        },
        data,
    )
}

/// The members of each group, with the user's display name (or userName) for `display`.
async fn members_of<C: ConnectionTrait>(
    db: &C,
    t: TenantId,
    group_ids: &[String],
) -> Result<HashMap<String, Vec<MemberRef>>, DomainError> {
    let mut out: HashMap<String, Vec<MemberRef>> = HashMap::new();
    if group_ids.is_empty() {
        return Ok(out);
    }
    let stmt = Query::select()
        .column((group_memberships::Entity, group_memberships::Column::GroupId))
        .column((users::Entity, users::Column::Id))
        .column((users::Entity, users::Column::UserName))
        .column((users::Entity, users::Column::DisplayName))
        .from(group_memberships::Entity)
        .inner_join(
            users::Entity,
            Expr::col((users::Entity, users::Column::Id))
                .equals((group_memberships::Entity, group_memberships::Column::UserId)),
        )
        .and_where(Expr::col((group_memberships::Entity, group_memberships::Column::TenantId)).eq(t.to_string()))
        .and_where(
            Expr::col((group_memberships::Entity, group_memberships::Column::GroupId)).is_in(group_ids.iter().cloned()),
        )
        .order_by((users::Entity, users::Column::Id), sea_orm::Order::Asc)
        .to_owned();
    for row in db.query_all(&stmt).await.ctx("loading group members")? {
        let group_id: String = row.try_get("", "group_id").ctx("reading group_id")?;
        let user_id: String = row.try_get("", "id").ctx("reading user id")?;
        let user_name: String = row.try_get("", "user_name").ctx("reading user_name")?;
        let display: Option<String> = row.try_get("", "display_name").ctx("reading display_name")?;
        out.entry(group_id).or_default().push(MemberRef {
            id: parse_id(&user_id)?,
            display: Some(display.unwrap_or(user_name)),
        });
    }
    Ok(out)
}

/// The live users of the tenant among `ids`; anything else is refused by name.
async fn check_members<C: ConnectionTrait>(db: &C, t: TenantId, ids: &[String]) -> Result<(), DomainError> {
    if ids.is_empty() {
        return Ok(());
    }
    let bad = |id: &str| DomainError::InvalidValue(format!("member '{id}' is not a user of this tenant"));
    if let Some(id) = ids.iter().find(|id| Uuid::parse_str(id).is_err()) {
        return Err(bad(id));
    }
    let found: HashSet<String> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::TenantId.eq(t.to_string()))
        .filter(users::Column::DeletedAt.is_null())
        .filter(users::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple::<String>()
        .all(db)
        .await
        .ctx("checking members")?
        .into_iter()
        .collect();
    match ids.iter().find(|id| !found.contains(*id)) {
        Some(id) => Err(bad(id)),
        None => Ok(()),
    }
}

async fn current_members<C: ConnectionTrait>(db: &C, t: TenantId, group: &str) -> Result<Vec<String>, DomainError> {
    group_memberships::Entity::find()
        .select_only()
        .column(group_memberships::Column::UserId)
        .filter(group_memberships::Column::TenantId.eq(t.to_string()))
        .filter(group_memberships::Column::GroupId.eq(group))
        .into_tuple::<String>()
        .all(db)
        .await
        .ctx("reading members")
}

/// Membership changes applied in a transaction, with their events.
struct MemberWriter<'a, C> {
    db: &'a C,
    t: TenantId,
    actor: &'a Actor,
    group: Uuid,
    now: DateTime<Utc>,
    changed: bool,
    /// Users whose memberships changed: their roles are recomputed.
    touched: Vec<String>,
}

impl<C: ConnectionTrait> MemberWriter<'_, C> {
    async fn add(&mut self, ids: &[String]) -> Result<(), DomainError> {
        check_members(self.db, self.t, ids).await?;
        for id in ids {
            let pair = group_memberships::ActiveModel {
                tenant_id: Set(self.t.to_string()),
                group_id: Set(self.group.to_string()),
                user_id: Set(id.clone()),
                created_at: Set(self.now),
            };
            let inserted = group_memberships::Entity::insert(pair)
                .on_conflict_do_nothing_on([group_memberships::Column::GroupId, group_memberships::Column::UserId])
                .exec_without_returning(self.db)
                .await
                .ctx("adding a member")?;
            if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
                self.event(EventType::GroupMemberAdded, id).await?;
            }
        }
        Ok(())
    }

    async fn remove(&mut self, ids: &[String]) -> Result<(), DomainError> {
        for id in ids {
            let res = group_memberships::Entity::delete_many()
                .filter(group_memberships::Column::TenantId.eq(self.t.to_string()))
                .filter(group_memberships::Column::GroupId.eq(self.group.to_string()))
                .filter(group_memberships::Column::UserId.eq(id.clone()))
                .exec(self.db)
                .await
                .ctx("removing a member")?;
            if res.rows_affected > 0 {
                self.event(EventType::GroupMemberRemoved, id).await?;
            }
        }
        Ok(())
    }

    async fn replace_all(&mut self, ids: &[String]) -> Result<(), DomainError> {
        check_members(self.db, self.t, ids).await?;
        let current = current_members(self.db, self.t, &self.group.to_string()).await?;
        let gone: Vec<String> = current.iter().filter(|c| !ids.contains(c)).cloned().collect();
        self.remove(&gone).await?;
        self.add(ids).await
    }

    async fn apply(&mut self, change: &MemberChange) -> Result<(), DomainError> {
        match change {
            MemberChange::Add(ids) => self.add(ids).await,
            MemberChange::Remove(ids) => self.remove(ids).await,
            MemberChange::RemoveAll => self.replace_all(&[]).await,
            MemberChange::ReplaceAll(ids) => self.replace_all(ids).await,
            MemberChange::RemoveWhere(filter) => {
                let members = members_of(self.db, self.t, &[self.group.to_string()]).await?;
                let attrs = GROUP.attribute("members").map(|a| a.sub_attributes).unwrap_or_default();
                let ids: Vec<String> = members
                    .into_values()
                    .flatten()
                    .filter(|m| {
                        let element = json!({"value": m.id.to_string(), "display": m.display, "type": "User"});
                        matches(filter, &element, attrs)
                    })
                    .map(|m| m.id.to_string())
                    .collect();
                self.remove(&ids).await
            }
        }
    }

    async fn event(&mut self, kind: EventType, user: &str) -> Result<(), DomainError> {
        self.changed = true;
        self.touched.push(user.to_owned());
        let ev = group_event(self.t, self.actor, kind, self.group, json!({"user_id": user}));
        outbox::push(self.db, &ev).await
    }
}

async fn lock<C: ConnectionTrait>(db: &C, t: TenantId, id: Uuid) -> Result<groups::Model, DomainError> {
    let mut q = scoped(t).filter(groups::Column::Id.eq(id.to_string()));
    if db.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(db).await.ctx("reading a group")?.ok_or_else(|| not_found(id))
}

fn check_version(current: i64, if_match: IfMatch) -> Result<(), DomainError> {
    match if_match {
        Some(v) if v != current => Err(DomainError::PreconditionFailed),
        _ => Ok(()),
    }
}

fn display_name(doc: &Document) -> String {
    doc.get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

impl SqlGroupStore {
    /// Writes the document (when it changed) and the member changes, bumps the version once,
    /// and returns the group as stored.
    async fn update<C: ConnectionTrait>(
        &self,
        db: &C,
        t: TenantId,
        actor: &Actor,
        current: groups::Model,
        doc: Document,
        changes: &[MemberChange],
    ) -> Result<Group, DomainError> {
        let id = parse_id(&current.id)?;
        let now = Utc::now();
        let old: Document = serde_json::from_str(&current.doc).unwrap_or_default();
        let doc_changed = old != doc;
        if doc_changed {
            let name = display_name(&doc);
            groups::Entity::update_many()
                .set(groups::ActiveModel {
                    display_name: Set(name.clone()),
                    display_name_norm: Set(name.to_lowercase()),
                    external_id: Set(doc.get("externalId").and_then(Value::as_str).map(str::to_owned)),
                    doc: Set(Value::Object(doc.clone()).to_string()),
                    ..Default::default()
                })
                .filter(groups::Column::Id.eq(current.id.clone()))
                .filter(groups::Column::TenantId.eq(t.to_string()))
                .exec(db)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        taken(&name)
                    } else {
                        unexpected(e, "updating a group")
                    }
                })?;
            let ev = group_event(t, actor, EventType::GroupUpdated, id, json!({"displayName": name}));
            outbox::push(db, &ev).await?;
        }
        let mut writer = MemberWriter {
            db,
            t,
            actor,
            group: id,
            now,
            changed: false,
            touched: Vec::new(),
        };
        for change in changes {
            writer.apply(change).await?;
        }
        // A rename can move the group in or out of a role mapping: every member is affected.
        let mut affected = writer.touched.clone();
        if doc_changed && display_name(&doc).to_lowercase() != current.display_name_norm {
            affected.extend(current_members(db, t, &current.id).await?);
        }
        affected.sort();
        affected.dedup();
        crate::roles::recompute(db, &self.catalogue, t, actor, &affected).await?;
        if doc_changed || writer.changed {
            // An increment, not a write of a value read earlier: concurrent membership changes
            // each move the version and none is lost.
            groups::Entity::update_many()
                .col_expr(groups::Column::Version, Expr::col(groups::Column::Version).add(1))
                .col_expr(groups::Column::UpdatedAt, Expr::val(now))
                .filter(groups::Column::TenantId.eq(t.to_string()))
                .filter(groups::Column::Id.eq(current.id.clone()))
                .exec(db)
                .await
                .ctx("bumping a group version")?;
        }
        let stored = scoped(t)
            .filter(groups::Column::Id.eq(current.id.clone()))
            .one(db)
            .await
            .ctx("re-reading a group")?
            .ok_or_else(|| not_found(id))?;
        let members = members_of(db, t, std::slice::from_ref(&stored.id))
            .await?
            .remove(&stored.id)
            .unwrap_or_default();
        to_domain(stored, Some(members))
    }
}

#[async_trait]
impl GroupStore for SqlGroupStore {
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn get(&self, t: TenantId, id: Uuid, load_refs: bool) -> Result<Option<Group>, DomainError> {
        let Some(m) = scoped(t)
            .filter(groups::Column::Id.eq(id.to_string()))
            .one(&self.db)
            .await
            .ctx("reading a group")?
        else {
            return Ok(None);
        };
        let members = if load_refs {
            Some(
                members_of(&self.db, t, std::slice::from_ref(&m.id))
                    .await?
                    .remove(&m.id)
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        to_domain(m, members).map(Some)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn list(&self, t: TenantId, q: &ListQuery) -> Result<Page<Group>, DomainError> {
        let mut select = scoped(t);
        if let Some(f) = &q.filter {
            let backend = self.db.get_database_backend();
            select = select.filter(if q.unknown_attributes_absent {
                crate::filter::condition_across_types(f, Resource::Group, backend)?
            } else {
                condition(f, Resource::Group, backend)?
            });
        }
        let total = select.clone().count(&self.db).await.ctx("counting groups")?;
        if q.count == 0 {
            return Ok(Page {
                total,
                items: Vec::new(),
                next: None,
                previous: None,
            });
        }
        let page = crate::filter::fetch_page(&self.db, select, Resource::Group, q).await?;
        let mut members = if q.load_refs {
            let ids: Vec<String> = page.rows.iter().map(|m| m.id.clone()).collect();
            Some(members_of(&self.db, t, &ids).await?)
        } else {
            None
        };
        let items = page
            .rows
            .into_iter()
            .map(|m| {
                let refs = members.as_mut().map(|g| g.remove(&m.id).unwrap_or_default());
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
    async fn insert(
        &self,
        t: TenantId,
        actor: &Actor,
        doc: Document,
        members: Vec<String>,
    ) -> Result<Group, DomainError> {
        let id = Uuid::now_v7();
        let now = Utc::now();
        let name = display_name(&doc);
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        check_members(&txn, t, &members).await?;
        groups::Entity::insert(groups::ActiveModel {
            id: Set(id.to_string()),
            tenant_id: Set(t.to_string()),
            display_name: Set(name.clone()),
            display_name_norm: Set(name.to_lowercase()),
            external_id: Set(doc.get("externalId").and_then(Value::as_str).map(str::to_owned)),
            doc: Set(Value::Object(doc.clone()).to_string()),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                taken(&name)
            } else {
                unexpected(e, "inserting a group")
            }
        })?;
        for user in &members {
            group_memberships::Entity::insert(group_memberships::ActiveModel {
                tenant_id: Set(t.to_string()),
                group_id: Set(id.to_string()),
                user_id: Set(user.clone()),
                created_at: Set(now),
            })
            .exec_without_returning(&txn)
            .await
            .ctx("adding an initial member")?;
        }
        let ev = group_event(
            t,
            actor,
            EventType::GroupCreated,
            id,
            json!({"displayName": name, "members": members}),
        );
        outbox::push(&txn, &ev).await?;
        crate::roles::recompute(&txn, &self.catalogue, t, actor, &members).await?;
        let loaded = members_of(&txn, t, &[id.to_string()])
            .await?
            .remove(&id.to_string())
            .unwrap_or_default();
        txn.commit().await.ctx("committing a new group")?;
        Ok(Group {
            id,
            doc,
            version: 1,
            created: now,
            last_modified: now,
            members: Some(loaded),
        })
    }

    #[tracing::instrument(skip(self, doc), err(level = "debug"))]
    async fn replace(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        doc: Document,
        members: Vec<String>,
        if_match: IfMatch,
    ) -> Result<Group, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let current = lock(&txn, t, id).await?;
        check_version(current.version, if_match)?;
        let group = self
            .update(&txn, t, actor, current, doc, &[MemberChange::ReplaceAll(members)])
            .await?;
        txn.commit().await.ctx("committing a group replace")?;
        Ok(group)
    }

    #[tracing::instrument(skip(self, ops), err(level = "debug"))]
    async fn patch(
        &self,
        t: TenantId,
        actor: &Actor,
        id: Uuid,
        ops: &[PatchOp],
        if_match: IfMatch,
    ) -> Result<Group, DomainError> {
        let (attribute_ops, changes) = split_group_ops(ops)?;
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let current = lock(&txn, t, id).await?;
        check_version(current.version, if_match)?;
        let old: Document = serde_json::from_str(&current.doc)
            .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored group document: {e}")))?;
        let doc = if attribute_ops.is_empty() {
            old
        } else {
            normalize(
                ResourceKind::Group,
                &Value::Object(apply_all(&old, &attribute_ops, ResourceKind::Group)?),
            )?
        };
        let group = self.update(&txn, t, actor, current, doc, &changes).await?;
        txn.commit().await.ctx("committing a group patch")?;
        Ok(group)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn delete(&self, t: TenantId, actor: &Actor, id: Uuid, if_match: IfMatch) -> Result<(), DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let current = lock(&txn, t, id).await?;
        check_version(current.version, if_match)?;
        let members = current_members(&txn, t, &current.id).await?;
        group_memberships::Entity::delete_many()
            .filter(group_memberships::Column::TenantId.eq(t.to_string()))
            .filter(group_memberships::Column::GroupId.eq(current.id.clone()))
            .exec(&txn)
            .await
            .ctx("removing a group's memberships")?;
        groups::Entity::delete_many()
            .filter(groups::Column::TenantId.eq(t.to_string()))
            .filter(groups::Column::Id.eq(current.id.clone()))
            .exec(&txn)
            .await
            .ctx("deleting a group")?;
        let ev = group_event(
            t,
            actor,
            EventType::GroupDeleted,
            id,
            json!({"displayName": current.display_name, "members": members}),
        );
        outbox::push(&txn, &ev).await?;
        crate::roles::recompute(&txn, &self.catalogue, t, actor, &members).await?;
        txn.commit().await.ctx("committing a group delete")?;
        Ok(())
    }
}
