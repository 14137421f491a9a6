//! Configuration (SPEC §4): built-in defaults, then an optional TOML file (`--config FILE` or
//! `PROVISIONING_CONFIG`), then `PROVISIONING__SECTION__KEY` environment variables. Unknown
//! keys anywhere are an error at start-up, so a typo never silently falls back to a default.

use std::path::Path;

use anyhow::Context;
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

/// The development secret used when no admin JWT key is configured.
pub const DEV_JWT_SECRET: &str = "development-only-insecure-secret-change-me";

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    #[serde(default)]
    pub redis: RedisSettings,
    pub http: HttpSettings,
    #[serde(default)]
    pub admin: AdminSettings,
    #[serde(default)]
    pub log: LogSettings,
    pub scim: ScimSettings,
    #[serde(default)]
    pub roles: RolesSettings,
    pub worker: WorkerSettings,
}

/// `worker.*`: event processing and webhook delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    /// Delivery attempts before a webhook delivery goes dead.
    pub max_attempts: i32,
    /// First retry delay in milliseconds; doubles each attempt, capped at one hour.
    pub base_backoff_ms: u64,
    /// Sleep between polls when idle, in milliseconds.
    pub idle_poll_ms: u64,
    /// Whether `serve` also processes events (turn off when separate `worker` processes run).
    pub in_process: bool,
}

impl WorkerSettings {
    /// The worker's configuration.
    pub fn config(&self) -> worker::WorkerConfig {
        worker::WorkerConfig {
            max_attempts: self.max_attempts.max(1),
            base_backoff: std::time::Duration::from_millis(self.base_backoff_ms),
            idle_poll: std::time::Duration::from_millis(self.idle_poll_ms.max(10)),
            ..worker::WorkerConfig::default()
        }
    }
}

/// `roles.*`: the role catalogue (SPEC §6 defaults when absent).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesSettings {
    /// `[[roles.catalogue]]` tables with `key`, `name`, `precedence`, `landing_path`.
    pub catalogue: Option<Vec<domain::roles::RoleDef>>,
}

impl RolesSettings {
    /// The configured catalogue, or the default one.
    pub fn catalogue(&self) -> anyhow::Result<domain::roles::RoleCatalogue> {
        match &self.catalogue {
            Some(list) => Ok(domain::roles::RoleCatalogue::new(list.clone())?),
            None => Ok(domain::roles::RoleCatalogue::default()),
        }
    }
}

/// `database.*`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://...` or `postgres://...`; may carry a password, so never logged.
    pub url: String,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

/// `redis.*`.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: Option<String>,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.url.as_deref().map(redact_url))
            .finish()
    }
}

/// `http.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub scim_listen: String,
    pub admin_listen: String,
    pub public_base_url: String,
}

/// `admin.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    #[serde(default)]
    pub jwt: JwtSettings,
}

/// `admin.jwt.*`: the key that admin tokens are checked with.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtSettings {
    pub hs256_secret: Option<String>,
    pub public_key_pem: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("hs256_secret", &self.hs256_secret.as_ref().map(|_| "<redacted>"))
            .field("public_key_pem", &self.public_key_pem.as_ref().map(|_| "<set>"))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl JwtSettings {
    /// Whether the built-in development secret is in use.
    pub fn uses_dev_secret(&self) -> bool {
        self.hs256_secret.is_none() && self.public_key_pem.is_none()
    }
}

/// `log.*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` or `json`; unset means pretty on a terminal, JSON otherwise.
    pub format: Option<String>,
    /// An `EnvFilter` directive; `RUST_LOG` wins when set.
    pub level: Option<String>,
}

/// `scim.*`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSettings {
    /// `filter.maxResults`: the largest page a list returns.
    pub max_results: u64,
    /// The largest request body accepted, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Cache verified tokens (turn off only to benchmark argon2 on every request).
    pub token_cache: bool,
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://<redacted>@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl Settings {
    /// Loads the layered configuration; `file` overrides `PROVISIONING_CONFIG`.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let env_file = std::env::var_os("PROVISIONING_CONFIG").map(std::path::PathBuf::from);
        let file = file.map(Path::to_path_buf).or(env_file);
        let mut builder = Config::builder()
            .set_default("database.url", "sqlite://data/provisioning.db?mode=rwc")?
            .set_default("http.scim_listen", "127.0.0.1:8080")?
            .set_default("http.admin_listen", "127.0.0.1:8081")?
            .set_default("http.public_base_url", "http://127.0.0.1:8080")?
            .set_default("scim.max_results", 200)?
            .set_default("scim.max_body_bytes", 1_048_576)?
            .set_default("scim.token_cache", true)?
            .set_default("worker.max_attempts", 8)?
            .set_default("worker.base_backoff_ms", 10_000)?
            .set_default("worker.idle_poll_ms", 250)?
            .set_default("worker.in_process", true)?;
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the configuration file {}", path.display()))?;
            builder = builder.add_source(File::from_str(&text, FileFormat::Toml));
        }
        builder = builder.add_source(
            Environment::with_prefix("PROVISIONING")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true),
        );
        let settings: Self = builder
            .build()?
            .try_deserialize()
            .context("invalid configuration (unknown keys are refused)")?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        if !self.http.public_base_url.starts_with("http://") && !self.http.public_base_url.starts_with("https://") {
            anyhow::bail!("http.public_base_url must be an http:// or https:// URL");
        }
        self.roles.catalogue()?;
        if self.scim.max_results == 0 {
            anyhow::bail!("scim.max_results must be at least 1");
        }
        if let Some(f) = &self.log.format
            && f != "pretty"
            && f != "json"
        {
            anyhow::bail!("log.format must be 'pretty' or 'json', not '{f}'");
        }
        Ok(())
    }

    /// The admin JWT verifier (the development secret when nothing is configured).
    pub fn jwt(&self) -> anyhow::Result<admin_api::auth::JwtConfig> {
        let j = &self.admin.jwt;
        match (&j.hs256_secret, &j.public_key_pem) {
            (Some(_), Some(_)) => anyhow::bail!("set admin.jwt.hs256_secret or admin.jwt.public_key_pem, not both"),
            (Some(secret), None) => admin_api::auth::JwtConfig::hs256(secret, j.issuer.clone(), j.audience.clone()),
            (None, Some(pem)) => admin_api::auth::JwtConfig::public_key(pem, j.issuer.clone(), j.audience.clone()),
            (None, None) => admin_api::auth::JwtConfig::hs256(DEV_JWT_SECRET, j.issuer.clone(), j.audience.clone()),
        }
    }

    /// The SCIM base URL that customers paste into their IdP.
    pub fn scim_base_url(&self) -> String {
        format!(
            "{}{}",
            self.http.public_base_url.trim_end_matches('/'),
            scim_api::BASE_PATH
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_in_debug_output() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://<redacted>@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
        let jwt = JwtSettings {
            hs256_secret: Some("s3cr3t".into()),
            ..Default::default()
        };
        assert!(!format!("{jwt:?}").contains("s3cr3t"));
    }
}
