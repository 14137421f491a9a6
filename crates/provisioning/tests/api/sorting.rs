//! `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3): by attribute type, missing values last when
//! ascending, ties broken by id so index paging stays stable.

use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, assert_scim_error, spawn_app};

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("/Users?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn users_sort_by_each_sortable_attribute_in_both_orders() -> TestResult {
    let app = spawn_app().await;
    let users: Vec<Value> = vec![
        json!({"userName": "b-user", "externalId": "a1", "displayName": "Zed", "title": "Beta",
               "name": {"givenName": "carl", "familyName": "Young"}, "emails": [{"value": "z@x.test", "primary": true}],
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "b"}}),
        json!({"userName": "A-user", "externalId": "B2", "displayName": "adam", "title": "alpha",
               "name": {"givenName": "Bea"}, "emails": [{"value": "m@x.test"}, {"value": "a@x.test", "primary": true}],
               "active": false}),
        json!({"userName": "c-user", "externalId": "b1", "title": "Gamma", "name": {"familyName": "Abbot"},
               "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "A"}}),
    ];
    for u in &users {
        let (status, body) = app.post("/Users", u).await;
        assert_eq!(status, 201, "{body}");
    }
    let cases: Vec<(&str, &[&str])> = vec![
        ("sortBy=userName", &["A-user", "b-user", "c-user"]),
        ("sortBy=userName&sortOrder=ascending", &["A-user", "b-user", "c-user"]),
        ("sortBy=USERNAME&sortOrder=Descending", &["c-user", "b-user", "A-user"]),
        // caseExact: "B2" < "a1" < "b1" in Unicode order.
        ("sortBy=externalId", &["A-user", "b-user", "c-user"]),
        ("sortBy=displayName", &["A-user", "b-user", "c-user"]),
        (
            "sortBy=displayName&sortOrder=descending",
            &["c-user", "b-user", "A-user"],
        ),
        ("sortBy=name.givenName", &["A-user", "b-user", "c-user"]),
        ("sortBy=name.familyName", &["c-user", "b-user", "A-user"]),
        ("sortBy=title", &["A-user", "b-user", "c-user"]),
        (
            "sortBy=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            &["c-user", "b-user", "A-user"],
        ),
        ("sortBy=emails", &["A-user", "b-user", "c-user"]),
        (
            "sortBy=emails.value&sortOrder=descending",
            &["c-user", "b-user", "A-user"],
        ),
        ("sortBy=active", &["A-user", "b-user", "c-user"]),
        ("sortBy=meta.created", &["b-user", "A-user", "c-user"]),
        (
            "sortBy=meta.lastModified&sortOrder=descending",
            &["c-user", "A-user", "b-user"],
        ),
        ("sortBy=id", &["b-user", "A-user", "c-user"]),
        ("sortBy=userName&count=2&startIndex=2", &["b-user", "c-user"]),
        ("sortBy=userName&filter=title%20ne%20%22beta%22", &["A-user", "c-user"]),
    ];
    for (query, want) in cases {
        assert_eq!(names(&app, query).await, want, "{query}");
    }
    // externalId is caseExact: "B2" < "a1" < "b1" in Unicode order.
    let (_, body) = app.get("/Users?sortBy=externalId").await;
    let ext: Vec<&str> = body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["externalId"].as_str().unwrap())
        .collect();
    assert_eq!(ext, ["B2", "a1", "b1"]);
    Ok(())
}

#[tokio::test]
async fn ties_and_missing_values_page_stably_and_unusable_sorts_are_400() -> TestResult {
    let app = spawn_app().await;
    for i in 0..25 {
        let mut body = json!({"userName": format!("user{i:02}@acme.test")});
        if i % 3 != 0 {
            body["title"] = json!(if i % 2 == 0 { "Same" } else { "other" });
        }
        let (status, res) = app.post("/Users", &body).await;
        assert_eq!(status, 201, "{res}");
    }
    for order in ["ascending", "descending"] {
        let all = names(&app, &format!("sortBy=title&sortOrder={order}&count=100")).await;
        let mut paged = Vec::new();
        for start in (1..=25).step_by(4) {
            paged.extend(
                names(
                    &app,
                    &format!("sortBy=title&sortOrder={order}&startIndex={start}&count=4"),
                )
                .await,
            );
        }
        assert_eq!(paged, all, "index pages of a sort with ties line up ({order})");
        let (_, body) = app
            .get(&format!("/Users?sortBy=title&sortOrder={order}&count=100"))
            .await;
        let titles: Vec<Option<String>> = body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().map(str::to_lowercase))
            .collect();
        let missing_at = titles.iter().position(Option::is_none).unwrap();
        if order == "ascending" {
            assert!(
                titles[missing_at..].iter().all(Option::is_none),
                "missing values last: {titles:?}"
            );
            assert!(titles[..missing_at].windows(2).all(|w| w[0] <= w[1]), "{titles:?}");
        } else {
            assert_eq!(missing_at, 0, "descending is the exact reverse: missing values first");
        }
    }
    let (status, body) = app.get("/Groups?sortBy=displayName&sortOrder=descending").await;
    assert_eq!(status, 200, "{body}");
    for (query, scim_type) in [
        ("/Users?sortBy=shoeSize", "invalidValue"),
        ("/Users?sortBy=phoneNumbers", "invalidValue"),
        ("/Users?sortBy=name", "invalidValue"),
        ("/Users?sortBy=a%20b", "invalidValue"),
        ("/Users?sortBy=userName&sortOrder=sideways", "invalidValue"),
        ("/Groups?sortBy=userName", "invalidValue"),
    ] {
        let (status, body) = app.get(query).await;
        assert_scim_error(status, &body, 400, Some(scim_type), query);
    }
    Ok(())
}
