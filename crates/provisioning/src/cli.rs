//! The command line (SPEC §3). Every command that prints a result prints JSON on stdout and
//! nothing else; logs and errors go to stderr. Exit status: 0 success, 2 for a refusal the
//! operator can fix (bad input, missing precondition), 1 for anything unexpected.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use domain::DomainError;
use domain::events::Actor;
use domain::tenant::{SamlIdp, Slug, SsoProtocol, Tenant};
use domain::token;
use persistence::{Database, Stores};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::settings::Settings;
use crate::startup::{Application, Roles};
use domain::saml_metadata::{parse_idp_metadata, parse_pem_certificates, sp_values, validate_sso_url};

/// The BetaTesting provisioning platform: SCIM 2.0 provisioning and SAML SSO.
#[derive(Debug, Parser)]
#[command(name = "provisioning", version)]
pub struct Cli {
    /// A TOML configuration file (else PROVISIONING_CONFIG, else built-in defaults).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process: SCIM + SSO listener, admin listener, events. Migrates first.
    Serve,
    /// Only the public SCIM + SSO listener.
    ScimApi,
    /// Only the admin listener.
    AdminApi,
    /// Only event processing: audit trail and webhook deliveries (any number may run).
    Worker,
    /// Applies database migrations and exits.
    Migrate,
    /// Tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// SSO connections.
    #[command(subcommand)]
    Sso(SsoCommand),
    /// SCIM provisioning.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Role mappings (pushed IdP group -> BetaTesting role).
    #[command(subcommand)]
    Roles(RolesCommand),
    /// Mints an admin API token with the configured HS256 key.
    AdminToken {
        /// Who the token is for (an email).
        #[arg(long)]
        sub: String,
        /// admin, account_manager or viewer.
        #[arg(long)]
        role: String,
        /// Lifetime: e.g. 30m, 1h, 7d.
        #[arg(long, default_value = "1h")]
        ttl: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Maps a pushed group (by display name) to a role; replaces that group's mapping.
    Map {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        group: String,
        #[arg(long)]
        role: String,
    },
    /// Lists the tenant's mappings.
    List {
        #[arg(long)]
        tenant: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Creates a tenant and prints it.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Sets the tenant's SAML connection from IdP metadata or explicit fields.
    SetSaml(SetSamlArgs),
}

#[derive(Debug, Args)]
pub struct SetSamlArgs {
    #[arg(long)]
    tenant: String,
    /// IdP metadata XML (entity ID, SSO URL and signing certificates are read from it).
    #[arg(long, conflicts_with_all = ["entity_id", "sso_url", "cert_file"])]
    metadata_file: Option<PathBuf>,
    #[arg(long, requires_all = ["sso_url", "cert_file"])]
    entity_id: Option<String>,
    #[arg(long, requires_all = ["entity_id", "cert_file"])]
    sso_url: Option<String>,
    /// PEM file with one or more IdP signing certificates.
    #[arg(long, requires_all = ["entity_id", "sso_url"])]
    cert_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// Enables SCIM and issues a first token (shown once).
    Enable {
        #[arg(long)]
        tenant: String,
    },
    /// Token lifecycle.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issues another token (rotation without downtime); shown once.
    Issue {
        #[arg(long)]
        tenant: String,
        #[arg(long, default_value = "cli")]
        label: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// Lists tokens, never their secrets.
    List {
        #[arg(long)]
        tenant: String,
    },
    /// Revokes a token.
    Revoke {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: Uuid,
    },
}

/// A failure and its exit status.
#[derive(Debug)]
enum Failure {
    /// The operator can fix it: exit 2.
    Refused(String),
    /// Exit 1.
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Unexpected(e)
    }
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Unexpected(e) => Self::Unexpected(e),
            other => Self::Refused(other.to_string()),
        }
    }
}

/// Runs a command and turns its outcome into an exit status.
pub async fn run(cli: Cli) -> ExitCode {
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&settings.log);
    match execute(cli.command, &settings).await {
        Ok(Some(out)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&out).unwrap_or_else(|_| out.to_string())
            );
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(Failure::Refused(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::Unexpected(e)) => {
            tracing::error!(error.cause_chain = ?e, "command failed");
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve(settings: &Settings, roles: Roles) -> Result<Option<Value>, Failure> {
    if settings.admin.jwt.uses_dev_secret() && matches!(roles, Roles::All | Roles::AdminApi) {
        tracing::warn!(
            "admin.jwt is not configured: the admin API accepts tokens signed with the built-in DEVELOPMENT secret; set admin.jwt.hs256_secret or admin.jwt.public_key_pem in production"
        );
    }
    let app = Application::build(settings, roles, roles == Roles::All).await?;
    tracing::info!(
        scim_port = app.scim_port().unwrap_or_default(),
        admin_port = app.admin_port().unwrap_or_default(),
        "listening"
    );
    app.run_until_stopped().await?;
    Ok(None)
}

async fn stores(settings: &Settings) -> Result<Stores, Failure> {
    let db = Database::connect(&settings.database.url)
        .await
        .context("connecting to the database")?;
    db.migrate().await.context("applying migrations")?;
    Ok(db.stores(Arc::new(settings.roles.catalogue()?)))
}

async fn tenant(stores: &Stores, slug: &str) -> Result<Tenant, Failure> {
    stores
        .tenants
        .get_by_slug(slug)
        .await?
        .ok_or_else(|| Failure::Refused(format!("no tenant with slug '{slug}'")))
}

fn tenant_json(t: &Tenant) -> Value {
    json!({"id": t.id, "slug": t.slug, "name": t.name, "status": t.status, "created_at": t.created_at})
}

async fn execute(command: Command, settings: &Settings) -> Result<Option<Value>, Failure> {
    let actor = Actor::System;
    match command {
        Command::Serve => serve(settings, Roles::All).await,
        Command::ScimApi => serve(settings, Roles::ScimApi).await,
        Command::AdminApi => serve(settings, Roles::AdminApi).await,
        Command::Worker => serve(settings, Roles::Worker).await,
        Command::Migrate => {
            let db = Database::connect(&settings.database.url)
                .await
                .context("connecting to the database")?;
            db.migrate().await.context("applying migrations")?;
            Ok(Some(json!({"migrated": true})))
        }
        Command::Tenant(TenantCommand::Create { slug, name }) => {
            let stores = stores(settings).await?;
            let t = stores.tenants.create(&actor, Slug::parse(&slug)?, name).await?;
            Ok(Some(tenant_json(&t)))
        }
        Command::Sso(SsoCommand::SetSaml(args)) => set_saml(settings, args).await,
        Command::Scim(ScimCommand::Enable { tenant: slug }) => {
            let stores = stores(settings).await?;
            let t = tenant(&stores, &slug).await?;
            match stores.tenants.sso_connection(t.id).await? {
                Some(c) if c.protocol == SsoProtocol::Saml => {}
                Some(_) => {
                    return Err(Failure::Refused(format!(
                        "tenant '{slug}' uses an OIDC SSO connection, which cannot carry SCIM provisioning: migrate it to SAML first"
                    )));
                }
                None => {
                    return Err(Failure::Refused(format!(
                        "tenant '{slug}' has no SAML connection: run 'provisioning sso set-saml --tenant {slug} ...' first; SCIM needs SAML SSO"
                    )));
                }
            }
            stores.tenants.set_scim_enabled(t.id, &actor, true).await?;
            let issued = issue(&stores, &t, "initial".into(), None).await?;
            Ok(Some(
                json!({"base_url": settings.scim_base_url(), "token": issued.0, "token_id": issued.1}),
            ))
        }
        Command::Scim(ScimCommand::Token(cmd)) => token_command(settings, cmd).await,
        Command::Roles(cmd) => roles_command(settings, cmd).await,
        Command::AdminToken { sub, role, ttl } => {
            let role = admin_api::auth::AdminRole::parse(&role).ok_or_else(|| {
                Failure::Refused(format!("--role must be admin, account_manager or viewer, not '{role}'"))
            })?;
            let ttl = parse_ttl(&ttl)?;
            let token = settings.jwt()?.mint(&sub, role, ttl)?;
            Ok(Some(
                json!({"token": token, "sub": sub, "role": role, "expires_at": chrono::Utc::now() + ttl}),
            ))
        }
    }
}

fn parse_ttl(s: &str) -> Result<chrono::Duration, Failure> {
    let bad = || Failure::Refused(format!("--ttl must look like 30m, 1h or 7d, not '{s}'"));
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => return Err(bad()),
    };
    if n <= 0 || d > chrono::Duration::days(366) {
        return Err(bad());
    }
    Ok(d)
}

async fn roles_command(settings: &Settings, cmd: RolesCommand) -> Result<Option<Value>, Failure> {
    let stores = stores(settings).await?;
    match cmd {
        RolesCommand::Map {
            tenant: slug,
            group,
            role,
        } => {
            let t = tenant(&stores, &slug).await?;
            let mut mappings = stores.roles.mappings(t.id).await?;
            mappings.retain(|m| m.group.to_lowercase() != group.trim().to_lowercase());
            mappings.push(domain::roles::RoleMapping { group, role });
            let stored = stores.roles.replace_mappings(t.id, &Actor::System, mappings).await?;
            Ok(Some(
                serde_json::to_value(stored).map_err(|e| Failure::Unexpected(e.into()))?,
            ))
        }
        RolesCommand::List { tenant: slug } => {
            let t = tenant(&stores, &slug).await?;
            let stored = stores.roles.mappings(t.id).await?;
            Ok(Some(
                serde_json::to_value(stored).map_err(|e| Failure::Unexpected(e.into()))?,
            ))
        }
    }
}

async fn issue(
    stores: &Stores,
    t: &Tenant,
    label: String,
    days: Option<u32>,
) -> Result<(String, Uuid, Value), Failure> {
    let new = tokio::task::spawn_blocking(token::generate)
        .await
        .map_err(|e| Failure::Unexpected(e.into()))??;
    let expires = days.map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d)));
    let info = stores.tokens.insert(t.id, &Actor::System, &new, label, expires).await?;
    Ok((
        new.plaintext.clone(),
        new.id,
        serde_json::to_value(&info).unwrap_or(Value::Null),
    ))
}

async fn token_command(settings: &Settings, cmd: TokenCommand) -> Result<Option<Value>, Failure> {
    let stores = stores(settings).await?;
    match cmd {
        TokenCommand::Issue {
            tenant: slug,
            label,
            expires_in_days,
        } => {
            let t = tenant(&stores, &slug).await?;
            let enabled = stores
                .tenants
                .sso_connection(t.id)
                .await?
                .is_some_and(|c| c.scim_enabled);
            if !enabled {
                return Err(Failure::Refused(format!(
                    "SCIM is not enabled for tenant '{slug}': run 'provisioning scim enable --tenant {slug}'"
                )));
            }
            let (plaintext, id, info) = issue(&stores, &t, label, expires_in_days).await?;
            Ok(Some(
                json!({"base_url": settings.scim_base_url(), "token": plaintext, "token_id": id, "info": info}),
            ))
        }
        TokenCommand::List { tenant: slug } => {
            let t = tenant(&stores, &slug).await?;
            let list = stores.tokens.list(t.id).await?;
            Ok(Some(
                serde_json::to_value(list).map_err(|e| Failure::Unexpected(e.into()))?,
            ))
        }
        TokenCommand::Revoke { tenant: slug, id } => {
            let t = tenant(&stores, &slug).await?;
            let info = stores.tokens.revoke(t.id, &Actor::System, id).await?;
            Ok(Some(
                serde_json::to_value(info).map_err(|e| Failure::Unexpected(e.into()))?,
            ))
        }
    }
}

async fn set_saml(settings: &Settings, args: SetSamlArgs) -> Result<Option<Value>, Failure> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p).map_err(|e| Failure::Refused(format!("cannot read {}: {e}", p.display())))
    };
    let idp = match (&args.metadata_file, &args.entity_id, &args.sso_url, &args.cert_file) {
        (Some(file), None, None, None) => parse_idp_metadata(&read(file)?)?,
        (None, Some(entity_id), Some(sso_url), Some(cert)) => {
            validate_sso_url(sso_url)?;
            SamlIdp {
                entity_id: entity_id.clone(),
                sso_url: sso_url.clone(),
                certificates: parse_pem_certificates(&read(cert)?)?,
            }
        }
        _ => {
            return Err(Failure::Refused(
                "give either --metadata-file, or all of --entity-id, --sso-url and --cert-file".into(),
            ));
        }
    };
    let stores = stores(settings).await?;
    let t = tenant(&stores, &args.tenant).await?;
    let conn = stores.tenants.set_saml(t.id, &Actor::System, idp).await?;
    let sp = sp_values(&settings.http.public_base_url, t.slug.as_str());
    Ok(Some(json!({
        "tenant": t.slug,
        "protocol": conn.protocol,
        "idp_entity_id": conn.saml.as_ref().map(|s| s.entity_id.clone()),
        "idp_sso_url": conn.saml.as_ref().map(|s| s.sso_url.clone()),
        "idp_certificates": conn.saml.as_ref().map_or(0, |s| s.certificates.len()),
        "sp_entity_id": sp.sp_entity_id,
        "acs_url": sp.acs_url,
        "sp_metadata_url": sp.sp_metadata_url,
        "scim_enabled": conn.scim_enabled,
    })))
}
