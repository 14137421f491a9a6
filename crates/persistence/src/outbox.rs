//! The transactional outbox: every change inserts its event in the same transaction.

use domain::DomainError;
use domain::events::Event;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::entities::outbox;
use crate::error::DbResultExt;

/// Inserts the event into the outbox on the given connection (a transaction).
pub(crate) async fn push<C: ConnectionTrait>(db: &C, event: &Event) -> Result<(), DomainError> {
    let row = outbox::ActiveModel {
        id: Set(event.id.to_string()),
        tenant_id: Set(Some(event.tenant_id.to_string())),
        event_type: Set(event.kind.as_str().to_owned()),
        actor: Set(event.actor.clone()),
        resource_type: Set(event.resource.kind.to_owned()),
        resource_id: Set(event.resource.id.clone()),
        occurred_at: Set(event.occurred_at),
        envelope: Set(event.envelope().to_string()),
        published_at: Set(None),
    };
    outbox::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .ctx("writing an outbox event")?;
    Ok(())
}
