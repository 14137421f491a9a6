//! The admin API: the account manager's flow of SPEC §1, token rotation, OIDC, authorization,
//! and the OpenAPI document.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, okta_user, read, spawn_app};

const METADATA: &str = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exkFLOW">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>
      <ds:X509Certificate>QUJDREVGR0g=</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://beta.okta.com/app/sso/saml"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;

async fn scim(app: &TestApp, token: &str, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    read(app.scim_as(token, method, path, body).await).await
}

fn role_of<'a>(users: &'a Value, user_name: &str) -> &'a Value {
    users["items"]
        .as_array()
        .and_then(|l| l.iter().find(|u| u["user_name"] == user_name))
        .map_or(&Value::Null, |u| &u["role"])
}

#[tokio::test]
async fn account_manager_sets_up_a_customer_and_verifies_provisioning() -> TestResult {
    let app = spawn_app().await;
    let am = app.admin_token("account_manager");
    let am = Some(am.as_str());

    // 1. Tenant, SAML by metadata, SCIM enabled.
    let (status, tenant, ct) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants",
            Some(&json!({"slug": "beta-corp", "name": "Beta Corp"})),
        )
        .await;
    assert_eq!(status, 201, "{tenant}");
    assert_eq!(ct, "application/json");
    let (status, body, ct) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants",
            Some(&json!({"slug": "beta-corp", "name": "Again"})),
        )
        .await;
    assert_eq!((status, ct.as_str()), (409, "application/problem+json"), "{body}");
    assert_eq!(body["status"], 409);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    let (status, conn, _) = app
        .admin(
            am,
            Method::PUT,
            "/admin/v1/tenants/beta-corp/sso-connection",
            Some(&json!({"idp_metadata_xml": METADATA})),
        )
        .await;
    assert_eq!(status, 200, "{conn}");
    assert_eq!(conn["idp_entity_id"], "http://www.okta.com/exkFLOW");
    assert_eq!(conn["acs_url"], "http://scim.test/sso/beta-corp/acs");
    assert_eq!(conn["sp_entity_id"], "http://scim.test/sso/beta-corp/metadata");
    assert_eq!(conn["scim_enabled"], false);
    let (status, enabled, _) = app
        .admin(am, Method::POST, "/admin/v1/tenants/beta-corp/scim", None)
        .await;
    assert_eq!(status, 201, "{enabled}");
    assert_eq!(enabled["base_url"], "http://scim.test/api/scim/v2");
    let token = enabled["token"].as_str().unwrap_or_default().to_owned();
    let token_id = enabled["token_id"].as_str().unwrap_or_default().to_owned();

    // 2. Okta provisions users and pushes groups.
    let mut ids = std::collections::HashMap::new();
    for name in ["alice", "bob", "carol", "dave", "erin"] {
        let (status, u) = scim(
            &app,
            &token,
            Method::POST,
            "/Users",
            Some(&okta_user(&format!("{name}@beta.test"))),
        )
        .await;
        assert_eq!(status, 201, "{u}");
        ids.insert(name, u["id"].as_str().unwrap_or_default().to_owned());
    }
    let groups = [
        ("Admins", vec!["alice"]),
        ("Support", vec!["bob"]),
        ("Testers", vec!["alice", "carol"]),
        ("Marketing", vec!["dave"]),
    ];
    let mut group_ids = std::collections::HashMap::new();
    for (name, members) in &groups {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": ids[m]})).collect();
        let (status, g) = scim(
            &app,
            &token,
            Method::POST,
            "/Groups",
            Some(&json!({"displayName": name, "members": members})),
        )
        .await;
        assert_eq!(status, 201, "{g}");
        group_ids.insert(*name, g["id"].as_str().unwrap_or_default().to_owned());
    }

    // 3. Preview, then map groups to roles.
    let mapping = json!([{"group": "Admins", "role": "company_admin"}, {"group": "support", "role": "support"}, {"group": "Testers", "role": "tester"}]);
    let (status, preview, _) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants/beta-corp/role-mappings/preview",
            Some(&mapping),
        )
        .await;
    assert_eq!(status, 200, "{preview}");
    let alice_row = preview
        .as_array()
        .and_then(|l| l.iter().find(|r| r["user_name"] == "alice@beta.test"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (
            alice_row["current"].clone(),
            alice_row["proposed"].clone(),
            alice_row["changes"].clone()
        ),
        (Value::Null, json!("company_admin"), json!(true))
    );
    let (status, users, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/beta-corp/users", None)
        .await;
    assert_eq!(status, 200);
    assert!(
        users["items"]
            .as_array()
            .is_some_and(|l| l.iter().all(|u| u["role"].is_null())),
        "a preview writes nothing"
    );
    let (status, stored, _) = app
        .admin(
            am,
            Method::PUT,
            "/admin/v1/tenants/beta-corp/role-mappings",
            Some(&mapping),
        )
        .await;
    assert_eq!(status, 200, "{stored}");
    let (status, bad, ct) = app
        .admin(
            am,
            Method::PUT,
            "/admin/v1/tenants/beta-corp/role-mappings",
            Some(&json!([{"group": "X", "role": "owner"}])),
        )
        .await;
    assert_eq!((status, ct.as_str()), (400, "application/problem+json"));
    assert!(
        bad["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("company_admin, support, tester"),
        "{bad}"
    );

    // 4. Effective roles: precedence, mapping by display name case-insensitively, none.
    let (_, users, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/beta-corp/users", None)
        .await;
    assert_eq!(
        role_of(&users, "alice@beta.test"),
        "company_admin",
        "Admins beats Testers"
    );
    assert_eq!(role_of(&users, "bob@beta.test"), "support");
    assert_eq!(role_of(&users, "carol@beta.test"), "tester");
    assert!(role_of(&users, "dave@beta.test").is_null(), "Marketing is not mapped");
    assert!(role_of(&users, "erin@beta.test").is_null());
    let (_, admins, _) = app
        .admin(
            am,
            Method::GET,
            "/admin/v1/tenants/beta-corp/users?role=company_admin",
            None,
        )
        .await;
    assert_eq!(admins["items"].as_array().map(Vec::len), Some(1));
    let (_, found, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/beta-corp/users?q=CAROL", None)
        .await;
    assert_eq!(found["items"][0]["user_name"], "carol@beta.test");

    // A membership change through SCIM recomputes the role in the same transaction.
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": ids["dave"]}]}]});
    let (status, _) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Groups/{}", group_ids["Support"]),
        Some(&add),
    )
    .await;
    assert_eq!(status, 204);
    let (_, dave, _) = app
        .admin(
            am,
            Method::GET,
            &format!("/admin/v1/tenants/beta-corp/users/{}", ids["dave"]),
            None,
        )
        .await;
    assert_eq!(dave["role"], "support");
    assert!(
        dave["groups"]
            .as_array()
            .is_some_and(|g| g.contains(&json!("Support")) && g.contains(&json!("Marketing")))
    );

    // A default role reaches users in no mapped group.
    let (status, conn, _) = app
        .admin(
            am,
            Method::PUT,
            "/admin/v1/tenants/beta-corp/sso-connection",
            Some(&json!({"default_role": "tester"})),
        )
        .await;
    assert_eq!((status, conn["default_role"].clone()), (200, json!("tester")), "{conn}");
    assert_eq!(
        conn["idp_entity_id"], "http://www.okta.com/exkFLOW",
        "the IdP settings are kept"
    );
    let (_, users, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/beta-corp/users", None)
        .await;
    assert_eq!(role_of(&users, "erin@beta.test"), "tester");

    // 5. Deactivation is reflected; groups show counts and mapped roles; the report adds up.
    let mut carol = okta_user("carol@beta.test");
    carol["active"] = json!(false);
    let (status, _) = scim(
        &app,
        &token,
        Method::PUT,
        &format!("/Users/{}", ids["carol"]),
        Some(&carol),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = scim(
        &app,
        &token,
        Method::GET,
        "/Groups?filter=displayName%20eq%20%22nope%22%20and",
        None,
    )
    .await;
    assert_eq!(status, 400, "a failed SCIM call shows in the report");
    let (_, groups_view, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/beta-corp/groups", None)
        .await;
    let testers = groups_view
        .as_array()
        .and_then(|l| l.iter().find(|g| g["display_name"] == "Testers"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (testers["member_count"].clone(), testers["mapped_role"].clone()),
        (json!(2), json!("tester"))
    );
    let (status, members, _) = app
        .admin(
            am,
            Method::GET,
            &format!("/admin/v1/tenants/beta-corp/groups/{}/members", group_ids["Testers"]),
            None,
        )
        .await;
    assert_eq!((status, members.as_array().map(Vec::len)), (200, Some(2)));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (status, report, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/beta-corp/provisioning-report", None)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["users_active"], 4);
    assert_eq!(report["users_inactive"], 1);
    assert_eq!(report["groups"], 4);
    assert_eq!(report["memberships"], 6);
    assert_eq!(
        report["users_per_role"],
        json!({"company_admin": 1, "support": 2, "tester": 2})
    );
    assert_eq!(report["groups_without_mapping"], json!(["Marketing"]));
    assert_eq!(report["users_without_role_count"], 0);
    assert_eq!(report["last_scim_request"]["method"], "GET");
    assert_eq!(report["recent_scim_errors"][0]["status"], 400);
    assert_eq!(report["recent_scim_errors"][0]["scim_type"], "invalidFilter");
    assert!(!report.to_string().contains("nope"), "no query strings in the log");

    // 6. The audit trail (written by the worker) names the actors.
    app.drain().await;
    let (status, audit, _) = app
        .admin(
            am,
            Method::GET,
            "/admin/v1/tenants/beta-corp/audit-events?limit=200",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let items = audit["items"].as_array().cloned().unwrap_or_default();
    let has = |kind: &str, actor: &str| items.iter().any(|e| e["type"] == kind && e["actor"] == actor);
    assert!(has("tenant.created", "admin:am@betatesting.test"));
    assert!(has("sso_connection.updated", "admin:am@betatesting.test"));
    assert!(has("scim_token.issued", "admin:am@betatesting.test"));
    assert!(has("role_mapping.updated", "admin:am@betatesting.test"));
    assert!(has("user.created", &format!("scim_token:{token_id}")));
    assert!(has("user.deactivated", &format!("scim_token:{token_id}")));
    assert!(
        has("user.role_changed", "admin:am@betatesting.test"),
        "mapping changes re-role users"
    );
    assert!(
        has("user.role_changed", &format!("scim_token:{token_id}")),
        "membership changes re-role users"
    );
    let (_, only, _) = app
        .admin(
            am,
            Method::GET,
            "/admin/v1/tenants/beta-corp/audit-events?type=user.deactivated",
            None,
        )
        .await;
    assert_eq!(only["items"].as_array().map(Vec::len), Some(1));
    let newest_first: Vec<&str> = items.iter().filter_map(|e| e["id"].as_str()).collect();
    let mut sorted = newest_first.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(newest_first, sorted, "newest first");
    let (_, feed, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/beta-corp/events?limit=3", None)
        .await;
    let cursor = feed["next_cursor"].as_str().unwrap_or_default().to_owned();
    let (_, next, _) = app
        .admin(
            am,
            Method::GET,
            &format!("/admin/v1/tenants/beta-corp/events?after={cursor}&limit=3"),
            None,
        )
        .await;
    assert_ne!(feed["items"][0]["id"], next["items"][0]["id"]);
    assert!(
        next["items"][0]["id"].as_str() > Some(cursor.as_str()),
        "the feed moves forward"
    );
    Ok(())
}

#[tokio::test]
async fn token_rotation_through_the_admin_api() -> TestResult {
    let app = spawn_app().await;
    let am = app.admin_token("account_manager");
    let am = Some(am.as_str());
    let (status, second, _) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants/acme/scim/tokens",
            Some(&json!({"label": "rotation", "expires_in_days": 90})),
        )
        .await;
    assert_eq!(status, 201, "{second}");
    let second_token = second["token"].as_str().unwrap_or_default().to_owned();
    for t in [&app.tenant.token, &second_token] {
        assert_eq!(app.scim_as(t, Method::GET, "/Users", None).await.status(), 200);
    }
    // last_used_at is gathered in memory and written in batches, not on every request.
    let (_, before, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/acme/scim/tokens", None)
        .await;
    assert!(
        before
            .as_array()
            .is_some_and(|l| l.iter().all(|t| t["last_used_at"].is_null())),
        "{before}"
    );
    app.auth.flush_last_used().await;
    let (status, list, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/acme/scim/tokens", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().all(|t| t["last_used_at"].is_string())),
        "{list}"
    );
    let text = list.to_string();
    assert!(
        !text.contains(&app.tenant.token[7..]) && !text.contains(&second_token[7..]),
        "no secret is listed"
    );
    assert!(list.as_array().is_some_and(|l| {
        l.iter()
            .any(|t| t["label"] == "rotation" && t["expires_at"].is_string())
    }));
    let (status, _, _) = app
        .admin(
            am,
            Method::DELETE,
            &format!("/admin/v1/tenants/acme/scim/tokens/{}", app.tenant.token_id),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        app.scim(Method::GET, "/Users", None).await.status(),
        401,
        "refused at once"
    );
    assert_eq!(
        app.scim_as(&second_token, Method::GET, "/Users", None).await.status(),
        200
    );
    let (_, list, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/acme/scim/tokens", None)
        .await;
    assert!(
        list.as_array()
            .is_some_and(|l| l.iter().any(|t| t["revoked_at"].is_string()))
    );
    let (status, body, _) = app.admin(am, Method::POST, "/admin/v1/tenants/acme/scim", None).await;
    assert_eq!(
        status, 409,
        "enabling twice does not mint a second 'initial' token: {body}"
    );
    // Suspending the tenant stops its tokens at once; reactivating brings them back.
    let (status, t, _) = app
        .admin(
            am,
            Method::PATCH,
            "/admin/v1/tenants/acme",
            Some(&json!({"status": "suspended"})),
        )
        .await;
    assert_eq!((status, t["status"].clone()), (200, json!("suspended")));
    assert_eq!(
        app.scim_as(&second_token, Method::GET, "/Users", None).await.status(),
        401,
        "suspended"
    );
    let (status, _, _) = app
        .admin(
            am,
            Method::PATCH,
            "/admin/v1/tenants/acme",
            Some(&json!({"status": "active"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.scim_as(&second_token, Method::GET, "/Users", None).await.status(),
        200,
        "active again"
    );
    // Disabling SCIM revokes every token.
    let (status, _, _) = app.admin(am, Method::DELETE, "/admin/v1/tenants/acme/scim", None).await;
    assert_eq!(status, 204);
    assert_eq!(
        app.scim_as(&second_token, Method::GET, "/Users", None).await.status(),
        401
    );
    let (status, _, _) = app
        .admin(am, Method::POST, "/admin/v1/tenants/acme/scim/tokens", Some(&json!({})))
        .await;
    assert_eq!(status, 409, "no tokens while SCIM is off");
    Ok(())
}

#[tokio::test]
async fn oidc_connections_refuse_scim_until_migrated_to_saml() -> TestResult {
    let app = spawn_app().await;
    let am = app.admin_token("admin");
    let am = Some(am.as_str());
    let (status, _, _) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants",
            Some(&json!({"slug": "oidc-co", "name": "OIDC Co"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body, _) = app
        .admin(am, Method::POST, "/admin/v1/tenants/oidc-co/scim", None)
        .await;
    assert_eq!(status, 409, "no connection at all: {body}");
    let oidc = json!({"protocol": "oidc", "issuer": "https://login.oidc.test", "client_id": "abc"});
    let (status, conn, _) = app
        .admin(am, Method::PUT, "/admin/v1/tenants/oidc-co/sso-connection", Some(&oidc))
        .await;
    assert_eq!(
        (status, conn["protocol"].clone(), conn["oidc_issuer"].clone()),
        (200, json!("oidc"), json!("https://login.oidc.test"))
    );
    let (status, body, ct) = app
        .admin(am, Method::POST, "/admin/v1/tenants/oidc-co/scim", None)
        .await;
    assert_eq!((status, ct.as_str()), (409, "application/problem+json"));
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("OIDC") && detail.contains("migrate") && detail.contains("SAML"),
        "{detail}"
    );
    // Mappings survive the migration.
    let (status, _, _) = app
        .admin(
            am,
            Method::PUT,
            "/admin/v1/tenants/oidc-co/role-mappings",
            Some(&json!([{"group": "Admins", "role": "company_admin"}])),
        )
        .await;
    assert_eq!(status, 200);
    let saml = json!({"idp_entity_id": "urn:idp", "idp_sso_url": "https://idp.test/sso",
        "idp_certificates": ["-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n"]});
    let (status, conn, _) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants/oidc-co/sso-connection/migrate-to-saml",
            Some(&saml),
        )
        .await;
    assert_eq!(status, 200, "{conn}");
    assert_eq!(conn["protocol"], "saml");
    assert_eq!(
        conn["idp_certificates"].as_array().map(Vec::len),
        Some(2),
        "several certificates for rotation"
    );
    let (status, _, _) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants/oidc-co/sso-connection/migrate-to-saml",
            Some(&saml),
        )
        .await;
    assert_eq!(status, 409, "already SAML");
    let (_, mappings, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/oidc-co/role-mappings", None)
        .await;
    assert_eq!(mappings, json!([{"group": "Admins", "role": "company_admin"}]));
    let (status, enabled, _) = app
        .admin(am, Method::POST, "/admin/v1/tenants/oidc-co/scim", None)
        .await;
    assert_eq!(status, 201, "{enabled}");
    // Switching back to OIDC while SCIM is on is refused.
    let (status, _, _) = app
        .admin(am, Method::PUT, "/admin/v1/tenants/oidc-co/sso-connection", Some(&oidc))
        .await;
    assert_eq!(status, 409);
    Ok(())
}

#[tokio::test]
async fn every_admin_route_enforces_authentication_and_roles() -> TestResult {
    let app = spawn_app().await;
    let group = app.create_group("Ops", &[]).await;
    let user = app.create_user("matrix@acme.test").await;
    let t = "/admin/v1/tenants/acme";
    let saml = json!({"idp_metadata_xml": METADATA});
    // (method, path, body, is_write)
    let routes: Vec<(Method, String, Option<Value>, bool)> = vec![
        (
            Method::POST,
            "/admin/v1/tenants".into(),
            Some(json!({"slug": "m-new", "name": "N"})),
            true,
        ),
        (Method::GET, "/admin/v1/tenants".into(), None, false),
        (Method::GET, t.into(), None, false),
        (Method::PATCH, t.into(), Some(json!({"name": "Acme 2"})), true),
        (Method::PUT, format!("{t}/sso-connection"), Some(saml.clone()), true),
        (Method::GET, format!("{t}/sso-connection"), None, false),
        (
            Method::POST,
            format!("{t}/sso-connection/migrate-to-saml"),
            Some(saml),
            true,
        ),
        (Method::POST, format!("{t}/scim"), None, true),
        (Method::DELETE, format!("{t}/scim"), None, true),
        (Method::GET, format!("{t}/scim/tokens"), None, false),
        (Method::POST, format!("{t}/scim/tokens"), Some(json!({})), true),
        (
            Method::DELETE,
            format!("{t}/scim/tokens/{}", uuid::Uuid::now_v7()),
            None,
            true,
        ),
        (Method::GET, "/admin/v1/roles".into(), None, false),
        (Method::GET, format!("{t}/role-mappings"), None, false),
        (Method::PUT, format!("{t}/role-mappings"), Some(json!([])), true),
        (
            Method::POST,
            format!("{t}/role-mappings/preview"),
            Some(json!([])),
            false,
        ),
        (Method::GET, format!("{t}/users"), None, false),
        (Method::GET, format!("{t}/users/{user}"), None, false),
        (Method::GET, format!("{t}/groups"), None, false),
        (Method::GET, format!("{t}/groups/{group}/members"), None, false),
        (Method::GET, format!("{t}/provisioning-report"), None, false),
        (Method::GET, format!("{t}/audit-events"), None, false),
        (Method::GET, format!("{t}/events"), None, false),
        (Method::GET, format!("{t}/webhooks"), None, false),
        (
            Method::POST,
            format!("{t}/webhooks"),
            Some(json!({"url": "http://127.0.0.1:9/hook"})),
            true,
        ),
        (
            Method::DELETE,
            format!("{t}/webhooks/{}", uuid::Uuid::now_v7()),
            None,
            true,
        ),
        (
            Method::GET,
            format!("{t}/webhooks/{}/deliveries", uuid::Uuid::now_v7()),
            None,
            false,
        ),
        (
            Method::POST,
            format!(
                "{t}/webhooks/{}/deliveries/{}/replay",
                uuid::Uuid::now_v7(),
                uuid::Uuid::now_v7()
            ),
            None,
            true,
        ),
    ];
    // Every route the server registers is in this table (and nothing else is in the document).
    let (_, doc, _) = app.admin(None, Method::GET, "/admin/openapi.json", None).await;
    let documented: usize = doc["paths"]
        .as_object()
        .map_or(0, |p| p.values().map(|v| v.as_object().map_or(0, |o| o.len())).sum());
    assert_eq!(documented, routes.len(), "the matrix covers every documented operation");

    let settings = crate::helpers::settings(app.database_url.clone());
    let jwt = settings.jwt()?;
    let expired = jwt.mint("x@y", admin_api::auth::AdminRole::Admin, chrono::Duration::hours(-2))?;
    let wrong_key = admin_api::auth::JwtConfig::hs256("a-completely-different-32-byte-key!!", None, None)?.mint(
        "x@y",
        admin_api::auth::AdminRole::Admin,
        chrono::Duration::hours(1),
    )?;
    let valid = jwt.mint("x@y", admin_api::auth::AdminRole::Admin, chrono::Duration::hours(1))?;
    let payload = valid.split('.').nth(1).unwrap_or_default();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let bad_tokens = [
        ("garbage", "garbage".to_owned()),
        ("expired", expired),
        ("wrong key", wrong_key),
        ("alg none", alg_none),
    ];
    let viewer = app.admin_token("viewer");
    let manager = app.admin_token("account_manager");
    let admin = app.admin_token("admin");
    for (method, path, body, is_write) in &routes {
        let (status, res, ct) = app.admin(None, method.clone(), path, body.as_ref()).await;
        assert_eq!(
            (status, ct.as_str()),
            (401, "application/problem+json"),
            "anonymous {method} {path}: {res}"
        );
        for (name, token) in &bad_tokens {
            let (status, _, _) = app.admin(Some(token), method.clone(), path, body.as_ref()).await;
            assert_eq!(status, 401, "{name} {method} {path}");
        }
        let (status, res, _) = app.admin(Some(&viewer), method.clone(), path, body.as_ref()).await;
        if *is_write {
            assert_eq!(status, 403, "viewer {method} {path}: {res}");
        } else {
            // Reads succeed (404 only where the path names a resource that does not exist).
            let ok = status == 200 || (status == 404 && path.contains("/webhooks/"));
            assert!(ok, "viewer {method} {path}: {status} {res}");
        }
    }
    for token in [&manager, &admin] {
        for (method, path, body, _) in &routes {
            let (status, res, _) = app.admin(Some(token), method.clone(), path, body.as_ref()).await;
            assert!(
                status != 401 && status != 403 && status < 500,
                "{method} {path}: {status} {res}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn openapi_document_matches_the_committed_one_and_swagger_ui_is_self_hosted() -> TestResult {
    let app = spawn_app().await;
    let (status, doc, _) = app.admin(None, Method::GET, "/admin/openapi.json", None).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let generated = serde_json::to_string_pretty(&admin_api::openapi())? + "\n";
    assert_eq!(
        serde_json::from_str::<Value>(&generated)?,
        doc,
        "the served document is the generated one"
    );
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../admin-api/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed_path, &generated)?;
    }
    let committed = std::fs::read_to_string(committed_path).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/admin-api/openapi.json is stale: run UPDATE_OPENAPI=1 cargo nextest run -E 'test(openapi_document)'"
    );

    let res = app
        .client
        .get(format!("{}/admin/docs/", app.admin_address))
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    let html = res.text().await?;
    assert!(html.contains("swagger-ui"), "{html}");
    let mut assets = 0;
    for src in html.split("src=\"").skip(1).chain(html.split("href=\"").skip(1)) {
        assets += 1;
        let url = src.split('"').next().unwrap_or_default();
        assert!(
            !url.starts_with("http") && !url.starts_with("//"),
            "outside URL in the page: {url}"
        );
        let asset = app
            .client
            .get(format!(
                "{}/admin/docs/{}",
                app.admin_address,
                url.trim_start_matches("./")
            ))
            .send()
            .await?;
        assert_eq!(asset.status(), 200, "asset {url}");
    }
    assert!(
        assets >= 3,
        "the page loads its scripts and styles from the binary ({assets} found)"
    );
    let init = app
        .client
        .get(format!("{}/admin/docs/swagger-initializer.js", app.admin_address))
        .send()
        .await?;
    assert_eq!(init.status(), 200);
    assert!(init.text().await?.contains("/admin/openapi.json"));
    Ok(())
}
