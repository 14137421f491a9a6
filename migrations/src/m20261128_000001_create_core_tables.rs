//! The core schema of SPEC §6: tenants, SSO connections, SCIM tokens, users and their emails,
//! groups and memberships, role mappings and effective roles, sessions, the audit trail, the
//! outbox and the SCIM request log. Every tenant-owned table carries `tenant_id`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables in creation order (dropped in reverse).
const TABLES: &[&str] = &[
    "tenants",
    "sso_connections",
    "scim_tokens",
    "users",
    "user_emails",
    "groups",
    "group_memberships",
    "role_mappings",
    "user_roles",
    "sessions",
    "audit_events",
    "outbox",
    "scim_request_log",
];

fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

fn tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table("tenants")
            .col(string("id").primary_key())
            .col(string_uniq("slug"))
            .col(string("name"))
            .col(string("status"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .to_owned(),
        Table::create()
            .table("sso_connections")
            .col(string("tenant_id").primary_key())
            .col(string("protocol"))
            .col(text_null("saml_entity_id"))
            .col(text_null("saml_sso_url"))
            .col(text_null("saml_certificates"))
            .col(text_null("oidc_config"))
            .col(boolean("scim_enabled"))
            .col(string_null("default_role"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .to_owned(),
        Table::create()
            .table("scim_tokens")
            .col(string("id").primary_key())
            .col(string("tenant_id"))
            .col(string("label"))
            .col(text("secret_hash"))
            .col(ts("created_at"))
            .col(ts_null("expires_at"))
            .col(ts_null("last_used_at"))
            .col(ts_null("revoked_at"))
            .to_owned(),
        Table::create()
            .table("users")
            .col(string("id").primary_key())
            .col(string("tenant_id"))
            .col(text("user_name"))
            .col(text("user_name_norm"))
            .col(text_null("external_id"))
            .col(text_null("display_name"))
            .col(text_null("given_name"))
            .col(text_null("family_name"))
            .col(boolean("active"))
            .col(text("doc"))
            .col(big_integer("version"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .col(ts_null("deleted_at"))
            .to_owned(),
        Table::create()
            .table("user_emails")
            .col(string("tenant_id"))
            .col(string("user_id"))
            .col(integer("position"))
            .col(text("value"))
            .col(text("value_norm"))
            .col(text_null("kind"))
            .col(boolean("is_primary"))
            .primary_key(Index::create().col("user_id").col("position"))
            .to_owned(),
        Table::create()
            .table("groups")
            .col(string("id").primary_key())
            .col(string("tenant_id"))
            .col(text("display_name"))
            .col(text("display_name_norm"))
            .col(text_null("external_id"))
            .col(text("doc"))
            .col(big_integer("version"))
            .col(ts("created_at"))
            .col(ts("updated_at"))
            .to_owned(),
        Table::create()
            .table("group_memberships")
            .col(string("tenant_id"))
            .col(string("group_id"))
            .col(string("user_id"))
            .col(ts("created_at"))
            .primary_key(Index::create().col("group_id").col("user_id"))
            .to_owned(),
        Table::create()
            .table("role_mappings")
            .col(string("tenant_id"))
            .col(text("group_name_norm"))
            .col(text("group_display_name"))
            .col(string("role"))
            .col(ts("created_at"))
            .primary_key(Index::create().col("tenant_id").col("group_name_norm"))
            .to_owned(),
        Table::create()
            .table("user_roles")
            .col(string("user_id").primary_key())
            .col(string("tenant_id"))
            .col(string("role"))
            .col(ts("updated_at"))
            .to_owned(),
        Table::create()
            .table("sessions")
            .col(string("id").primary_key())
            .col(string("tenant_id"))
            .col(string("user_id"))
            .col(string_null("role"))
            .col(ts("created_at"))
            .col(ts("expires_at"))
            .col(ts_null("revoked_at"))
            .to_owned(),
        Table::create()
            .table("audit_events")
            .col(string("id").primary_key())
            .col(string_null("tenant_id"))
            .col(string("event_type"))
            .col(string("actor"))
            .col(string("resource_type"))
            .col(string("resource_id"))
            .col(ts("occurred_at"))
            .col(text("envelope"))
            .col(ts("recorded_at"))
            .to_owned(),
        Table::create()
            .table("outbox")
            .col(string("id").primary_key())
            .col(string_null("tenant_id"))
            .col(string("event_type"))
            .col(string("actor"))
            .col(string("resource_type"))
            .col(string("resource_id"))
            .col(ts("occurred_at"))
            .col(text("envelope"))
            .col(ts_null("published_at"))
            .to_owned(),
        Table::create()
            .table("scim_request_log")
            .col(string("id").primary_key())
            .col(string("tenant_id"))
            .col(string("method"))
            .col(text("path"))
            .col(integer("status"))
            .col(string_null("scim_type"))
            .col(ts("occurred_at"))
            .to_owned(),
    ]
}

/// Indexes for every lookup the SCIM surface and the admin API make. Unique indexes that must
/// ignore tombstones are partial, which Postgres and SQLite both support with this syntax.
const INDEXES: &[&str] = &[
    "CREATE INDEX idx_scim_tokens_tenant ON scim_tokens (tenant_id)",
    "CREATE INDEX idx_scim_tokens_revoked ON scim_tokens (revoked_at)",
    "CREATE UNIQUE INDEX uq_users_tenant_user_name ON users (tenant_id, user_name_norm) WHERE deleted_at IS NULL",
    "CREATE INDEX idx_users_tenant_id ON users (tenant_id, id)",
    "CREATE INDEX idx_users_tenant_external_id ON users (tenant_id, external_id)",
    "CREATE INDEX idx_users_tenant_display_name ON users (tenant_id, display_name)",
    "CREATE INDEX idx_users_tenant_created ON users (tenant_id, created_at)",
    "CREATE INDEX idx_users_tenant_updated ON users (tenant_id, updated_at)",
    "CREATE INDEX idx_user_emails_tenant_value ON user_emails (tenant_id, value_norm)",
    "CREATE UNIQUE INDEX uq_groups_tenant_display_name ON groups (tenant_id, display_name_norm)",
    "CREATE INDEX idx_groups_tenant_id ON groups (tenant_id, id)",
    "CREATE INDEX idx_groups_tenant_external_id ON groups (tenant_id, external_id)",
    "CREATE INDEX idx_groups_tenant_updated ON groups (tenant_id, updated_at)",
    "CREATE INDEX idx_group_memberships_user ON group_memberships (user_id, group_id)",
    "CREATE INDEX idx_group_memberships_tenant ON group_memberships (tenant_id)",
    "CREATE INDEX idx_user_roles_tenant_role ON user_roles (tenant_id, role)",
    "CREATE INDEX idx_sessions_user ON sessions (user_id)",
    "CREATE INDEX idx_audit_events_tenant ON audit_events (tenant_id, occurred_at)",
    "CREATE INDEX idx_outbox_unpublished ON outbox (published_at, id)",
    "CREATE INDEX idx_outbox_tenant ON outbox (tenant_id, id)",
    "CREATE INDEX idx_scim_request_log_tenant ON scim_request_log (tenant_id, occurred_at)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            manager.create_table(table).await?;
        }
        let db = manager.get_connection();
        for sql in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES.iter().rev() {
            manager.drop_table(Table::drop().table(*table).to_owned()).await?;
        }
        Ok(())
    }
}
