//! Discovery endpoints advertise exactly what works.

use crate::helpers::{TestResult, assert_scim_error, spawn_app};

#[tokio::test]
async fn discovery_endpoints_describe_the_service() -> TestResult {
    let app = spawn_app().await;
    let (status, spc) = app.get("/ServiceProviderConfig").await;
    assert_eq!(status, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], true);
    assert_eq!(spc["sort"]["supported"], true);
    assert_eq!(spc["pagination"]["cursor"], true);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], 100);
    let (status, types) = app.get("/ResourceTypes").await;
    assert_eq!((status, types["totalResults"].clone()), (200, serde_json::json!(2)));
    let (status, user_type) = app.get("/ResourceTypes/User").await;
    assert_eq!(status, 200);
    assert_eq!(
        user_type["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    let (status, schemas) = app.get("/Schemas").await;
    assert_eq!((status, schemas["totalResults"].clone()), (200, serde_json::json!(3)));
    let (status, user) = app.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(status, 200);
    assert!(
        user["attributes"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["name"] == "userName"))
    );
    let (status, body) = app.get("/Schemas/urn:nope").await;
    assert_scim_error(status, &body, 404, None, "unknown schema");
    // Health endpoints on both listeners.
    for base in [&app.address, &app.admin_address] {
        let res = app.client.get(format!("{base}/healthz")).send().await?;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<serde_json::Value>().await?["status"], "ok");
        let res = app.client.get(format!("{base}/readyz")).send().await?;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<serde_json::Value>().await?["database"], "ok");
    }
    Ok(())
}

/// `count` above `filter.maxResults` is capped, and the cap is what ServiceProviderConfig says.
#[tokio::test]
async fn count_above_max_results_is_capped_at_the_advertised_maximum() -> TestResult {
    let app = crate::helpers::spawn_app_with(|s| s.scim.max_results = 2).await;
    for i in 0..3 {
        app.create_user(&format!("cap{i}@acme.test")).await;
    }
    let (_, spc) = app.get("/ServiceProviderConfig").await;
    assert_eq!(spc["filter"]["maxResults"], 2);
    for query in ["/Users?count=100000", "/Users"] {
        let (status, page) = app.get(query).await;
        assert_eq!(status, 200);
        assert_eq!(page["totalResults"], 3, "{query}");
        assert_eq!(page["itemsPerPage"], 2, "{query}");
        assert_eq!(page["Resources"].as_array().map(Vec::len), Some(2), "{query}");
    }
    Ok(())
}

/// `/metrics` on both listeners: request counts by route pattern (never an id or a tenant),
/// token checks and worker counters, in the Prometheus text format.
#[tokio::test]
async fn metrics_are_served_on_both_listeners_without_ids_or_tenants() -> TestResult {
    let app = spawn_app().await;
    let id = app.create_user("metrics@acme.test").await;
    let (status, _) = app.get(&format!("/Users/{id}")).await;
    assert_eq!(status, 200);
    let (status, _) = crate::helpers::read(app.scim_as("non-token", reqwest::Method::GET, "/Users", None).await).await;
    assert_eq!(status, 401);
    app.drain().await;
    let viewer = app.admin_token("viewer");
    let (status, _, _) = app
        .admin(Some(&viewer), reqwest::Method::GET, "/admin/v1/roles", None)
        .await;
    assert_eq!(status, 200);
    for base in [&app.address, &app.admin_address] {
        let res = app.client.get(format!("{base}/metrics")).send().await?;
        assert_eq!(res.status(), 200);
        let request_id = res
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        assert!(
            request_id.is_some_and(|r| uuid::Uuid::parse_str(&r).is_ok()),
            "every answer names its request id"
        );
        assert!(res.headers()["content-type"].to_str()?.starts_with("text/plain"));
        let text = res.text().await?;
        for want in [
            r#"http_requests_total{listener="scim",method="GET",route="/api/scim/v2/Users/{id}",status="200"} 1"#,
            r#"http_requests_total{listener="scim",method="POST",route="/api/scim/v2/Users",status="201"} 1"#,
            r#"http_requests_total{listener="admin",method="GET",route="/admin/v1/roles",status="200"} 1"#,
            r#"scim_token_checks_total{result="refused"} 1"#,
            r#"scim_token_checks_total{result="argon2_ok"} 1"#,
            "http_request_duration_seconds_bucket",
            "worker_events_processed_total",
        ] {
            assert!(text.contains(want), "{base}/metrics lacks {want}:\n{text}");
        }
        assert!(
            !text.contains(&id) && !text.contains(&app.tenant.id.to_string()),
            "no ids in labels"
        );
    }
    Ok(())
}
