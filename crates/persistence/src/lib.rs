//! Storage adapters: sea-orm repositories implementing the domain ports on Postgres and SQLite,
//! and the transactional outbox. Every query is built from a tenant-scoped base; no function
//! here takes a tenant from anywhere but its `TenantId` argument.
//!
//! Must never import actix, utoipa or the HTTP crates.

mod directory;
mod entities;
mod error;
mod events;
pub mod filter;
mod groups;
mod outbox;
mod roles;
mod tenants;
mod tokens;
mod users;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, DatabaseConnection, DbBackend};

pub use directory::SqlDirectoryStore;
pub use groups::SqlGroupStore;
pub use roles::SqlRoleStore;
pub use tenants::SqlTenantStore;
pub use tokens::SqlTokenStore;
pub use users::SqlUserStore;
pub use webhooks::SqlWebhookStore;

/// A connection pool to the configured database.
#[derive(Clone, Debug)]
pub struct Database {
    conn: DatabaseConnection,
}

impl Database {
    /// Connects to a `postgres://` or `sqlite://` URL. SQLite files are created when missing
    /// (with their directory) and use one connection: SQLite has a single writer, and one
    /// connection turns concurrent transactions into a queue instead of `database is locked`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        if url.starts_with("sqlite:") {
            ensure_sqlite_dir(url)?;
            opts.max_connections(1).min_connections(1);
        } else {
            opts.max_connections(16).min_connections(1);
        }
        let conn = sea_orm::Database::connect(opts).await?;
        if conn.get_database_backend() == DbBackend::Sqlite {
            conn.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA busy_timeout=5000;")
                .await?;
        }
        Ok(Self { conn })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        Migrator::up(&self.conn, None).await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        self.conn.ping().await.is_ok()
    }

    /// The underlying connection (tests and operational tooling).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The ports over this database, with the role catalogue that effective roles follow.
    pub fn stores(&self, catalogue: Arc<domain::roles::RoleCatalogue>) -> Stores {
        Stores {
            users: Arc::new(SqlUserStore::new(self.conn.clone(), catalogue.clone())),
            groups: Arc::new(SqlGroupStore::new(self.conn.clone(), catalogue.clone())),
            tenants: Arc::new(SqlTenantStore::new(self.conn.clone(), catalogue.clone())),
            tokens: Arc::new(SqlTokenStore::new(self.conn.clone())),
            roles: Arc::new(SqlRoleStore::new(self.conn.clone(), catalogue)),
            directory: Arc::new(SqlDirectoryStore::new(self.conn.clone())),
            request_log: Arc::new(SqlDirectoryStore::new(self.conn.clone())),
            webhooks: Arc::new(SqlWebhookStore::new(self.conn.clone())),
            events: Arc::new(SqlWebhookStore::new(self.conn.clone())),
        }
    }
}

/// Every port, ready to share between handlers.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn domain::ports::UserStore>,
    pub groups: Arc<dyn domain::ports::GroupStore>,
    pub tenants: Arc<dyn domain::ports::TenantStore>,
    pub tokens: Arc<dyn domain::ports::TokenStore>,
    pub roles: Arc<dyn domain::ports::RoleStore>,
    pub directory: Arc<dyn domain::ports::DirectoryStore>,
    pub request_log: Arc<dyn domain::ports::RequestLog>,
    pub webhooks: Arc<dyn domain::ports::WebhookStore>,
    pub events: Arc<dyn domain::ports::EventProcessor>,
}

fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    Ok(())
}
