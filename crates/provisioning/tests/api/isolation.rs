//! Tenants are isolated: the token names the tenant, and nothing of another tenant is visible.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestResult, assert_scim_error, encode, okta_user, read, spawn_app};

#[tokio::test]
async fn another_tenants_resources_answer_404_on_every_endpoint_and_never_appear_in_lists() -> TestResult {
    let app = spawn_app().await;
    let globex = app.new_tenant("globex").await;
    // Same userName in both tenants is fine.
    let ours = app.create_user("shared@example.test").await;
    let (status, theirs) = read(
        app.scim_as(
            &globex.token,
            Method::POST,
            "/Users",
            Some(&okta_user("shared@example.test")),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{theirs}");
    let their_user = theirs["id"].as_str().unwrap().to_owned();
    let (status, g) = read(
        app.scim_as(
            &globex.token,
            Method::POST,
            "/Groups",
            Some(&json!({"displayName": "Admins", "members": [{"value": their_user}]})),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{g}");
    let their_group = g["id"].as_str().unwrap().to_owned();

    let patch = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
    let user_body = okta_user("shared@example.test");
    let group_body = json!({"displayName": "Admins"});
    let calls: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/Users/{their_user}"), None),
        (Method::PUT, format!("/Users/{their_user}"), Some(user_body)),
        (Method::PATCH, format!("/Users/{their_user}"), Some(patch.clone())),
        (Method::DELETE, format!("/Users/{their_user}"), None),
        (Method::GET, format!("/Groups/{their_group}"), None),
        (Method::PUT, format!("/Groups/{their_group}"), Some(group_body)),
        (
            Method::PATCH,
            format!("/Groups/{their_group}"),
            Some(json!({"Operations": [{"op": "replace", "path": "displayName", "value": "x"}]})),
        ),
        (Method::DELETE, format!("/Groups/{their_group}"), None),
    ];
    for (method, path, body) in calls {
        let (status, res) = read(app.scim(method.clone(), &path, body.as_ref()).await).await;
        assert_scim_error(status, &res, 404, None, &format!("{method} {path}"));
    }
    // Their resources are untouched.
    let (status, still) = read(
        app.scim_as(&globex.token, Method::GET, &format!("/Users/{their_user}"), None)
            .await,
    )
    .await;
    assert_eq!((status, still["active"].clone()), (200, json!(true)));
    let (status, g) = read(
        app.scim_as(&globex.token, Method::GET, &format!("/Groups/{their_group}"), None)
            .await,
    )
    .await;
    assert_eq!(
        (status, g["displayName"].clone(), g["members"].as_array().map(Vec::len)),
        (200, json!("Admins"), Some(1))
    );

    // Lists and filters show only our rows.
    let (_, list) = app.get("/Users").await;
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["Resources"][0]["id"], ours.as_str());
    let (_, list) = app
        .get(&format!("/Users?filter={}", encode(&format!("id eq \"{their_user}\""))))
        .await;
    assert_eq!(list["totalResults"], 0);
    let (_, list) = app
        .get(&format!("/Groups?filter={}", encode("displayName eq \"Admins\"")))
        .await;
    assert_eq!(list["totalResults"], 0);
    let (_, list) = app
        .get(&format!(
            "/Groups?filter={}",
            encode(&format!("members.value eq \"{their_user}\""))
        ))
        .await;
    assert_eq!(list["totalResults"], 0);

    // Their user ids are refused as our members, whichever way they come.
    let (status, body) = app
        .post(
            "/Groups",
            &json!({"displayName": "Mixed", "members": [{"value": their_user}]}),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"), "foreign member on create");
    let group = app.create_group("Ours", &[&ours]).await;
    let add = json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": their_user}]}]});
    let (status, body) = app.patch(&format!("/Groups/{group}"), &add).await;
    assert_scim_error(status, &body, 400, Some("invalidValue"), "foreign member on patch");
    assert_eq!(
        app.member_ids(&group).await,
        vec![ours.clone()],
        "a refused PATCH changes nothing"
    );
    let (status, body) = app
        .put(
            &format!("/Groups/{group}"),
            &json!({"displayName": "Ours", "members": [{"value": their_user}]}),
        )
        .await;
    assert_scim_error(status, &body, 400, Some("invalidValue"), "foreign member on put");
    Ok(())
}
