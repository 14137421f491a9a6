//! Webhook endpoints, their deliveries, and the worker's side of the outbox: events move into
//! the audit trail once (idempotent on the event id) and fan out into deliveries.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::events::{Actor, Event, EventType, ResourceRef};
use domain::ports::{AttemptOutcome, EventProcessor, WebhookStore};
use domain::tenant::TenantId;
use domain::webhooks::{Delivery, DeliveryStatus, DueDelivery, Webhook};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{audit_events, outbox, webhook_deliveries, webhooks};
use crate::error::DbResultExt;

/// Webhooks and event processing over Postgres or SQLite.
pub struct SqlWebhookStore {
    db: DatabaseConnection,
}

impl SqlWebhookStore {
    /// A store over the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn uuid(s: &str) -> Result<Uuid, DomainError> {
    Uuid::parse_str(s).map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored id {s:?}: {e}")))
}

fn to_webhook(m: &webhooks::Model) -> Result<Webhook, DomainError> {
    Ok(Webhook {
        id: uuid(&m.id)?,
        tenant_id: TenantId(uuid(&m.tenant_id)?),
        url: m.url.clone(),
        event_types: serde_json::from_str(&m.event_types).unwrap_or_default(),
        created_at: m.created_at,
    })
}

fn to_delivery(m: webhook_deliveries::Model) -> Result<Delivery, DomainError> {
    Ok(Delivery {
        id: uuid(&m.id)?,
        webhook_id: uuid(&m.webhook_id)?,
        event_id: uuid(&m.event_id)?,
        status: DeliveryStatus::parse(&m.status)
            .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("stored delivery status {:?}", m.status)))?,
        event_type: m.event_type,
        attempts: m.attempts,
        next_attempt_at: m.next_attempt_at,
        last_status_code: m.last_status_code,
        last_error: m.last_error,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn webhook_event(t: TenantId, actor: &Actor, kind: EventType, id: Uuid, data: serde_json::Value) -> Event {
    Event::new(
        kind,
        t,
        actor,
        ResourceRef {
            kind: "Webhook",
            id: id.to_string(),
        },
        data,
    )
}

async fn find<C: ConnectionTrait>(db: &C, t: TenantId, id: Uuid) -> Result<Option<webhooks::Model>, DomainError> {
    webhooks::Entity::find()
        .filter(webhooks::Column::TenantId.eq(t.to_string()))
        .filter(webhooks::Column::Id.eq(id.to_string()))
        .one(db)
        .await
        .ctx("reading a webhook")
}

#[async_trait]
impl WebhookStore for SqlWebhookStore {
    async fn create(
        &self,
        t: TenantId,
        actor: &Actor,
        url: String,
        event_types: Vec<String>,
        secret: String,
    ) -> Result<Webhook, DomainError> {
        domain::webhooks::validate_url(&url)?;
        let id = Uuid::now_v7();
        let row = webhooks::Model {
            id: id.to_string(),
            tenant_id: t.to_string(),
            url: url.clone(),
            event_types: serde_json::to_string(&event_types).map_err(|e| DomainError::Unexpected(e.into()))?,
            secret,
            created_at: Utc::now(),
        };
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        webhooks::Entity::insert(webhooks::ActiveModel::from(row.clone()))
            .exec_without_returning(&txn)
            .await
            .ctx("inserting a webhook")?;
        let ev = webhook_event(
            t,
            actor,
            EventType::WebhookCreated,
            id,
            json!({"url": url, "event_types": event_types}),
        );
        crate::outbox::push(&txn, &ev).await?;
        txn.commit().await.ctx("committing a webhook")?;
        to_webhook(&row)
    }

    async fn list(&self, t: TenantId) -> Result<Vec<Webhook>, DomainError> {
        webhooks::Entity::find()
            .filter(webhooks::Column::TenantId.eq(t.to_string()))
            .order_by_asc(webhooks::Column::Id)
            .all(&self.db)
            .await
            .ctx("listing webhooks")?
            .iter()
            .map(to_webhook)
            .collect()
    }

    async fn delete(&self, t: TenantId, actor: &Actor, id: Uuid) -> Result<(), DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let existing = find(&txn, t, id)
            .await?
            .ok_or_else(|| DomainError::NotFound(format!("webhook {id} not found")))?;
        webhook_deliveries::Entity::delete_many()
            .filter(webhook_deliveries::Column::TenantId.eq(t.to_string()))
            .filter(webhook_deliveries::Column::WebhookId.eq(id.to_string()))
            .exec(&txn)
            .await
            .ctx("deleting deliveries")?;
        webhooks::Entity::delete_many()
            .filter(webhooks::Column::TenantId.eq(t.to_string()))
            .filter(webhooks::Column::Id.eq(id.to_string()))
            .exec(&txn)
            .await
            .ctx("deleting a webhook")?;
        let ev = webhook_event(t, actor, EventType::WebhookDeleted, id, json!({"url": existing.url}));
        crate::outbox::push(&txn, &ev).await?;
        txn.commit().await.ctx("committing a webhook delete")?;
        Ok(())
    }

    async fn deliveries(&self, t: TenantId, webhook: Uuid, limit: u64) -> Result<Option<Vec<Delivery>>, DomainError> {
        if find(&self.db, t, webhook).await?.is_none() {
            return Ok(None);
        }
        webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::TenantId.eq(t.to_string()))
            .filter(webhook_deliveries::Column::WebhookId.eq(webhook.to_string()))
            .order_by_desc(webhook_deliveries::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .ctx("listing deliveries")?
            .into_iter()
            .map(to_delivery)
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    async fn replay(&self, t: TenantId, actor: &Actor, webhook: Uuid, delivery: Uuid) -> Result<Delivery, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let res = webhook_deliveries::Entity::update_many()
            .col_expr(
                webhook_deliveries::Column::Status,
                Expr::val(DeliveryStatus::Pending.as_str()),
            )
            .col_expr(webhook_deliveries::Column::Attempts, Expr::val(0))
            .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::val(Utc::now()))
            .col_expr(webhook_deliveries::Column::UpdatedAt, Expr::val(Utc::now()))
            .filter(webhook_deliveries::Column::TenantId.eq(t.to_string()))
            .filter(webhook_deliveries::Column::WebhookId.eq(webhook.to_string()))
            .filter(webhook_deliveries::Column::Id.eq(delivery.to_string()))
            .exec(&txn)
            .await
            .ctx("replaying a delivery")?;
        if res.rows_affected == 0 {
            return Err(DomainError::NotFound(format!(
                "delivery {delivery} of webhook {webhook} not found"
            )));
        }
        let ev = webhook_event(
            t,
            actor,
            EventType::WebhookDeliveryReplayed,
            webhook,
            json!({"delivery_id": delivery}),
        );
        crate::outbox::push(&txn, &ev).await?;
        let stored = webhook_deliveries::Entity::find_by_id(delivery.to_string())
            .one(&txn)
            .await
            .ctx("re-reading a delivery")?
            .ok_or_else(|| DomainError::NotFound(format!("delivery {delivery} not found")))?;
        txn.commit().await.ctx("committing a replay")?;
        to_delivery(stored)
    }
}

#[async_trait]
impl EventProcessor for SqlWebhookStore {
    async fn process_outbox(&self, limit: u64) -> Result<u64, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let mut q = outbox::Entity::find()
            .filter(outbox::Column::PublishedAt.is_null())
            .order_by_asc(outbox::Column::Id)
            .limit(limit);
        if txn.get_database_backend() == DbBackend::Postgres {
            // Several workers share the outbox: each takes rows the others have not locked.
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let events = q.all(&txn).await.ctx("claiming outbox events")?;
        if events.is_empty() {
            return Ok(0);
        }
        let now = Utc::now();
        let mut hooks: HashMap<String, Vec<Webhook>> = HashMap::new();
        for e in &events {
            audit_events::Entity::insert(audit_events::ActiveModel {
                id: Set(e.id.clone()),
                tenant_id: Set(e.tenant_id.clone()),
                event_type: Set(e.event_type.clone()),
                actor: Set(e.actor.clone()),
                resource_type: Set(e.resource_type.clone()),
                resource_id: Set(e.resource_id.clone()),
                occurred_at: Set(e.occurred_at),
                envelope: Set(e.envelope.clone()),
                recorded_at: Set(now),
            })
            .on_conflict_do_nothing_on([audit_events::Column::Id])
            .exec_without_returning(&txn)
            .await
            .ctx("writing the audit trail")?;
            let Some(tenant) = &e.tenant_id else { continue };
            if !hooks.contains_key(tenant) {
                let list = webhooks::Entity::find()
                    .filter(webhooks::Column::TenantId.eq(tenant.clone()))
                    .all(&txn)
                    .await
                    .ctx("reading webhooks")?
                    .iter()
                    .map(to_webhook)
                    .collect::<Result<Vec<_>, _>>()?;
                hooks.insert(tenant.clone(), list);
            }
            for hook in hooks
                .get(tenant)
                .into_iter()
                .flatten()
                .filter(|h| h.wants(&e.event_type))
            {
                webhook_deliveries::Entity::insert(webhook_deliveries::ActiveModel {
                    id: Set(Uuid::now_v7().to_string()),
                    tenant_id: Set(tenant.clone()),
                    webhook_id: Set(hook.id.to_string()),
                    event_id: Set(e.id.clone()),
                    event_type: Set(e.event_type.clone()),
                    status: Set(DeliveryStatus::Pending.as_str().to_owned()),
                    attempts: Set(0),
                    next_attempt_at: Set(now),
                    last_status_code: Set(None),
                    last_error: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .on_conflict_do_nothing_on([
                    webhook_deliveries::Column::WebhookId,
                    webhook_deliveries::Column::EventId,
                ])
                .exec_without_returning(&txn)
                .await
                .ctx("queueing a delivery")?;
            }
        }
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        outbox::Entity::update_many()
            .col_expr(outbox::Column::PublishedAt, Expr::val(now))
            .filter(outbox::Column::Id.is_in(ids))
            .exec(&txn)
            .await
            .ctx("marking events processed")?;
        txn.commit().await.ctx("committing processed events")?;
        Ok(events.len() as u64)
    }

    async fn claim_deliveries(&self, limit: u64, lease_until: DateTime<Utc>) -> Result<Vec<DueDelivery>, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let mut q = webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::Column::NextAttemptAt.lte(Utc::now()))
            .order_by_asc(webhook_deliveries::Column::NextAttemptAt)
            .limit(limit);
        if txn.get_database_backend() == DbBackend::Postgres {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let due = q.all(&txn).await.ctx("claiming deliveries")?;
        if due.is_empty() {
            return Ok(Vec::new());
        }
        // The lease: another worker will not take these before it runs out (a crashed worker's
        // deliveries come back after it).
        webhook_deliveries::Entity::update_many()
            .col_expr(webhook_deliveries::Column::NextAttemptAt, Expr::val(lease_until))
            .filter(webhook_deliveries::Column::Id.is_in(due.iter().map(|d| d.id.clone())))
            .exec(&txn)
            .await
            .ctx("leasing deliveries")?;
        let hooks: HashMap<String, webhooks::Model> = webhooks::Entity::find()
            .filter(webhooks::Column::Id.is_in(due.iter().map(|d| d.webhook_id.clone())))
            .all(&txn)
            .await
            .ctx("reading webhooks")?
            .into_iter()
            .map(|h| (h.id.clone(), h))
            .collect();
        let events: HashMap<String, String> = audit_events::Entity::find()
            .filter(audit_events::Column::Id.is_in(due.iter().map(|d| d.event_id.clone())))
            .all(&txn)
            .await
            .ctx("reading events")?
            .into_iter()
            .map(|e| (e.id, e.envelope))
            .collect();
        let mut out = Vec::with_capacity(due.len());
        for d in due {
            let (Some(hook), Some(envelope)) = (hooks.get(&d.webhook_id), events.get(&d.event_id)) else {
                continue;
            };
            out.push(DueDelivery {
                id: uuid(&d.id)?,
                tenant_id: TenantId(uuid(&d.tenant_id)?),
                url: hook.url.clone(),
                secret: hook.secret.clone(),
                event_id: uuid(&d.event_id)?,
                event_type: d.event_type,
                envelope: envelope.clone(),
                attempts: d.attempts,
            });
        }
        txn.commit().await.ctx("committing claims")?;
        Ok(out)
    }

    async fn record_attempt(&self, delivery: Uuid, outcome: AttemptOutcome) -> Result<(), DomainError> {
        let now = Utc::now();
        let status = match (outcome.succeeded, outcome.retry_at) {
            (true, _) => DeliveryStatus::Succeeded,
            (false, Some(_)) => DeliveryStatus::Pending,
            (false, None) => DeliveryStatus::Dead,
        };
        webhook_deliveries::Entity::update_many()
            .col_expr(webhook_deliveries::Column::Status, Expr::val(status.as_str()))
            .col_expr(
                webhook_deliveries::Column::Attempts,
                Expr::col(webhook_deliveries::Column::Attempts).add(1),
            )
            .col_expr(
                webhook_deliveries::Column::NextAttemptAt,
                Expr::val(outcome.retry_at.unwrap_or(now)),
            )
            .col_expr(
                webhook_deliveries::Column::LastStatusCode,
                Expr::val(outcome.status_code.map(i32::from)),
            )
            .col_expr(webhook_deliveries::Column::LastError, Expr::val(outcome.error))
            .col_expr(webhook_deliveries::Column::UpdatedAt, Expr::val(now))
            .filter(webhook_deliveries::Column::Id.eq(delivery.to_string()))
            .exec(&self.db)
            .await
            .ctx("recording a delivery attempt")?;
        Ok(())
    }
}
