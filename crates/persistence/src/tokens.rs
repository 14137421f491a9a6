//! SCIM tokens: argon2id hashes only, never the plaintext.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::DomainError;
use domain::events::{Actor, Event, EventType, ResourceRef};
use domain::ports::{TokenRecord, TokenStore};
use domain::tenant::TenantId;
use domain::token::{NewToken, ScimTokenInfo};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{scim_tokens, sso_connections, tenants};
use crate::error::DbResultExt;
use crate::outbox;

/// Tokens in Postgres or SQLite.
pub struct SqlTokenStore {
    db: DatabaseConnection,
}

impl SqlTokenStore {
    /// A store over the pool.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn to_info(m: &scim_tokens::Model) -> Result<ScimTokenInfo, DomainError> {
    let parse = |s: &str| Uuid::parse_str(s).map_err(|e| DomainError::Unexpected(e.into()));
    Ok(ScimTokenInfo {
        id: parse(&m.id)?,
        tenant_id: TenantId(parse(&m.tenant_id)?),
        label: m.label.clone(),
        created_at: m.created_at,
        expires_at: m.expires_at,
        last_used_at: m.last_used_at,
        revoked_at: m.revoked_at,
    })
}

fn revoked_event(t: TenantId, actor: &Actor, id: Uuid) -> Event {
    Event::new(
        EventType::ScimTokenRevoked,
        t,
        actor,
        ResourceRef {
            kind: "ScimToken",
            id: id.to_string(),
        },
        json!({}),
    )
}

async fn revoke_where<C: ConnectionTrait>(db: &C, t: TenantId, id: Option<Uuid>) -> Result<Vec<Uuid>, DomainError> {
    let mut q = scim_tokens::Entity::find()
        .filter(scim_tokens::Column::TenantId.eq(t.to_string()))
        .filter(scim_tokens::Column::RevokedAt.is_null());
    if let Some(id) = id {
        q = q.filter(scim_tokens::Column::Id.eq(id.to_string()));
    }
    let live: Vec<String> = q
        .all(db)
        .await
        .ctx("reading tokens")?
        .into_iter()
        .map(|m| m.id)
        .collect();
    if live.is_empty() {
        return Ok(Vec::new());
    }
    scim_tokens::Entity::update_many()
        .col_expr(scim_tokens::Column::RevokedAt, Expr::val(Utc::now()))
        .filter(scim_tokens::Column::TenantId.eq(t.to_string()))
        .filter(scim_tokens::Column::Id.is_in(live.clone()))
        .exec(db)
        .await
        .ctx("revoking tokens")?;
    live.iter()
        .map(|s| Uuid::parse_str(s).map_err(|e| DomainError::Unexpected(e.into())))
        .collect()
}

#[async_trait]
impl TokenStore for SqlTokenStore {
    #[tracing::instrument(skip(self, token), err(level = "debug"))]
    async fn insert(
        &self,
        t: TenantId,
        actor: &Actor,
        token: &NewToken,
        label: String,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<ScimTokenInfo, DomainError> {
        let row = scim_tokens::ActiveModel {
            id: Set(token.id.to_string()),
            tenant_id: Set(t.to_string()),
            label: Set(label.clone()),
            secret_hash: Set(token.hash.clone()),
            created_at: Set(Utc::now()),
            expires_at: Set(expires_at),
            last_used_at: Set(None),
            revoked_at: Set(None),
        };
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        scim_tokens::Entity::insert(row.clone())
            .exec_without_returning(&txn)
            .await
            .ctx("inserting a token")?;
        let ev = Event::new(
            EventType::ScimTokenIssued,
            t,
            actor,
            ResourceRef {
                kind: "ScimToken",
                id: token.id.to_string(),
            },
            json!({"label": label, "expires_at": expires_at}),
        );
        outbox::push(&txn, &ev).await?;
        let stored = scim_tokens::Entity::find_by_id(token.id.to_string())
            .one(&txn)
            .await
            .ctx("re-reading a token")?
            .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("token vanished")))?;
        txn.commit().await.ctx("committing a token")?;
        to_info(&stored)
    }

    async fn list(&self, t: TenantId) -> Result<Vec<ScimTokenInfo>, DomainError> {
        scim_tokens::Entity::find()
            .filter(scim_tokens::Column::TenantId.eq(t.to_string()))
            .order_by_asc(scim_tokens::Column::Id)
            .all(&self.db)
            .await
            .ctx("listing tokens")?
            .iter()
            .map(to_info)
            .collect()
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn revoke(&self, t: TenantId, actor: &Actor, id: Uuid) -> Result<ScimTokenInfo, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let existing = scim_tokens::Entity::find_by_id(id.to_string())
            .filter(scim_tokens::Column::TenantId.eq(t.to_string()))
            .one(&txn)
            .await
            .ctx("reading a token")?
            .ok_or_else(|| DomainError::NotFound(format!("SCIM token {id} not found")))?;
        if existing.revoked_at.is_none() {
            revoke_where(&txn, t, Some(id)).await?;
            outbox::push(&txn, &revoked_event(t, actor, id)).await?;
        }
        let stored = scim_tokens::Entity::find_by_id(id.to_string())
            .one(&txn)
            .await
            .ctx("re-reading a token")?
            .ok_or_else(|| DomainError::NotFound(format!("SCIM token {id} not found")))?;
        txn.commit().await.ctx("committing a revocation")?;
        to_info(&stored)
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn revoke_all(&self, t: TenantId, actor: &Actor) -> Result<Vec<Uuid>, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let ids = revoke_where(&txn, t, None).await?;
        for id in &ids {
            outbox::push(&txn, &revoked_event(t, actor, *id)).await?;
        }
        txn.commit().await.ctx("committing revocations")?;
        Ok(ids)
    }

    async fn find(&self, id: Uuid) -> Result<Option<TokenRecord>, DomainError> {
        let Some(m) = scim_tokens::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await
            .ctx("reading a token")?
        else {
            return Ok(None);
        };
        let connected = sso_connections::Entity::find_by_id(m.tenant_id.clone())
            .one(&self.db)
            .await
            .ctx("reading an SSO connection")?
            .is_some_and(|c| c.scim_enabled);
        // A suspended tenant's tokens stop working without being revoked.
        let active = tenants::Entity::find_by_id(m.tenant_id.clone())
            .one(&self.db)
            .await
            .ctx("reading a tenant")?
            .is_some_and(|t| t.status == domain::tenant::TenantStatus::Active.as_str());
        let scim_enabled = connected && active;
        Ok(Some(TokenRecord {
            info: to_info(&m)?,
            hash: m.secret_hash,
            scim_enabled,
        }))
    }

    async fn revoked_since(&self, since: DateTime<Utc>) -> Result<Vec<Uuid>, DomainError> {
        scim_tokens::Entity::find()
            .filter(scim_tokens::Column::RevokedAt.gte(since))
            .all(&self.db)
            .await
            .ctx("reading revoked tokens")?
            .iter()
            .map(|m| Uuid::parse_str(&m.id).map_err(|e| DomainError::Unexpected(e.into())))
            .collect()
    }

    async fn touch(&self, used: &[(Uuid, DateTime<Utc>)]) -> Result<(), DomainError> {
        for (id, at) in used {
            scim_tokens::Entity::update_many()
                .col_expr(scim_tokens::Column::LastUsedAt, Expr::val(*at))
                .filter(scim_tokens::Column::Id.eq(id.to_string()))
                .exec(&self.db)
                .await
                .ctx("recording token use")?;
        }
        Ok(())
    }
}
