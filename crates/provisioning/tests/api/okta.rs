//! The Okta lifecycle of idp-wire.md §2-9, in the order Okta sends it.

use serde_json::{Value, json};

use crate::helpers::{TestResult, assert_scim_error, encode, okta_user, spawn_app};

#[tokio::test]
async fn connector_probe_on_an_empty_tenant_gets_an_empty_list_response_with_integers() -> TestResult {
    let app = spawn_app().await;
    let res = app
        .scim(reqwest::Method::GET, "/Users?startIndex=1&count=2", None)
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/scim+json");
    let body: Value = res.json().await?;
    assert_eq!(
        body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
               "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
    Ok(())
}

#[tokio::test]
async fn okta_user_lifecycle_from_assignment_to_deactivation_and_back() -> TestResult {
    let app = spawn_app().await;
    let user_name = "test.user@okta.local";

    // Existence check before create: 200 with an empty list (Okta's '+' encoding too).
    let (status, body) = app
        .get("/Users?filter=userName+eq+%22test.user%40okta.local%22&startIndex=1&count=100")
        .await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(0)));

    // Create with Okta's body.
    let res = app
        .scim(reqwest::Method::POST, "/Users", Some(&okta_user(user_name)))
        .await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str()?.to_owned();
    let etag = res.headers()["etag"].to_str()?.to_owned();
    let created: Value = res.json().await?;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("http://scim.test/api/scim/v2/Users/{id}"));
    assert_eq!(created["meta"]["location"], location);
    assert_eq!(created["meta"]["version"], etag);
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["userName"], user_name);
    assert_eq!(created["active"], true);
    assert_eq!(created["name"], json!({"givenName": "Test", "familyName": "User"}));
    assert_eq!(
        created["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Sales"
    );
    assert_eq!(created["groups"], json!([]));
    assert!(created.get("password").is_none(), "the password is never returned");
    assert!(
        created["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"))
    );

    // A case variant of the userName is the same user: 409 uniqueness.
    let (status, body) = app.post("/Users", &okta_user("TEST.USER@OKTA.LOCAL")).await;
    assert_scim_error(status, &body, 409, Some("uniqueness"), "case-variant userName");

    // The filter is case-insensitive on userName too.
    let (status, body) = app
        .get(&format!(
            "/Users?filter={}",
            encode("userName eq \"TEST.USER@okta.local\"")
        ))
        .await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(1)));
    assert_eq!(body["Resources"][0]["id"], id.as_str());

    // GET, then AIW profile update: PUT of the whole object as Okta read it, edited.
    let (status, mut user) = app.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200);
    user["name"] = json!({"givenName": "Another", "middleName": "Excited", "familyName": "User"});
    user["password"] = json!("placeholder");
    user["meta"]["created"] = json!("04-12-2018 00:00:00");
    let (status, updated) = app.put(&format!("/Users/{id}"), &user).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"]["middleName"], "Excited");
    assert_eq!(updated["id"], id.as_str());
    assert_ne!(updated["meta"]["version"], created["meta"]["version"]);

    // A PUT that omits `active` keeps the user active.
    let mut without_active = updated.clone();
    without_active.as_object_mut().unwrap().remove("active");
    let (status, body) = app.put(&format!("/Users/{id}"), &without_active).await;
    assert_eq!((status, body["active"].clone()), (200, json!(true)));

    // Deactivation by PUT (AIW apps).
    let mut inactive = body.clone();
    inactive["active"] = json!(false);
    let (status, body) = app.put(&format!("/Users/{id}"), &inactive).await;
    assert_eq!((status, body["active"].clone()), (200, json!(false)));

    // Still readable, filterable and listed with active:false.
    let (status, body) = app.get(&format!("/Users/{id}")).await;
    assert_eq!((status, body["active"].clone()), (200, json!(false)));
    let (_, body) = app
        .get(&format!(
            "/Users?filter={}",
            encode(&format!("userName eq \"{user_name}\""))
        ))
        .await;
    assert_eq!(body["Resources"][0]["active"], false);
    let (_, body) = app.get("/Users?filter=active+eq+false").await;
    assert_eq!(body["totalResults"], 1);
    let (_, body) = app.get("/Users").await;
    assert_eq!(body["Resources"][0]["active"], false);

    // Reactivation and deactivation by PATCH (OIN apps): no path, value object.
    for (active, want) in [(true, true), (false, false)] {
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": active}}]});
        let (status, body) = app.patch(&format!("/Users/{id}"), &patch).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["active"], want);
        let (_, body) = app.get(&format!("/Users/{id}")).await;
        assert_eq!(body["active"], want);
    }
    Ok(())
}

#[tokio::test]
async fn okta_group_push_membership_rename_and_delete() -> TestResult {
    let app = spawn_app().await;
    let alice = app.create_user("alice@acme.test").await;
    let bob = app.create_user("bob@acme.test").await;
    let carol = app.create_user("carol@acme.test").await;

    // Push without members: filter, POST, GET, PUT (the AIW field sequence).
    let (status, body) = app
        .get(&format!(
            "/Groups?filter={}&startIndex=1&count=100",
            encode("displayName eq \"Admins\"")
        ))
        .await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(0)));
    let (status, admins) = app
        .post("/Groups", &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins", "members": []}))
        .await;
    assert_eq!(status, 201, "{admins}");
    let admins_id = admins["id"].as_str().unwrap().to_owned();
    assert_eq!(admins["displayName"], "Admins");
    assert_eq!(admins["members"], json!([]));
    let (status, body) = app
        .get(&format!("/Groups?filter={}", encode("displayName eq \"admins\"")))
        .await;
    assert_eq!(
        (status, body["totalResults"].clone()),
        (200, json!(1)),
        "displayName matches case-insensitively"
    );

    // Push with members.
    let (status, support) = app
        .post(
            "/Groups",
            &json!({"displayName": "Support", "members": [
            {"value": alice, "display": "alice@acme.test"}, {"value": bob, "display": "bob@acme.test"}]}),
        )
        .await;
    assert_eq!(status, 201, "{support}");
    let support_id = support["id"].as_str().unwrap().to_owned();
    let mut want = vec![alice.clone(), bob.clone()];
    want.sort();
    assert_eq!(app.member_ids(&support_id).await, want);
    let (_, user) = app.get(&format!("/Users/{alice}")).await;
    assert_eq!(user["groups"][0]["value"], support_id.as_str());
    assert_eq!(user["groups"][0]["display"], "Support");

    // Membership remove + add in one PATCH, with Okta's rename-alongside.
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "remove", "path": format!("members[value eq \"{alice}\"]")},
        {"op": "add", "path": "members", "value": [{"value": carol, "display": "carol@acme.test"}]},
        {"op": "replace", "value": {"id": support_id, "displayName": "Support"}}]});
    let res = app
        .scim(reqwest::Method::PATCH, &format!("/Groups/{support_id}"), Some(&patch))
        .await;
    assert_eq!(res.status(), 204);
    assert!(res.headers().contains_key("etag"));
    let mut want = vec![bob.clone(), carol.clone()];
    want.sort();
    assert_eq!(app.member_ids(&support_id).await, want);

    // Full push: replace members, then replace with [] empties the group.
    let replace = |members: Value| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "members", "value": members}]})
    };
    let (status, _) = app
        .patch(&format!("/Groups/{support_id}"), &replace(json!([{"value": alice}])))
        .await;
    assert_eq!(status, 204);
    assert_eq!(app.member_ids(&support_id).await, vec![alice.clone()]);
    let (status, _) = app.patch(&format!("/Groups/{support_id}"), &replace(json!([]))).await;
    assert_eq!(status, 204);
    assert!(app.member_ids(&support_id).await.is_empty());

    // AIW form: PUT with the full member list.
    let (status, body) = app
        .put(
            &format!("/Groups/{admins_id}"),
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": admins_id, "displayName": "Admins", "members": [{"value": bob}, {"value": carol}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut want = vec![bob.clone(), carol.clone()];
    want.sort();
    assert_eq!(app.member_ids(&admins_id).await, want);
    let (status, _) = app
        .put(
            &format!("/Groups/{admins_id}"),
            &json!({"displayName": "Admins", "members": [{"value": carol}]}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(app.member_ids(&admins_id).await, vec![carol.clone()]);

    // Rename (OIN PATCH with the id inside the value, and AIW PUT).
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"id": admins_id, "displayName": "Company Admins"}}]});
    let (status, _) = app.patch(&format!("/Groups/{admins_id}"), &rename).await;
    assert_eq!(status, 204);
    let (_, body) = app.get(&format!("/Groups/{admins_id}")).await;
    assert_eq!(body["displayName"], "Company Admins");
    assert_eq!(
        app.member_ids(&admins_id).await,
        vec![carol.clone()],
        "a rename keeps the members"
    );

    // A second group may not take the same name.
    let (status, body) = app.post("/Groups", &json!({"displayName": "company admins"})).await;
    assert_scim_error(status, &body, 409, Some("uniqueness"), "duplicate displayName");

    // DELETE the group, then 404; the user no longer lists it.
    assert_eq!(app.delete(&format!("/Groups/{admins_id}")).await, 204);
    let (status, body) = app.get(&format!("/Groups/{admins_id}")).await;
    assert_scim_error(status, &body, 404, None, "deleted group");
    let (_, user) = app.get(&format!("/Users/{carol}")).await;
    assert_eq!(user["groups"], json!([]));
    Ok(())
}

#[tokio::test]
async fn paged_import_of_250_users_returns_each_exactly_once_including_inactive() -> TestResult {
    let app = spawn_app().await;
    for i in 0..250 {
        let mut body = okta_user(&format!("user{i:03}@acme.test"));
        if i % 10 == 0 {
            body["active"] = json!(false);
        }
        let (status, created) = app.post("/Users", &body).await;
        assert_eq!(status, 201, "{created}");
    }
    let mut seen = Vec::new();
    let mut inactive = 0;
    let mut start = 1;
    loop {
        let (status, page) = app.get(&format!("/Users?startIndex={start}&count=100")).await;
        assert_eq!(status, 200);
        assert_eq!(page["totalResults"], 250);
        assert_eq!(page["startIndex"], start);
        let resources = page["Resources"].as_array().unwrap();
        assert_eq!(page["itemsPerPage"], resources.len());
        for r in resources {
            seen.push(r["userName"].as_str().unwrap().to_owned());
            if r["active"] == false {
                inactive += 1;
            }
        }
        if resources.len() < 100 {
            break;
        }
        start += 100;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 250);
    assert_eq!(unique.len(), 250, "no user appears twice across pages");
    assert_eq!(inactive, 25);
    // Past the end: 200 with an empty page.
    let (status, page) = app.get("/Users?startIndex=1000&count=100").await;
    assert_eq!(
        (status, page["Resources"].clone(), page["totalResults"].clone()),
        (200, json!([]), json!(250))
    );
    Ok(())
}

#[tokio::test]
async fn delete_user_is_a_tombstone_that_frees_the_user_name_and_leaves_groups() -> TestResult {
    let app = spawn_app().await;
    let id = app.create_user("leaver@acme.test").await;
    let group = app.create_group("Testers", &[&id]).await;
    assert_eq!(app.delete(&format!("/Users/{id}")).await, 204);
    let (status, body) = app.get(&format!("/Users/{id}")).await;
    assert_scim_error(status, &body, 404, None, "deleted user");
    assert_eq!(app.delete(&format!("/Users/{id}")).await, 404);
    assert!(app.member_ids(&group).await.is_empty());
    let (_, list) = app.get("/Users").await;
    assert_eq!(list["totalResults"], 0);
    let again = app.create_user("leaver@acme.test").await;
    assert_ne!(again, id, "ids are never reused");
    Ok(())
}

#[tokio::test]
async fn entra_style_filters_and_member_removal_by_value_array() -> TestResult {
    let app = spawn_app().await;
    let mut body = okta_user("Test_User_1@contoso.test");
    body["externalId"] = json!("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    let (status, created) = app.post("/Users", &body).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_owned();
    let other = app.create_user("other@contoso.test").await;
    let cases = [
        ("externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"", 1),
        ("externalId eq \"0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF\"", 0),
        (&format!("id eq \"{id}\"") as &str, 1),
        ("emails.value eq \"test_user_1@contoso.test\"", 1),
        ("emails[type eq \"work\"].value eq \"Test_User_1@contoso.test\"", 1),
        ("emails[type eq \"work\" and value co \"@contoso\"]", 2),
        ("userName eq \"Test_User_1@contoso.test\" and active eq true", 1),
        (
            "userName eq \"nobody\" or externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
            1,
        ),
        ("not (userName eq \"other@contoso.test\")", 1),
        ("userName sw \"test_\"", 1),
        ("displayName co \"test user\"", 2),
    ];
    for (filter, want) in cases {
        let (status, body) = app.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(body["totalResults"], want, "{filter}");
    }
    let group = app.create_group("Sales", &[&id, &other]).await;
    let (status, body) = app.get(&format!("/Groups/{group}?excludedAttributes=members")).await;
    assert_eq!(status, 200);
    assert!(body.get("members").is_none(), "{body}");
    let remove = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": id}]}]});
    let (status, _) = app.patch(&format!("/Groups/{group}"), &remove).await;
    assert_eq!(status, 204);
    assert_eq!(
        app.member_ids(&group).await,
        vec![other.clone()],
        "only the listed member goes"
    );
    let disable = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
    let (status, body) = app.patch(&format!("/Users/{id}"), &disable).await;
    assert_eq!((status, body["active"].clone()), (200, json!(false)));
    Ok(())
}
