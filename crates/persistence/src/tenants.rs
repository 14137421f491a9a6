//! Tenants and SSO connections.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use domain::DomainError;
use domain::events::{Actor, Event, EventType, ResourceRef};
use domain::ports::TenantStore;
use domain::roles::RoleCatalogue;
use domain::tenant::{SamlIdp, Slug, SsoConnection, SsoProtocol, Tenant, TenantId, TenantStatus};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{sso_connections, tenants};
use crate::error::{DbResultExt, is_unique_violation, unexpected};
use crate::outbox;

/// Tenants in Postgres or SQLite.
pub struct SqlTenantStore {
    db: DatabaseConnection,
    catalogue: Arc<RoleCatalogue>,
}

impl SqlTenantStore {
    /// A store over the pool.
    pub fn new(db: DatabaseConnection, catalogue: Arc<RoleCatalogue>) -> Self {
        Self { db, catalogue }
    }
}

fn to_tenant(m: tenants::Model) -> Result<Tenant, DomainError> {
    Ok(Tenant {
        id: TenantId(Uuid::parse_str(&m.id).map_err(|e| DomainError::Unexpected(e.into()))?),
        slug: Slug::parse(&m.slug)?,
        name: m.name,
        status: TenantStatus::parse(&m.status).unwrap_or(TenantStatus::Active),
        created_at: m.created_at,
    })
}

fn to_connection(m: sso_connections::Model) -> Result<SsoConnection, DomainError> {
    let t = TenantId(Uuid::parse_str(&m.tenant_id).map_err(|e| DomainError::Unexpected(e.into()))?);
    let protocol = SsoProtocol::parse(&m.protocol)
        .ok_or_else(|| DomainError::Unexpected(anyhow::anyhow!("stored protocol {:?}", m.protocol)))?;
    let saml = match (m.saml_entity_id, m.saml_sso_url) {
        (Some(entity_id), Some(sso_url)) => Some(SamlIdp {
            entity_id,
            sso_url,
            certificates: m
                .saml_certificates
                .as_deref()
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(SsoConnection {
        tenant_id: t,
        protocol,
        saml,
        oidc: m.oidc_config.as_deref().and_then(|c| serde_json::from_str(c).ok()),
        scim_enabled: m.scim_enabled,
        default_role: m.default_role,
        updated_at: m.updated_at,
    })
}

/// The protocol-specific part of an SSO connection, and what its event says.
struct ConnectionFields {
    protocol: SsoProtocol,
    saml_entity_id: Option<String>,
    saml_sso_url: Option<String>,
    saml_certificates: Option<String>,
    oidc_config: Option<String>,
    event_data: serde_json::Value,
}

fn connection_event(t: TenantId, actor: &Actor, data: serde_json::Value) -> Event {
    Event::new(
        EventType::SsoConnectionUpdated,
        t,
        actor,
        ResourceRef {
            kind: "SsoConnection",
            id: t.to_string(),
        },
        data,
    )
}

impl SqlTenantStore {
    /// Creates or replaces the tenant's connection, keeping its default role and creation
    /// time; SCIM stays enabled only on SAML, and switching to OIDC while SCIM is on is refused.
    async fn write_connection(
        &self,
        t: TenantId,
        actor: &Actor,
        fields: ConnectionFields,
    ) -> Result<SsoConnection, DomainError> {
        let now = Utc::now();
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let existing = sso_connections::Entity::find_by_id(t.to_string())
            .one(&txn)
            .await
            .ctx("reading an SSO connection")?;
        let scim_enabled = existing.as_ref().is_some_and(|e| e.scim_enabled);
        if scim_enabled && fields.protocol != SsoProtocol::Saml {
            return Err(DomainError::Conflict(
                "SCIM provisioning is enabled on this tenant and needs SAML: disable SCIM before switching the connection to OIDC".into(),
            ));
        }
        let row = sso_connections::Model {
            tenant_id: t.to_string(),
            protocol: fields.protocol.as_str().to_owned(),
            saml_entity_id: fields.saml_entity_id,
            saml_sso_url: fields.saml_sso_url,
            saml_certificates: fields.saml_certificates,
            oidc_config: fields.oidc_config,
            scim_enabled,
            default_role: existing.as_ref().and_then(|e| e.default_role.clone()),
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        // Every column is written (a model converts to unchanged values otherwise).
        let active = sso_connections::ActiveModel::from(row.clone()).reset_all();
        if existing.is_some() {
            sso_connections::Entity::update(active)
                .exec(&txn)
                .await
                .ctx("updating an SSO connection")?;
        } else {
            sso_connections::Entity::insert(active)
                .exec_without_returning(&txn)
                .await
                .ctx("inserting an SSO connection")?;
        }
        outbox::push(&txn, &connection_event(t, actor, fields.event_data)).await?;
        txn.commit().await.ctx("committing an SSO connection")?;
        to_connection(row)
    }
}

#[async_trait]
impl TenantStore for SqlTenantStore {
    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn create(&self, actor: &Actor, slug: Slug, name: String) -> Result<Tenant, DomainError> {
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err(DomainError::InvalidValue("the tenant name must not be empty".into()));
        }
        let id = TenantId(Uuid::now_v7());
        let now = Utc::now();
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        tenants::Entity::insert(tenants::ActiveModel {
            id: Set(id.to_string()),
            slug: Set(slug.to_string()),
            name: Set(name.clone()),
            status: Set(TenantStatus::Active.as_str().to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                DomainError::Uniqueness(format!("the slug '{slug}' is already taken"))
            } else {
                unexpected(e, "inserting a tenant")
            }
        })?;
        let ev = Event::new(
            EventType::TenantCreated,
            id,
            actor,
            ResourceRef {
                kind: "Tenant",
                id: id.to_string(),
            },
            json!({"slug": slug, "name": name}),
        );
        outbox::push(&txn, &ev).await?;
        txn.commit().await.ctx("committing a tenant")?;
        Ok(Tenant {
            id,
            slug,
            name,
            status: TenantStatus::Active,
            created_at: now,
        })
    }

    async fn get_by_slug(&self, slug: &str) -> Result<Option<Tenant>, DomainError> {
        tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug))
            .one(&self.db)
            .await
            .ctx("reading a tenant")?
            .map(to_tenant)
            .transpose()
    }

    #[tracing::instrument(skip(self, idp), err(level = "debug"))]
    async fn set_saml(&self, t: TenantId, actor: &Actor, idp: SamlIdp) -> Result<SsoConnection, DomainError> {
        let certs = serde_json::to_string(&idp.certificates).map_err(|e| DomainError::Unexpected(e.into()))?;
        let fields = ConnectionFields {
            protocol: SsoProtocol::Saml,
            saml_entity_id: Some(idp.entity_id.clone()),
            saml_sso_url: Some(idp.sso_url.clone()),
            saml_certificates: Some(certs),
            oidc_config: None,
            event_data: json!({"protocol": "saml", "idp_entity_id": idp.entity_id, "idp_sso_url": idp.sso_url, "certificates": idp.certificates.len()}),
        };
        self.write_connection(t, actor, fields).await
    }

    async fn sso_connection(&self, t: TenantId) -> Result<Option<SsoConnection>, DomainError> {
        sso_connections::Entity::find_by_id(t.to_string())
            .one(&self.db)
            .await
            .ctx("reading an SSO connection")?
            .map(to_connection)
            .transpose()
    }

    async fn set_scim_enabled(&self, t: TenantId, actor: &Actor, enabled: bool) -> Result<(), DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let res = sso_connections::Entity::update_many()
            .col_expr(
                sso_connections::Column::ScimEnabled,
                sea_orm::sea_query::Expr::val(enabled),
            )
            .col_expr(
                sso_connections::Column::UpdatedAt,
                sea_orm::sea_query::Expr::val(Utc::now()),
            )
            .filter(sso_connections::Column::TenantId.eq(t.to_string()))
            .exec(&txn)
            .await
            .ctx("switching SCIM")?;
        if res.rows_affected == 0 {
            return Err(DomainError::Conflict("the tenant has no SSO connection".into()));
        }
        outbox::push(&txn, &connection_event(t, actor, json!({"scim_enabled": enabled}))).await?;
        txn.commit().await.ctx("committing a SCIM switch")?;
        Ok(())
    }

    async fn list(&self, after: Option<TenantId>, limit: u64) -> Result<Vec<Tenant>, DomainError> {
        let mut q = tenants::Entity::find();
        if let Some(after) = after {
            q = q.filter(tenants::Column::Id.gt(after.to_string()));
        }
        q.order_by_asc(tenants::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await
            .ctx("listing tenants")?
            .into_iter()
            .map(to_tenant)
            .collect()
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn update(
        &self,
        t: TenantId,
        actor: &Actor,
        name: Option<String>,
        status: Option<TenantStatus>,
    ) -> Result<Tenant, DomainError> {
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let mut row = tenants::ActiveModel {
            updated_at: Set(Utc::now()),
            ..Default::default()
        };
        if let Some(name) = &name {
            let name = name.trim();
            if name.is_empty() {
                return Err(DomainError::InvalidValue("the tenant name must not be empty".into()));
            }
            row.name = Set(name.to_owned());
        }
        if let Some(status) = status {
            row.status = Set(status.as_str().to_owned());
        }
        tenants::Entity::update_many()
            .set(row)
            .filter(tenants::Column::Id.eq(t.to_string()))
            .exec(&txn)
            .await
            .ctx("updating a tenant")?;
        let ev = Event::new(
            EventType::TenantUpdated,
            t,
            actor,
            ResourceRef {
                kind: "Tenant",
                id: t.to_string(),
            },
            json!({"name": name, "status": status}),
        );
        outbox::push(&txn, &ev).await?;
        let stored = tenants::Entity::find_by_id(t.to_string())
            .one(&txn)
            .await
            .ctx("re-reading a tenant")?
            .ok_or_else(|| DomainError::NotFound("tenant not found".into()))?;
        txn.commit().await.ctx("committing a tenant update")?;
        to_tenant(stored)
    }

    #[tracing::instrument(skip(self, config), err(level = "debug"))]
    async fn set_oidc(
        &self,
        t: TenantId,
        actor: &Actor,
        config: serde_json::Value,
    ) -> Result<SsoConnection, DomainError> {
        let fields = ConnectionFields {
            protocol: SsoProtocol::Oidc,
            saml_entity_id: None,
            saml_sso_url: None,
            saml_certificates: None,
            oidc_config: Some(config.to_string()),
            event_data: json!({"protocol": "oidc", "issuer": config.get("issuer")}),
        };
        self.write_connection(t, actor, fields).await
    }

    #[tracing::instrument(skip(self), err(level = "debug"))]
    async fn set_default_role(&self, t: TenantId, actor: &Actor, role: Option<String>) -> Result<(), DomainError> {
        if let Some(r) = &role {
            self.catalogue.check(r)?;
        }
        let txn = self.db.begin().await.ctx("starting a transaction")?;
        let res = sso_connections::Entity::update_many()
            .col_expr(
                sso_connections::Column::DefaultRole,
                sea_orm::sea_query::Expr::val(role.clone()),
            )
            .col_expr(
                sso_connections::Column::UpdatedAt,
                sea_orm::sea_query::Expr::val(Utc::now()),
            )
            .filter(sso_connections::Column::TenantId.eq(t.to_string()))
            .exec(&txn)
            .await
            .ctx("setting the default role")?;
        if res.rows_affected == 0 {
            return Err(DomainError::Conflict("the tenant has no SSO connection".into()));
        }
        outbox::push(&txn, &connection_event(t, actor, json!({"default_role": role}))).await?;
        let users = crate::roles::all_users(&txn, t).await?;
        crate::roles::recompute(&txn, &self.catalogue, t, actor, &users).await?;
        txn.commit().await.ctx("committing the default role")?;
        Ok(())
    }
}
