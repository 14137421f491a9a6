//! SCIM enablement and token lifecycle.

use actix_web::{HttpResponse, delete, get, post, web};
use domain::tenant::{SsoProtocol, Tenant};
use domain::token::ScimTokenInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AdminState;
use crate::auth::Principal;
use crate::problem::Problem;

/// A new token: the secret is shown here once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    /// The SCIM base URL for the IdP.
    pub base_url: String,
    /// The bearer token for the IdP ("HTTP Header" auth in Okta). Shown once.
    pub token: String,
    pub token_id: Uuid,
}

/// A token as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: Uuid,
    pub label: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<ScimTokenInfo> for TokenDto {
    fn from(t: ScimTokenInfo) -> Self {
        Self {
            id: t.id,
            label: t.label,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// `POST .../scim/tokens` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub label: Option<String>,
    /// 1-3650; none means the token does not expire.
    pub expires_in_days: Option<u32>,
}

async fn issue(
    state: &AdminState,
    who: &Principal,
    t: &Tenant,
    label: String,
    days: Option<u32>,
) -> Result<IssuedToken, Problem> {
    if days.is_some_and(|d| d == 0 || d > 3650) {
        return Err(Problem::bad_request("expires_in_days must be between 1 and 3650"));
    }
    let new = tokio::task::spawn_blocking(domain::token::generate)
        .await
        .map_err(|e| Problem::from(domain::DomainError::Unexpected(e.into())))?
        .map_err(|e| Problem::from(domain::DomainError::Unexpected(e)))?;
    let expires = days.map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d)));
    state.tokens.insert(t.id, &who.actor(), &new, label, expires).await?;
    Ok(IssuedToken {
        base_url: state.scim_base_url(),
        token: new.plaintext.clone(),
        token_id: new.id,
    })
}

/// Enables SCIM and issues a first token. 409 when the tenant has no SAML connection (an
/// OIDC connection must be migrated to SAML first). Role: account_manager or admin.
#[utoipa::path(tag = "scim", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 201, description = "Created", body = IssuedToken), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 403, description = "The token's role may not do this", body = Problem),
              (status = 404, description = "Not found", body = Problem), (status = 409, description = "no SAML connection", body = Problem)))]
#[post("/tenants/{t}/scim")]
pub async fn enable_scim(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    match state.tenants.sso_connection(tenant.id).await? {
        Some(c) if c.protocol == SsoProtocol::Saml && c.scim_enabled => {
            return Err(Problem::conflict(format!(
                "SCIM is already enabled for tenant '{}': issue another token with POST /admin/v1/tenants/{}/scim/tokens",
                tenant.slug, tenant.slug
            )));
        }
        Some(c) if c.protocol == SsoProtocol::Saml => {}
        Some(_) => {
            return Err(Problem::conflict(format!(
                "tenant '{}' uses an OIDC SSO connection, which cannot carry SCIM provisioning: migrate it to SAML with POST /admin/v1/tenants/{}/sso-connection/migrate-to-saml, then enable SCIM",
                tenant.slug, tenant.slug
            )));
        }
        None => {
            return Err(Problem::conflict(format!(
                "tenant '{}' has no SSO connection: SCIM needs a SAML connection; create one with PUT /admin/v1/tenants/{}/sso-connection",
                tenant.slug, tenant.slug
            )));
        }
    }
    state.tenants.set_scim_enabled(tenant.id, &who.actor(), true).await?;
    let issued = issue(&state, &who, &tenant, "initial".into(), None).await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Disables SCIM: every token is revoked at once. Role: account_manager or admin.
#[utoipa::path(tag = "scim", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 204, description = "disabled"), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 403, description = "The token's role may not do this", body = Problem),
              (status = 404, description = "Not found", body = Problem), (status = 409, description = "Conflict", body = Problem)))]
#[delete("/tenants/{t}/scim")]
pub async fn disable_scim(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    let revoked = state.tokens.revoke_all(tenant.id, &who.actor()).await?;
    (state.on_tokens_revoked)(&revoked);
    state.tenants.set_scim_enabled(tenant.id, &who.actor(), false).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists the tenant's tokens (never a secret). Any role.
#[utoipa::path(tag = "scim", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<TokenDto>), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/scim/tokens")]
pub async fn list_tokens(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    let list: Vec<TokenDto> = state
        .tokens
        .list(tenant.id)
        .await?
        .into_iter()
        .map(TokenDto::from)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// Issues another token, for rotation without downtime. Role: account_manager or admin.
#[utoipa::path(tag = "scim", params(("t" = String, Path, description = "tenant slug")), request_body = NewToken,
    security(("bearer" = [])),
    responses((status = 201, description = "Created", body = IssuedToken), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 404, description = "Not found", body = Problem),
              (status = 409, description = "SCIM is not enabled", body = Problem)))]
#[post("/tenants/{t}/scim/tokens")]
pub async fn issue_token(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    let enabled = state
        .tenants
        .sso_connection(tenant.id)
        .await?
        .is_some_and(|c| c.scim_enabled);
    if !enabled {
        return Err(Problem::conflict(
            "SCIM is not enabled for this tenant: POST .../scim first",
        ));
    }
    let body = body.into_inner();
    let label = body.label.unwrap_or_else(|| "token".into());
    let issued = issue(&state, &who, &tenant, label, body.expires_in_days).await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Revokes a token; every replica refuses it within a second. Role: account_manager or admin.
#[utoipa::path(tag = "scim", params(("t" = String, Path, description = "tenant slug"), ("id" = Uuid, Path, description = "token id")),
    security(("bearer" = [])),
    responses((status = 204, description = "revoked"), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 403, description = "The token's role may not do this", body = Problem),
              (status = 404, description = "Not found", body = Problem)))]
#[delete("/tenants/{t}/scim/tokens/{id}")]
pub async fn revoke_token(
    state: web::Data<AdminState>,
    who: Principal,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let (t, id) = path.into_inner();
    let tenant = state.tenant(&t).await?;
    state.tokens.revoke(tenant.id, &who.actor(), id).await?;
    (state.on_tokens_revoked)(&[id]);
    Ok(HttpResponse::NoContent().finish())
}
