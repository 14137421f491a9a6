//! Database migrations for Postgres and SQLite. Each migration has a real `down`; once merged a
//! migration is never edited: a change is a new migration.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_create_core_tables;
mod m20261128_000002_create_webhooks;

/// All migrations, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_create_core_tables::Migration),
            Box::new(m20261128_000002_create_webhooks::Migration),
        ]
    }
}
