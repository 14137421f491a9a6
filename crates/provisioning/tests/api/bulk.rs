//! `/Bulk` (RFC 7644 §3.7): bulkId references (forward ones included), failOnErrors, and the
//! advertised limits enforced.

use serde_json::{Value, json};

use crate::helpers::{TestResult, assert_scim_error, okta_user, read, spawn_app};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn bulk(ops: Value, fail_on_errors: Option<u64>) -> Value {
    let mut b = json!({"schemas": [BULK], "Operations": ops});
    if let Some(n) = fail_on_errors {
        b["failOnErrors"] = json!(n);
    }
    b
}

fn op_status(res: &Value) -> Vec<(String, String)> {
    res["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["bulkId"].as_str().or(o["method"].as_str()).unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bulk_resolves_forward_references_and_runs_every_method() -> TestResult {
    let app = spawn_app().await;
    let existing = app.create_user("old@acme.test").await;
    let ops = json!([
        // The group refers to two users created later in the request (forward references).
        {"method": "POST", "path": "/Groups", "bulkId": "g1",
         "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Bulk Team",
                  "members": [{"value": "bulkId:u1"}, {"value": "bulkId:u2"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u1", "data": okta_user("one@acme.test")},
        // u2's manager is u1, by reference.
        {"method": "POST", "path": "/Users", "bulkId": "u2",
         "data": {"userName": "two@acme.test",
                  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "bulkId:u1"}}}},
        {"method": "PATCH", "path": "/Users/bulkId:u1",
         "data": {"Operations": [{"op": "replace", "path": "title", "value": "Lead"}]}},
        {"method": "put", "path": format!("/Users/{existing}"), "version": "W/\"1\"",
         "data": {"userName": "old@acme.test", "title": "Replaced"}},
        {"method": "DELETE", "path": "/Users/bulkId:u2"},
    ]);
    let (status, res) = app.post("/Bulk", &bulk(ops, None)).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:BulkResponse");
    assert_eq!(
        op_status(&res),
        [
            ("g1", "201"),
            ("u1", "201"),
            ("u2", "201"),
            ("PATCH", "200"),
            ("PUT", "200"),
            ("DELETE", "204")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let ops = res["Operations"].as_array().unwrap();
    let location = |i: usize| ops[i]["location"].as_str().unwrap().to_owned();
    let id_of = |i: usize| location(i).rsplit('/').next().unwrap().to_owned();
    assert!(location(0).ends_with(&format!("/Groups/{}", id_of(0))));
    assert_eq!(ops[1]["version"], "W/\"1\"");
    assert_eq!(ops[3]["version"], "W/\"2\"");
    let (u1, u2) = (id_of(1), id_of(2));
    // The group has u1 (u2 was deleted after joining); u1 got the PATCH.
    assert_eq!(app.member_ids(&id_of(0)).await, vec![u1.clone()]);
    let (_, user) = app.get(&format!("/Users/{u1}")).await;
    assert_eq!(user["title"], "Lead");
    assert_eq!(app.get(&format!("/Users/{u2}")).await.0, 404);
    let (_, old) = app.get(&format!("/Users/{existing}")).await;
    assert_eq!(old["title"], "Replaced");
    Ok(())
}

#[tokio::test]
async fn bulk_errors_fail_on_errors_and_limits() -> TestResult {
    let app = spawn_app().await;
    app.create_user("taken@acme.test").await;
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"userName": "taken@acme.test"}},
        {"method": "POST", "path": "/Users", "bulkId": "ok1", "data": {"userName": "fresh1@acme.test"}},
        {"method": "POST", "path": "/Groups", "bulkId": "needs-dup",
         "data": {"displayName": "G", "members": [{"value": "bulkId:dup"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "needs-nothing",
         "data": {"displayName": "H", "members": [{"value": "bulkId:undefined"}]}},
        {"method": "FETCH", "path": "/Users"},
        {"method": "POST", "path": "/Users", "data": {"userName": "no-bulk-id@acme.test"}},
        {"method": "PATCH", "path": "/Users/00000000-0000-0000-0000-000000000000",
         "data": {"Operations": [{"op": "replace", "path": "title", "value": "x"}]}},
        {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
        {"method": "POST", "path": "/Users", "bulkId": "ok2", "data": {"userName": "fresh2@acme.test"}},
    ]);
    // Without failOnErrors every operation runs and each answers for itself.
    let (status, res) = app.post("/Bulk", &bulk(ops.clone(), None)).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(
        op_status(&res),
        [
            ("dup", "409"),
            ("ok1", "201"),
            ("needs-dup", "409"),
            ("needs-nothing", "409"),
            ("FETCH", "400"),
            ("POST", "400"),
            ("PATCH", "404"),
            ("w", "400"),
            ("ok2", "201")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let dup = &res["Operations"][0]["response"];
    assert_eq!(
        (dup["scimType"].clone(), dup["status"].clone()),
        (json!("uniqueness"), json!("409")),
        "{dup}"
    );

    // failOnErrors = 2: the run stops after the second error, the rest never runs.
    let ops = json!([
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"userName": "taken@acme.test"}},
        {"method": "POST", "path": "/Users", "bulkId": "b", "data": {"userName": "stop1@acme.test"}},
        {"method": "POST", "path": "/Users", "bulkId": "c", "data": {"userName": "TAKEN@acme.test"}},
        {"method": "POST", "path": "/Users", "bulkId": "d", "data": {"userName": "stop2@acme.test"}},
    ]);
    let (status, res) = app.post("/Bulk", &bulk(ops, Some(2))).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(
        op_status(&res),
        [("a", "409"), ("b", "201"), ("c", "409")].map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let (_, list) = app.get("/Users?filter=userName%20eq%20%22stop2%40acme.test%22").await;
    assert_eq!(list["totalResults"], 0, "operations after failOnErrors are not run");

    // Limits, as advertised.
    let (_, spc) = app.get("/ServiceProviderConfig").await;
    assert_eq!(
        spc["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1048576})
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"method": "DELETE", "path": format!("/Users/{i}")}))
        .collect();
    let (status, res) = app.post("/Bulk", &bulk(json!(many), None)).await;
    assert_scim_error(status, &res, 413, Some("tooMany"), "1001 operations");
    assert!(res["detail"].as_str().unwrap().contains("1000"));
    let big = json!({"userName": "big@acme.test", "title": "x".repeat(1_100_000)});
    let (status, res) = app
        .post(
            "/Bulk",
            &bulk(
                json!([{"method": "POST", "path": "/Users", "bulkId": "b", "data": big}]),
                None,
            ),
        )
        .await;
    assert_scim_error(status, &res, 413, Some("tooLarge"), "payload over maxPayloadSize");
    // A bulk request above the general body limit (64 KiB here) but within maxPayloadSize works.
    let medium = json!({"userName": "medium@acme.test", "title": "y".repeat(100_000)});
    let (status, res) = app
        .post(
            "/Bulk",
            &bulk(
                json!([{"method": "POST", "path": "/Users", "bulkId": "m", "data": medium}]),
                None,
            ),
        )
        .await;
    assert_eq!(
        (status, op_status(&res)),
        (200, vec![("m".to_owned(), "201".to_owned())]),
        "{res}"
    );
    // Structural errors of the whole request.
    for (body, scim_type) in [
        (json!({"schemas": [BULK]}), "invalidSyntax"),
        (json!({"schemas": ["urn:nope"], "Operations": []}), "invalidSyntax"),
        (bulk(json!([]), Some(0)), "invalidValue"),
        (
            bulk(
                json!([{"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x1"}},
                       {"method": "POST", "path": "/Users", "bulkId": "x", "data": {"userName": "x2"}}]),
                None,
            ),
            "invalidValue",
        ),
    ] {
        let (status, res) = app.post("/Bulk", &body).await;
        assert_scim_error(status, &res, 400, Some(scim_type), &body.to_string());
    }
    let res = app.scim(reqwest::Method::GET, "/Bulk", None).await;
    let (status, body) = read(res).await;
    assert_scim_error(status, &body, 405, None, "GET /Bulk");
    Ok(())
}
