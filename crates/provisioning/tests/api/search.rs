//! `POST /.search` at the root (RFC 7644 §3.4.3) and the per-resource `.search` endpoints.

use serde_json::{Value, json};

use crate::helpers::{TestResult, assert_scim_error, spawn_app};

fn search(filter: Option<&str>, extra: Value) -> Value {
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]});
    if let Some(f) = filter {
        body["filter"] = json!(f);
    }
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    body
}

fn kinds(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["meta"]["resourceType"].as_str().unwrap(),
                r["userName"].as_str().or(r["displayName"].as_str()).unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn root_search_returns_users_then_groups() -> TestResult {
    let app = spawn_app().await;
    let a = app.create_user("sales.ann@acme.test").await;
    app.create_user("bo@acme.test").await;
    app.create_group("Sales", &[&a]).await;
    app.create_group("Support", &[]).await;

    let cases: Vec<(Option<&str>, Value, Vec<&str>, u64)> = vec![
        (
            None,
            json!({}),
            vec![
                "User:sales.ann@acme.test",
                "User:bo@acme.test",
                "Group:Sales",
                "Group:Support",
            ],
            4,
        ),
        // displayName is an attribute of both types.
        (
            Some("displayName sw \"S\""),
            json!({}),
            vec!["Group:Sales", "Group:Support"],
            2,
        ),
        (
            Some("displayName eq \"Test User\""),
            json!({}),
            vec!["User:sales.ann@acme.test", "User:bo@acme.test"],
            2,
        ),
        // A User-only attribute matches no group; a Group-only one matches no user.
        (
            Some("userName sw \"sales\""),
            json!({}),
            vec!["User:sales.ann@acme.test"],
            1,
        ),
        (Some("members pr"), json!({}), vec!["Group:Sales"], 1),
        (
            Some("userName sw \"sales\" or displayName eq \"Support\""),
            json!({}),
            vec!["User:sales.ann@acme.test", "Group:Support"],
            2,
        ),
        // RFC 7644 §3.4.2.1: users have no `members`, so `not (members pr)` holds for each.
        (
            Some("not (members pr)"),
            json!({}),
            vec!["User:sales.ann@acme.test", "User:bo@acme.test", "Group:Support"],
            3,
        ),
        // A User-only sortBy: groups keep their own order.
        (
            None,
            json!({"sortBy": "userName"}),
            vec![
                "User:bo@acme.test",
                "User:sales.ann@acme.test",
                "Group:Sales",
                "Group:Support",
            ],
            4,
        ),
        // One page across both types.
        (
            None,
            json!({"startIndex": 2, "count": 2}),
            vec!["User:bo@acme.test", "Group:Sales"],
            4,
        ),
        (None, json!({"startIndex": 4, "count": 10}), vec!["Group:Support"], 4),
        (None, json!({"count": 0}), vec![], 4),
        (
            None,
            json!({"sortBy": "displayName", "sortOrder": "descending", "startIndex": 3}),
            vec!["Group:Support", "Group:Sales"],
            4,
        ),
    ];
    for (filter, extra, want, total) in cases {
        let (status, body) = app.post("/.search", &search(filter, extra.clone())).await;
        assert_eq!(status, 200, "{filter:?} {extra}: {body}");
        assert_eq!(kinds(&body), want, "{filter:?} {extra}");
        assert_eq!(body["totalResults"], total, "{filter:?} {extra}");
    }
    // Projection per type.
    let (_, body) = app
        .post("/.search", &search(None, json!({"attributes": ["displayName"]})))
        .await;
    assert!(
        body["Resources"][0].get("userName").is_none() && body["Resources"][0].get("id").is_some(),
        "{body}"
    );

    for (body, scim_type) in [
        (search(Some("nosuch eq \"x\""), json!({})), "invalidFilter"),
        (
            search(Some("userName pr and members.display eq \"x\""), json!({})),
            "invalidFilter",
        ),
        (search(None, json!({"sortBy": "shoeSize"})), "invalidValue"),
        (search(Some("userName eq"), json!({})), "invalidFilter"),
        (search(None, json!({"cursor": ""})), "invalidValue"),
        (json!([1]), "invalidSyntax"),
    ] {
        let (status, res) = app.post("/.search", &body).await;
        assert_scim_error(status, &res, 400, Some(scim_type), &body.to_string());
    }
    let (status, res) = app.get("/.search").await;
    assert_scim_error(status, &res, 405, None, "GET /.search");

    // The per-resource endpoints take sorting and cursors in the body too.
    let (status, body) = app
        .post(
            "/Users/.search",
            &search(None, json!({"sortBy": "userName", "count": 1, "cursor": ""})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(kinds(&body), ["User:bo@acme.test"]);
    assert!(body["nextCursor"].is_string());
    Ok(())
}
