//! The internal admin HTTP surface that account managers (through the admin UI) use to set up
//! tenants: SSO connections, SCIM enablement and tokens, role mappings, and the views that
//! verify provisioning. JWT bearer auth; errors are RFC 9457 problem details; the OpenAPI
//! document is generated from the handlers themselves (utoipa-actix-web).
//!
//! Must never import sea-orm or redis: storage comes in through the domain ports.

pub mod auth;
pub mod problem;
mod routes;

use std::sync::Arc;

use actix_web::web;
use domain::ports::{DirectoryStore, RoleStore, TenantStore, TokenStore, WebhookStore};
use domain::roles::RoleCatalogue;
use domain::tenant::Tenant;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;
use uuid::Uuid;

use crate::auth::JwtConfig;
use crate::problem::Problem;

/// Called with the ids of revoked tokens.
pub type RevocationHook = Arc<dyn Fn(&[Uuid]) + Send + Sync>;

/// Everything the admin handlers need.
pub struct AdminState {
    pub tenants: Arc<dyn TenantStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub roles: Arc<dyn RoleStore>,
    pub directory: Arc<dyn DirectoryStore>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub catalogue: Arc<RoleCatalogue>,
    pub jwt: JwtConfig,
    /// The public base URL (SCIM base URL, ACS URL and SP metadata URL derive from it).
    pub public_base_url: String,
    /// Told the ids of revoked tokens, so this process refuses them at once.
    pub on_tokens_revoked: RevocationHook,
}

impl AdminState {
    /// The tenant with this slug, or 404.
    pub(crate) async fn tenant(&self, slug: &str) -> Result<Tenant, Problem> {
        self.tenants
            .get_by_slug(slug)
            .await?
            .ok_or_else(|| Problem::not_found(format!("no tenant with slug '{slug}'")))
    }

    /// The SCIM base URL customers paste into their IdP.
    pub(crate) fn scim_base_url(&self) -> String {
        format!("{}/api/scim/v2", self.public_base_url.trim_end_matches('/'))
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document's static part; paths are collected from the registered handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "BetaTesting provisioning admin API",
        description = "Set up customers (tenants): SAML SSO connections, SCIM provisioning and tokens, role mappings, and the views that verify provisioning. Every call needs `Authorization: Bearer <admin JWT>` with role `admin`, `account_manager` or `viewer` (viewers only read). Errors are `application/problem+json` (RFC 9457).",
        version = "1"
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem))
)]
pub struct ApiDoc;

/// JSON, path and query errors as problem details.
pub fn extractor_config(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1 << 20)
            .error_handler(|e, _| Problem::bad_request(format!("the request body is not valid: {e}")).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|e, _| Problem::not_found(e.to_string()).into()))
    .app_data(
        web::QueryConfig::default().error_handler(|e, _| Problem::bad_request(format!("invalid query: {e}")).into()),
    );
}

/// Registers every admin route under `/admin/v1` on a utoipa-actix-web app.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(utoipa_actix_web::scope("/admin/v1").configure(routes::configure));
}

/// The OpenAPI document, built from the same registrations the server uses.
pub fn openapi() -> OpenApiDoc {
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure)
        .split_for_parts();
    api
}
