//! Bad input gets the right status and SCIM body, and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, assert_scim_error, encode, read, spawn_app};

async fn raw(app: &TestApp, method: Method, path: &str, content_type: &str, body: String) -> (u16, Value) {
    read(
        app.client
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(&app.tenant.token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .expect("send"),
    )
    .await
}

#[tokio::test]
async fn bad_requests_get_scim_errors_and_change_nothing() -> TestResult {
    let app = spawn_app().await;
    let id = app.create_user("keep@acme.test").await;
    let group = app.create_group("Keep", &[&id]).await;
    let (_, before_user) = app.get(&format!("/Users/{id}")).await;
    let (_, before_group) = app.get(&format!("/Groups/{group}")).await;
    let json = "application/scim+json";
    let big = format!(
        "{{\"userName\":\"big@acme.test\",\"title\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    let patch = |ops: Value| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}).to_string()
    };
    let u = format!("/Users/{id}");
    let g = format!("/Groups/{group}");
    type Case<'a> = (&'a str, Method, String, &'a str, String, u16, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            Method::POST,
            "/Users".into(),
            json,
            "{\"userName\": ".into(),
            400,
            Some("invalidSyntax"),
        ),
        (
            "not an object",
            Method::POST,
            "/Users".into(),
            json,
            "[1,2]".into(),
            400,
            Some("invalidSyntax"),
        ),
        (
            "missing userName",
            Method::POST,
            "/Users".into(),
            json,
            json!({"name": {"givenName": "x"}}).to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "userName of the wrong type",
            Method::POST,
            "/Users".into(),
            json,
            json!({"userName": 42}).to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "active of the wrong type",
            Method::PUT,
            u.clone(),
            json,
            json!({"userName": "keep@acme.test", "active": "perhaps"}).to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "emails not an array",
            Method::PUT,
            u.clone(),
            json,
            json!({"userName": "keep@acme.test", "emails": 5}).to_string(),
            400,
            Some("invalidValue"),
        ),
        (
            "wrong content type",
            Method::POST,
            "/Users".into(),
            "text/plain",
            json!({"userName": "t@acme.test"}).to_string(),
            415,
            None,
        ),
        ("oversized body", Method::POST, "/Users".into(), json, big, 413, None),
        (
            "unknown PATCH op",
            Method::PATCH,
            u.clone(),
            json,
            patch(json!([{"op": "merge", "path": "title", "value": "x"}])),
            400,
            Some("invalidSyntax"),
        ),
        (
            "PATCH without Operations",
            Method::PATCH,
            u.clone(),
            json,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}).to_string(),
            400,
            Some("invalidSyntax"),
        ),
        (
            "PATCH bad path",
            Method::PATCH,
            u.clone(),
            json,
            patch(json!([{"op": "replace", "path": "name.[x", "value": "x"}])),
            400,
            Some("invalidPath"),
        ),
        (
            "PATCH unknown attribute",
            Method::PATCH,
            u.clone(),
            json,
            patch(json!([{"op": "replace", "path": "shoeSize", "value": "x"}])),
            400,
            Some("invalidPath"),
        ),
        (
            "PATCH read-only id",
            Method::PATCH,
            u.clone(),
            json,
            patch(json!([{"op": "replace", "path": "id", "value": "x"}])),
            400,
            Some("mutability"),
        ),
        (
            "PATCH removes userName",
            Method::PATCH,
            u.clone(),
            json,
            patch(json!([{"op": "remove", "path": "userName"}])),
            400,
            Some("mutability"),
        ),
        (
            "atomic: good op then bad op",
            Method::PATCH,
            u.clone(),
            json,
            patch(
                json!([{"op": "replace", "path": "title", "value": "changed"}, {"op": "replace", "path": "active", "value": 7}]),
            ),
            400,
            Some("invalidValue"),
        ),
        (
            "group members of the wrong shape",
            Method::PATCH,
            g.clone(),
            json,
            patch(json!([{"op": "add", "path": "members", "value": ["x"]}])),
            400,
            Some("invalidValue"),
        ),
        (
            "group atomic: add then bad",
            Method::PATCH,
            g.clone(),
            json,
            patch(json!([{"op": "remove", "path": "members"}, {"op": "merge"}])),
            400,
            Some("invalidSyntax"),
        ),
        (
            "non-UUID user id",
            Method::GET,
            "/Users/not-a-uuid".into(),
            json,
            String::new(),
            404,
            None,
        ),
        (
            "non-UUID group id",
            Method::PATCH,
            "/Groups/42".into(),
            json,
            patch(json!([{"op": "remove", "path": "members"}])),
            404,
            None,
        ),
        (
            "unknown endpoint",
            Method::GET,
            "/Widgets".into(),
            json,
            String::new(),
            404,
            None,
        ),
        (
            "write to discovery",
            Method::POST,
            "/Schemas".into(),
            json,
            "{}".into(),
            405,
            None,
        ),
        (
            "method not allowed",
            Method::DELETE,
            "/Users".into(),
            json,
            String::new(),
            405,
            None,
        ),
        (
            "count not an integer",
            Method::GET,
            "/Users?count=abc".into(),
            json,
            String::new(),
            400,
            Some("invalidValue"),
        ),
        (
            "sortBy on an attribute that cannot be sorted",
            Method::GET,
            "/Users?sortBy=shoeSize".into(),
            json,
            String::new(),
            400,
            Some("invalidValue"),
        ),
        ("/Me", Method::GET, "/Me".into(), json, String::new(), 501, None),
    ];
    for (name, method, path, content_type, body, want_status, want_type) in cases {
        let (status, res) = raw(&app, method, &path, content_type, body).await;
        assert_scim_error(status, &res, want_status, want_type, name);
    }
    let filters = [
        ("unknown filter attribute", "shoeSize eq \"42\""),
        ("unparseable filter", "userName eq"),
        ("bare word filter", "RANDOMUSER@EXAMPLE.COM"),
        ("unknown operator", "userName xx \"a\""),
        ("unbalanced parenthesis", "(userName eq \"a\""),
        ("boolean compared with co", "active co \"t\""),
        ("bad date", "meta.lastModified gt \"yesterday\""),
    ];
    for (name, filter) in filters {
        let (status, res) = app.get(&format!("/Users?filter={}", encode(filter))).await;
        assert_scim_error(status, &res, 400, Some("invalidFilter"), name);
    }
    let (status, res) = app
        .get(&format!("/Groups?filter={}", encode("members.display eq \"x\"")))
        .await;
    assert_scim_error(status, &res, 400, Some("invalidFilter"), "unsupported group filter");

    let (_, after_user) = app.get(&format!("/Users/{id}")).await;
    let (_, after_group) = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(after_user, before_user, "nothing changed on the user");
    assert_eq!(after_group, before_group, "nothing changed on the group");
    let (_, users) = app.get("/Users").await;
    assert_eq!(users["totalResults"], 1, "no user was created by a bad request");
    Ok(())
}

#[tokio::test]
async fn etags_give_304_and_412() -> TestResult {
    let app = spawn_app().await;
    let id = app.create_user("etag@acme.test").await;
    let res = app.scim(Method::GET, &format!("/Users/{id}"), None).await;
    let etag = res.headers()["etag"].to_str()?.to_owned();
    let res = app
        .client
        .get(format!("{}/Users/{id}", app.base))
        .bearer_auth(&app.tenant.token)
        .header("If-None-Match", &etag)
        .send()
        .await?;
    assert_eq!(res.status(), 304);
    let res = app
        .client
        .patch(format!("{}/Users/{id}", app.base))
        .bearer_auth(&app.tenant.token)
        .header("If-Match", "W/\"999\"")
        .header("Content-Type", "application/scim+json")
        .body(json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]}).to_string())
        .send()
        .await?;
    let (status, body) = read(res).await;
    assert_scim_error(status, &body, 412, None, "stale If-Match");
    let res = app
        .client
        .patch(format!("{}/Users/{id}", app.base))
        .bearer_auth(&app.tenant.token)
        .header("If-Match", &etag)
        .header("Content-Type", "application/json")
        .body(json!({"Operations": [{"op": "replace", "path": "title", "value": "x"}]}).to_string())
        .send()
        .await?;
    let (status, body) = read(res).await;
    assert_eq!((status, body["title"].clone()), (200, json!("x")));
    Ok(())
}
