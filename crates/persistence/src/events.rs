//! Reading the outbox as an event feed, oldest first, by cursor (the event id, a UUIDv7).

use domain::DomainError;
use domain::tenant::TenantId;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::Value;
use uuid::Uuid;

use crate::entities::outbox;
use crate::error::DbResultExt;

/// A tenant's events after `after` (exclusive), at most `limit`, as envelopes.
pub async fn events_after(
    db: &DatabaseConnection,
    t: TenantId,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Value>, DomainError> {
    let mut q = outbox::Entity::find().filter(outbox::Column::TenantId.eq(t.to_string()));
    if let Some(after) = after {
        q = q.filter(outbox::Column::Id.gt(after.to_string()));
    }
    q.order_by_asc(outbox::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .ctx("reading the event feed")?
        .into_iter()
        .map(|m| {
            serde_json::from_str(&m.envelope)
                .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("stored event envelope: {e}")))
        })
        .collect()
}
