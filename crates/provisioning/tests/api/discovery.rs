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
    // The count cap is maxResults.
    let (status, page) = app.get("/Users?count=100000").await;
    assert_eq!((status, page["itemsPerPage"].clone()), (200, serde_json::json!(0)));
    // Health endpoints on both listeners.
    for base in [&app.address, &app.admin_address] {
        let res = app.client.get(format!("{base}/healthz")).send().await?;
        assert_eq!(res.status(), 200);
        let res = app.client.get(format!("{base}/readyz")).send().await?;
        assert_eq!(res.status(), 200);
    }
    Ok(())
}
