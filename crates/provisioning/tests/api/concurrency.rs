//! Concurrent writes: uniqueness holds and no membership is lost.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestResult, okta_user, spawn_app};

#[tokio::test]
async fn twenty_concurrent_creates_of_one_user_name_give_one_201_and_nineteen_409() -> TestResult {
    let app = spawn_app().await;
    let body = okta_user("race@acme.test");
    let statuses: Vec<u16> = join_all((0..20).map(|i| {
        let mut b = body.clone();
        if i % 2 == 1 {
            b["userName"] = json!("RACE@acme.test");
        }
        let app = &app;
        async move { app.scim(Method::POST, "/Users", Some(&b)).await.status().as_u16() }
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let (_, list) = app.get("/Users").await;
    assert_eq!(list["totalResults"], 1);
    Ok(())
}

#[tokio::test]
async fn eight_clients_patching_different_users_into_one_group_lose_no_member() -> TestResult {
    let app = spawn_app().await;
    let group = app.create_group("Testers", &[]).await;
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(app.create_user(&format!("tester{i}@acme.test")).await);
    }
    for round in 0..3 {
        let batch: Vec<String> = if round == 0 { users.clone() } else { Vec::new() };
        let statuses: Vec<u16> = join_all(batch.iter().map(|u| {
            let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": u}]},
                               {"op": "replace", "value": {"id": group, "displayName": "Testers"}}]});
            let app = &app;
            let group = &group;
            async move {
                app.scim(Method::PATCH, &format!("/Groups/{group}"), Some(&patch))
                    .await
                    .status()
                    .as_u16()
            }
        }))
        .await;
        assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    }
    let mut want = users.clone();
    want.sort();
    assert_eq!(app.member_ids(&group).await, want);
    let (_, body) = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(
        body["meta"]["version"], "W/\"9\"",
        "one version step per change, none lost"
    );
    Ok(())
}
