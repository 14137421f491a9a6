//! Every write leaves exactly one outbox event of the right type, tenant and actor.

use serde_json::json;

use crate::helpers::{TestResult, okta_user, spawn_app};

#[tokio::test]
async fn each_scim_write_leaves_exactly_one_event_of_the_right_type_and_tenant() -> TestResult {
    let app = spawn_app().await;
    let other = app.new_tenant("globex").await;
    let t = app.tenant.id;
    let baseline = app.events(t).await.len();
    let actor = format!("scim_token:{}", app.tenant.token_id);
    let id = app.create_user("ev@acme.test").await;
    let patch = |ops| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let mut user = okta_user("ev@acme.test");
    user["title"] = json!("Engineer");
    let (status, _) = app.put(&format!("/Users/{id}"), &user).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "replace", "path": "active", "value": true}])),
        )
        .await;
    assert_eq!(status, 200);
    let mut want: Vec<String> = ["user.created", "user.updated", "user.deactivated", "user.reactivated"]
        .map(String::from)
        .to_vec();
    // A write that changes nothing emits nothing.
    let (status, _) = app
        .patch(
            &format!("/Users/{id}"),
            &patch(json!([{"op": "replace", "path": "active", "value": true}])),
        )
        .await;
    assert_eq!(status, 200);
    let group = app.create_group("Ops", &[]).await;
    want.push("group.created".into());
    let (status, _) = app
        .patch(
            &format!("/Groups/{group}"),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])),
        )
        .await;
    assert_eq!(status, 204);
    want.push("group.member_added".into());
    let (status, _) = app
        .patch(
            &format!("/Groups/{group}"),
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])),
        )
        .await;
    assert_eq!(status, 204, "adding an existing member is a no-op");
    let (status, _) = app
        .patch(
            &format!("/Groups/{group}"),
            &patch(json!([{"op": "replace", "path": "displayName", "value": "Operations"}])),
        )
        .await;
    assert_eq!(status, 204);
    want.push("group.updated".into());
    let (status, _) = app
        .patch(
            &format!("/Groups/{group}"),
            &patch(json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}])),
        )
        .await;
    assert_eq!(status, 204);
    want.push("group.member_removed".into());
    assert_eq!(app.delete(&format!("/Groups/{group}")).await, 204);
    want.push("group.deleted".into());
    assert_eq!(app.delete(&format!("/Users/{id}")).await, 204);
    want.push("user.deleted".into());

    let events = app.events(t).await;
    let got: Vec<String> = events[baseline..]
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, want);
    for e in &events[baseline..] {
        assert_eq!(e["tenant_id"], t.to_string());
        assert_eq!(e["actor"], actor.as_str());
        assert!(
            e["id"]
                .as_str()
                .is_some_and(|i| uuid::Uuid::parse_str(i).is_ok_and(|u| u.get_version_num() == 7))
        );
        assert!(e["occurred_at"].is_string() && e["resource"]["id"].is_string());
    }
    assert!(
        !app.event_types(other.id)
            .await
            .iter()
            .any(|t| t.starts_with("user.") || t.starts_with("group.")),
        "the other tenant's feed has none of these"
    );
    Ok(())
}
