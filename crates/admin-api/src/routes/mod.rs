//! The admin route table.

mod directory;
mod roles;
mod scim;
mod sso;
mod tenants;
mod webhooks;

/// A `cursor` query parameter: the id of the last item already seen (empty means none).
fn cursor(c: Option<&str>) -> Result<Option<uuid::Uuid>, crate::problem::Problem> {
    c.filter(|c| !c.is_empty())
        .map(|c| uuid::Uuid::parse_str(c).map_err(|_| crate::problem::Problem::bad_request("invalid cursor")))
        .transpose()
}

/// A `limit` query parameter: 1-200, default 50.
fn limit(l: Option<u64>) -> u64 {
    l.unwrap_or(50).clamp(1, 200)
}

/// The cursor of the next page: the last item's id when the page is full.
fn next_cursor<T>(items: &[T], limit: u64, id: impl Fn(&T) -> Option<String>) -> Option<String> {
    if items.len() as u64 == limit {
        items.last().and_then(id)
    } else {
        None
    }
}

/// The id of an event envelope.
fn event_id(e: &serde_json::Value) -> Option<String> {
    e["id"].as_str().map(str::to_owned)
}

/// Registers every handler (through `service`, so each is in the OpenAPI document).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(tenants::create_tenant)
        .service(tenants::list_tenants)
        .service(tenants::get_tenant)
        .service(tenants::update_tenant)
        .service(sso::put_sso_connection)
        .service(sso::get_sso_connection)
        .service(sso::migrate_to_saml)
        .service(scim::enable_scim)
        .service(scim::disable_scim)
        .service(scim::list_tokens)
        .service(scim::issue_token)
        .service(scim::revoke_token)
        .service(roles::list_roles)
        .service(roles::get_role_mappings)
        .service(roles::put_role_mappings)
        .service(roles::preview_role_mappings)
        .service(directory::list_users)
        .service(directory::get_user)
        .service(directory::list_groups)
        .service(directory::list_members)
        .service(directory::provisioning_report)
        .service(directory::audit_events)
        .service(directory::event_feed)
        .service(webhooks::list_webhooks)
        .service(webhooks::create_webhook)
        .service(webhooks::delete_webhook)
        .service(webhooks::list_deliveries)
        .service(webhooks::replay_delivery);
}
