//! Events: every state change writes one into the outbox in the same transaction (SPEC §8).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::tenant::TenantId;

/// Who caused a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A tenant's IdP, through one of its SCIM tokens.
    ScimToken(Uuid),
    /// A person or system holding an admin JWT (`sub`).
    Admin(String),
    /// The platform itself (CLI, migrations, background jobs).
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ScimToken(id) => write!(f, "scim_token:{id}"),
            Self::Admin(sub) => write!(f, "admin:{sub}"),
            Self::System => f.write_str("system"),
        }
    }
}

/// The event types of SPEC §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    UserCreated,
    UserUpdated,
    UserDeactivated,
    UserReactivated,
    UserDeleted,
    UserRoleChanged,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    ScimTokenIssued,
    ScimTokenRevoked,
    SsoConnectionUpdated,
    RoleMappingUpdated,
    SsoLoginSucceeded,
    SsoLoginFailed,
    TenantCreated,
    TenantUpdated,
    WebhookCreated,
    WebhookDeleted,
    WebhookDeliveryReplayed,
}

impl EventType {
    /// The wire name, e.g. `user.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCreated => "user.created",
            Self::UserUpdated => "user.updated",
            Self::UserDeactivated => "user.deactivated",
            Self::UserReactivated => "user.reactivated",
            Self::UserDeleted => "user.deleted",
            Self::UserRoleChanged => "user.role_changed",
            Self::GroupCreated => "group.created",
            Self::GroupUpdated => "group.updated",
            Self::GroupDeleted => "group.deleted",
            Self::GroupMemberAdded => "group.member_added",
            Self::GroupMemberRemoved => "group.member_removed",
            Self::ScimTokenIssued => "scim_token.issued",
            Self::ScimTokenRevoked => "scim_token.revoked",
            Self::SsoConnectionUpdated => "sso_connection.updated",
            Self::RoleMappingUpdated => "role_mapping.updated",
            Self::SsoLoginSucceeded => "sso.login_succeeded",
            Self::SsoLoginFailed => "sso.login_failed",
            Self::TenantCreated => "tenant.created",
            Self::TenantUpdated => "tenant.updated",
            Self::WebhookCreated => "webhook.created",
            Self::WebhookDeleted => "webhook.deleted",
            Self::WebhookDeliveryReplayed => "webhook.delivery_replayed",
        }
    }
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceRef {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: String,
}

/// The event envelope (SPEC §8).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: Uuid,
    pub kind: EventType,
    pub tenant_id: TenantId,
    pub occurred_at: DateTime<Utc>,
    pub actor: String,
    pub resource: ResourceRef,
    pub data: Value,
}

impl Event {
    /// A new event with a UUIDv7 id, occurring now.
    pub fn new(kind: EventType, tenant_id: TenantId, actor: &Actor, resource: ResourceRef, data: Value) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            tenant_id,
            occurred_at: Utc::now(),
            actor: actor.to_string(),
            resource,
            data,
        }
    }

    /// The envelope as JSON, as stored and delivered.
    pub fn envelope(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "type": self.kind.as_str(),
            "tenant_id": self.tenant_id,
            "occurred_at": self.occurred_at,
            "actor": self.actor,
            "resource": self.resource,
            "data": self.data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_render_as_spec_section_8_says() {
        let id = Uuid::nil();
        assert_eq!(Actor::ScimToken(id).to_string(), format!("scim_token:{id}"));
        assert_eq!(Actor::Admin("am@beta.test".into()).to_string(), "admin:am@beta.test");
        assert_eq!(Actor::System.to_string(), "system");
    }
}
