//! The admin route table.

mod directory;
mod roles;
mod scim;
mod sso;
mod tenants;
mod webhooks;

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
