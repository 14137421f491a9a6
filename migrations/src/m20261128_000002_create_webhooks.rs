//! Webhook endpoints and their delivery attempts (SPEC §8), and an index for reading the
//! audit trail by cursor.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: &[&str] = &[
    "CREATE INDEX idx_webhooks_tenant ON webhooks (tenant_id)",
    "CREATE UNIQUE INDEX uq_webhook_deliveries_event ON webhook_deliveries (webhook_id, event_id)",
    "CREATE INDEX idx_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)",
    "CREATE INDEX idx_webhook_deliveries_webhook ON webhook_deliveries (tenant_id, webhook_id, id)",
    "CREATE INDEX idx_audit_events_tenant_id ON audit_events (tenant_id, id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("webhooks")
                    .col(string("id").primary_key())
                    .col(string("tenant_id"))
                    .col(text("url"))
                    .col(text("event_types"))
                    .col(text("secret"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(string("id").primary_key())
                    .col(string("tenant_id"))
                    .col(string("webhook_id"))
                    .col(string("event_id"))
                    .col(string("event_type"))
                    .col(string("status"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(integer_null("last_status_code"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX idx_audit_events_tenant_id")
            .await?;
        for table in ["webhook_deliveries", "webhooks"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
