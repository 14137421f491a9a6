//! A tenant's SSO connection: SAML by IdP metadata or fields, OIDC, and OIDC -> SAML migration.

use actix_web::{HttpResponse, get, post, put, web};
use domain::saml_metadata::{parse_idp_metadata, parse_pem_certificates, sp_values, validate_sso_url};
use domain::tenant::{SamlIdp, SsoConnection, SsoProtocol, Tenant};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::AdminState;
use crate::auth::Principal;
use crate::problem::Problem;

/// `PUT /tenants/{t}/sso-connection` body: SAML by `idp_metadata_xml`, or by `idp_entity_id` +
/// `idp_sso_url` + `idp_certificates`; or `protocol: "oidc"` with `issuer` and `client_id`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SsoConnectionInput {
    /// `saml` (default) or `oidc`.
    pub protocol: Option<String>,
    /// The IdP's SAML metadata XML (entity ID, SSO URL and signing certificates are read from it).
    pub idp_metadata_xml: Option<String>,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    /// PEM certificates; give several while the IdP rotates its signing key.
    pub idp_certificates: Option<Vec<String>>,
    /// OIDC issuer URL.
    pub issuer: Option<String>,
    /// OIDC client id.
    pub client_id: Option<String>,
    /// The role of users in no mapped group (`null` clears it: such users cannot sign in).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub default_role: Option<Option<String>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// A tenant's SSO connection, with what the customer pastes into the IdP.
#[derive(Debug, Serialize, ToSchema)]
pub struct SsoConnectionDto {
    /// `saml` or `oidc`.
    pub protocol: String,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    pub idp_certificates: Vec<String>,
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    /// The SP entity ID (audience) to paste into the IdP.
    pub sp_entity_id: String,
    /// The Assertion Consumer Service URL to paste into the IdP.
    pub acs_url: String,
    pub sp_metadata_url: String,
    pub scim_enabled: bool,
    pub default_role: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

pub(crate) fn dto(state: &AdminState, t: &Tenant, c: SsoConnection) -> SsoConnectionDto {
    let sp = sp_values(&state.public_base_url, t.slug.as_str());
    let oidc = c.oidc.unwrap_or_default();
    let field = |k: &str| oidc.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    SsoConnectionDto {
        protocol: c.protocol.as_str().to_owned(),
        idp_entity_id: c.saml.as_ref().map(|s| s.entity_id.clone()),
        idp_sso_url: c.saml.as_ref().map(|s| s.sso_url.clone()),
        idp_certificates: c.saml.map(|s| s.certificates).unwrap_or_default(),
        oidc_issuer: field("issuer"),
        oidc_client_id: field("client_id"),
        sp_entity_id: sp.sp_entity_id,
        acs_url: sp.acs_url,
        sp_metadata_url: sp.sp_metadata_url,
        scim_enabled: c.scim_enabled,
        default_role: c.default_role,
        updated_at: c.updated_at,
    }
}

fn saml_idp(input: &SsoConnectionInput) -> Result<SamlIdp, Problem> {
    match (
        &input.idp_metadata_xml,
        &input.idp_entity_id,
        &input.idp_sso_url,
        &input.idp_certificates,
    ) {
        (Some(xml), None, None, None) => Ok(parse_idp_metadata(xml)?),
        (None, Some(entity_id), Some(sso_url), Some(certs)) => {
            validate_sso_url(sso_url)?;
            if entity_id.trim().is_empty() {
                return Err(Problem::bad_request("idp_entity_id must not be empty"));
            }
            let mut pems = Vec::new();
            for c in certs {
                pems.extend(parse_pem_certificates(c)?);
            }
            if pems.is_empty() {
                return Err(Problem::bad_request(
                    "idp_certificates must hold at least one PEM certificate",
                ));
            }
            Ok(SamlIdp {
                entity_id: entity_id.clone(),
                sso_url: sso_url.clone(),
                certificates: pems,
            })
        }
        _ => Err(Problem::bad_request(
            "give either idp_metadata_xml, or all of idp_entity_id, idp_sso_url and idp_certificates",
        )),
    }
}

async fn connection(state: &AdminState, t: &Tenant) -> Result<SsoConnection, Problem> {
    state
        .tenants
        .sso_connection(t.id)
        .await?
        .ok_or_else(|| Problem::not_found(format!("tenant '{}' has no SSO connection", t.slug)))
}

/// Creates or replaces the SSO connection. Role: account_manager or admin.
#[utoipa::path(tag = "sso", params(("t" = String, Path, description = "tenant slug")), request_body = SsoConnectionInput,
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = SsoConnectionDto), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 404, description = "Not found", body = Problem),
              (status = 409, description = "switching to OIDC while SCIM is enabled", body = Problem)))]
#[put("/tenants/{t}/sso-connection")]
pub async fn put_sso_connection(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
    body: web::Json<SsoConnectionInput>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    let input = body.into_inner();
    let protocol = match input.protocol.as_deref().unwrap_or("saml") {
        "saml" => SsoProtocol::Saml,
        "oidc" => SsoProtocol::Oidc,
        other => {
            return Err(Problem::bad_request(format!(
                "protocol must be 'saml' or 'oidc', not '{other}'"
            )));
        }
    };
    if let Some(Some(role)) = &input.default_role {
        state.catalogue.check(role)?;
    }
    // Only `default_role` given, on an existing connection: change just that (the admin UI
    // sets the default role without re-sending the IdP's metadata).
    let only_default_role = input.protocol.is_none()
        && input.idp_metadata_xml.is_none()
        && input.idp_entity_id.is_none()
        && input.idp_sso_url.is_none()
        && input.idp_certificates.is_none()
        && input.issuer.is_none()
        && input.client_id.is_none()
        && input.default_role.is_some();
    match protocol {
        SsoProtocol::Saml if only_default_role => {
            connection(&state, &tenant).await?;
        }
        SsoProtocol::Saml => {
            let idp = saml_idp(&input)?;
            state.tenants.set_saml(tenant.id, &who.actor(), idp).await?;
        }
        SsoProtocol::Oidc => {
            let (Some(issuer), Some(client_id)) = (&input.issuer, &input.client_id) else {
                return Err(Problem::bad_request("an OIDC connection needs issuer and client_id"));
            };
            if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
                return Err(Problem::bad_request("issuer must be an absolute http(s):// URL"));
            }
            state
                .tenants
                .set_oidc(
                    tenant.id,
                    &who.actor(),
                    json!({"issuer": issuer, "client_id": client_id}),
                )
                .await?;
        }
    }
    if let Some(role) = input.default_role {
        state.tenants.set_default_role(tenant.id, &who.actor(), role).await?;
    }
    Ok(HttpResponse::Ok().json(dto(&state, &tenant, connection(&state, &tenant).await?)))
}

/// Reads the SSO connection with the SP values for the IdP. Any role.
#[utoipa::path(tag = "sso", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = SsoConnectionDto), (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/sso-connection")]
pub async fn get_sso_connection(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    Ok(HttpResponse::Ok().json(dto(&state, &tenant, connection(&state, &tenant).await?)))
}

/// Migrates an OIDC connection to SAML, keeping users, groups and role mappings. Role:
/// account_manager or admin.
#[utoipa::path(tag = "sso", params(("t" = String, Path, description = "tenant slug")), request_body = SsoConnectionInput,
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = SsoConnectionDto), (status = 400, description = "Invalid request (problem details)", body = Problem), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 404, description = "Not found", body = Problem),
              (status = 409, description = "the connection is not OIDC", body = Problem)))]
#[post("/tenants/{t}/sso-connection/migrate-to-saml")]
pub async fn migrate_to_saml(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
    body: web::Json<SsoConnectionInput>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    let current = connection(&state, &tenant).await?;
    if current.protocol != SsoProtocol::Oidc {
        return Err(Problem::conflict(
            "the connection is already SAML: update it with PUT .../sso-connection",
        ));
    }
    let idp = saml_idp(&body)?;
    state.tenants.set_saml(tenant.id, &who.actor(), idp).await?;
    Ok(HttpResponse::Ok().json(dto(&state, &tenant, connection(&state, &tenant).await?)))
}
