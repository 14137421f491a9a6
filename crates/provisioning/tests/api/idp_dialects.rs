//! What Entra ID, OneLogin and JumpCloud send (idp-wire.md §10-12), replayed in order, with the
//! stored result checked after each step. Okta's sequences are in `okta.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, encode, read, spawn_app};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": list})
}

async fn user(app: &TestApp, id: &str) -> Value {
    let (status, body) = app.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn entra_id_provisioning_cycle() -> TestResult {
    let app = spawn_app().await;
    // Test connection: a random GUID userName and a group lookup, both empty lists.
    for path in [
        format!(
            "/Users?filter={}",
            encode("userName eq \"7e2f5c1a-0b7d-4a54-9a55-3c8a1a1c4b11\"")
        ),
        format!(
            "/Groups?excludedAttributes=members&filter={}",
            encode("displayName eq \"Sales\"")
        ),
    ] {
        let (status, body) = app.get(&path).await;
        assert_eq!(
            (status, body["totalResults"].clone(), body["Resources"].clone()),
            (200, json!(0), json!([]))
        );
    }
    // Create user: meta and roles in the request, enterprise schema listed.
    let (status, created) = app
        .post(
            "/Users",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "Test_User_ab12@contoso.test",
                "active": true, "emails": [{"primary": true, "type": "work", "value": "Test_User_ab12@testuser.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                "roles": []}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // Matching by externalId (exact) and by the Entra email filter form.
    for filter in [
        "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
        "emails[type eq \"work\"].value eq \"test_user_ab12@testuser.com\"",
        "userName eq \"test_user_ab12@contoso.test\" and active eq true",
    ] {
        let (_, body) = app.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(body["totalResults"], 1, "{filter}: {body}");
    }
    // The default job's PATCH: capitalised ops, string booleans, filtered paths on values the
    // user does not have yet, URN paths, and a no-path value with dotted and URN keys.
    let (status, body) = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@contoso.test"},
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                {"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"},
                {"op": "Add", "path": format!("{ENT}:employeeNumber"), "value": "E-1"},
                {"op": "Replace", "path": format!("{ENT}:manager"), "value": {"value": "m-42"}},
                {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
                    format!("{ENT}:department"): "Aklq"}},
                {"op": "Add", "path": "title", "value": "Engineer"},
                {"op": "Add", "path": "title", "value": "Senior Engineer"},
            ])),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let u = user(&app, &id).await;
    assert_eq!(u["emails"][0]["value"], "new@contoso.test");
    assert_eq!(u["phoneNumbers"], json!([{"type": "mobile", "value": "+1 555 0100"}]));
    assert_eq!(u["addresses"][0]["streetAddress"], "1 Microsoft Way");
    assert_eq!(
        u[ENT],
        json!({"employeeNumber": "E-1", "manager": {"value": "m-42"}, "department": "Aklq"})
    );
    assert_eq!(
        (u["displayName"].clone(), u["name"]["givenName"].clone()),
        (json!("Bjfe"), json!("Kkom"))
    );
    assert_eq!(
        u["title"], "Senior Engineer",
        "Add on a single-valued attribute replaces it"
    );
    // The new values are filterable at once (JSON document paths).
    for filter in [
        "phoneNumbers[type eq \"mobile\" and value sw \"+1\"]",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"m-42\"",
    ] {
        let (_, body) = app.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(body["totalResults"], 1, "{filter}: {body}");
    }
    // Disable with a string boolean; the user stays readable and filterable.
    let (status, _) = app
        .patch(
            &format!("/Users/{id}"),
            &ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(user(&app, &id).await["active"], false);
    let (_, body) = app.get(&format!("/Users?filter={}", encode("active eq false"))).await;
    assert_eq!(body["totalResults"], 1);

    // Groups: the extra Microsoft schema URN, no members key; unique displayName.
    let (status, group) = app
        .post(
            "/Groups",
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Sales",
                    "meta": {"resourceType": "Group"}}),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    let (status, _) = app.post("/Groups", &json!({"displayName": "SALES"})).await;
    assert_eq!(status, 409, "Entra requires a unique group displayName");
    // Member add with "$ref": null, rename, then value-array removal; each answers 204.
    for (list, want_members) in [
        (
            json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}]}]),
            vec![id.clone()],
        ),
        (
            json!([{"op": "Replace", "path": "displayName", "value": "Sales EMEA"}]),
            vec![id.clone()],
        ),
        (
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": id}]}]),
            vec![],
        ),
    ] {
        let res = app
            .scim(Method::PATCH, &format!("/Groups/{gid}"), Some(&ops(list.clone())))
            .await;
        assert_eq!(res.status(), 204, "{list}");
        assert!(res.headers().contains_key("etag"));
        assert_eq!(app.member_ids(&gid).await, want_members, "{list}");
    }
    let (_, g) = app.get(&format!("/Groups/{gid}?excludedAttributes=members")).await;
    assert_eq!(
        (g["displayName"].clone(), g.get("members")),
        (json!("Sales EMEA"), None)
    );
    // Hard delete after the soft-delete window.
    assert_eq!(app.delete(&format!("/Users/{id}")).await, 204);
    assert_eq!(app.get(&format!("/Users/{id}")).await.0, 404);
    assert_eq!(app.delete(&format!("/Groups/{gid}")).await, 204);
    Ok(())
}

#[tokio::test]
async fn onelogin_templates_with_strings_empty_values_meta_and_null_id() -> TestResult {
    let app = spawn_app().await;
    // A SCIM JSON Template body: string boolean, unmapped parameters as "", id null, meta.
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "id": null, "userName": "ol.user@acme.test", "active": "true", "title": "", "nickName": "",
        "name": {"givenName": "One", "familyName": "", "middleName": ""},
        "emails": [{"value": "ol.user@acme.test", "type": "work", "primary": "true"}],
        "phoneNumbers": [{"value": "", "type": "mobile"}],
        "meta": {"created": "not a date", "resourceType": "User"},
        ENT: {"department": "", "employeeNumber": "42"}});
    // An empty User-Agent (seen from OneLogin) is fine.
    let res = app
        .client
        .post(format!("{}/Users", app.base))
        .bearer_auth(&app.tenant.token)
        .header("User-Agent", "")
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await?;
    let (status, created) = read(res).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let u = user(&app, &id).await;
    assert_eq!(u["active"], true, "string boolean stored as a boolean");
    assert_eq!(u["emails"][0]["primary"], true);
    for absent in ["title", "nickName"] {
        assert!(u.get(absent).is_none(), "empty '{absent}' is no value: {u}");
    }
    assert!(
        u["phoneNumbers"][0].get("value").is_none(),
        "an empty value is no value: {u}"
    );
    assert_eq!(u["name"], json!({"givenName": "One"}));
    assert_eq!(u[ENT], json!({"employeeNumber": "42"}));
    let (_, body) = app
        .get(&format!("/Users?filter={}", encode("title pr or nickName pr")))
        .await;
    assert_eq!(body["totalResults"], 0, "empty strings are not present");
    // Update with the same template, then the Delete User workflow.
    let mut update = body_with(&created, &[("active", json!("false")), ("title", json!("Ops"))]);
    update["id"] = Value::Null;
    let (status, res) = app.put(&format!("/Users/{id}"), &update).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(
        (res["active"].clone(), res["title"].clone()),
        (json!(false), json!("Ops"))
    );
    assert_eq!(app.delete(&format!("/Users/{id}")).await, 204);
    Ok(())
}

fn body_with(base: &Value, fields: &[(&str, Value)]) -> Value {
    let mut b = base.clone();
    for (k, v) in fields {
        b[*k] = v.clone();
    }
    b
}

#[tokio::test]
async fn jumpcloud_connection_test_and_group_push() -> TestResult {
    let app = spawn_app().await;
    // "Test Connection" writes: a test user and a test group, then deletes both.
    let user_id = app.create_user("jc-test-user@acme.test").await;
    let group_id = app.create_group("JumpCloud Test Group", &[&user_id]).await;
    assert_eq!(app.delete(&format!("/Groups/{group_id}")).await, 204);
    assert_eq!(app.delete(&format!("/Users/{user_id}")).await, 204);
    let (_, users) = app.get("/Users").await;
    let (_, groups) = app.get("/Groups").await;
    assert_eq!(
        (users["totalResults"].clone(), groups["totalResults"].clone()),
        (json!(0), json!(0))
    );
    // The same names can be used again right away.
    let a = app.create_user("jc-test-user@acme.test").await;
    let b = app.create_user("jc-other@acme.test").await;
    let g = app.create_group("JumpCloud Test Group", &[&a, &b]).await;
    // Member removal Azure-style: path "members" with a value list removes only those.
    let (status, _) = app
        .patch(
            &format!("/Groups/{g}"),
            &ops(json!([{"op": "remove", "path": "members", "value": [{"value": a}]}])),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.member_ids(&g).await, vec![b.clone()]);
    // Deleting a member user removes the membership too.
    assert_eq!(app.delete(&format!("/Users/{b}")).await, 204);
    assert!(app.member_ids(&g).await.is_empty());
    Ok(())
}
