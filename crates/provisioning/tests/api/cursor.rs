//! RFC 9865 cursor pagination: keyset cursors that survive concurrent inserts, go back with
//! `previousCursor`, and refuse altered or foreign cursors with `invalidCursor`.

use std::collections::HashSet;

use domain::events::Actor;
use domain::resource::normalize;
use domain::schema::ResourceKind;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResult, assert_scim_error, encode, spawn_app};

async fn insert_users(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let doc = normalize(
            ResourceKind::User,
            &json!({"userName": format!("{prefix}{i:04}@acme.test")}),
        )
        .unwrap();
        let user = app
            .stores
            .users
            .insert(app.tenant.id, &Actor::System, doc)
            .await
            .unwrap();
        ids.push(user.id.to_string());
    }
    ids
}

fn ids_of(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_thousand_users_paged_by_cursor_while_others_are_inserted_are_each_seen_once() -> TestResult {
    let app = spawn_app().await;
    let existing: HashSet<String> = insert_users(&app, "old", 1000).await.into_iter().collect();
    let writer = {
        let base = app.base.clone();
        let token = app.tenant.token.clone();
        let client = app.client.clone();
        tokio::spawn(async move {
            for i in 0..150 {
                let res = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/scim+json")
                    .body(json!({"userName": format!("new{i:04}@acme.test")}).to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
            }
        })
    };
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, body) = app.get(&format!("/Users?count=100&cursor={}", encode(&cursor))).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.get("startIndex").is_none(),
            "cursor pages carry no startIndex: {body}"
        );
        assert!(body["itemsPerPage"].as_u64().unwrap() <= 100);
        seen.extend(ids_of(&body));
        pages += 1;
        assert!(pages < 50, "paging terminates");
        match body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    writer.await?;
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no user appears twice");
    let missing = existing.iter().filter(|id| !unique.contains(id)).count();
    assert_eq!(missing, 0, "every user that existed before paging started was seen");
    Ok(())
}

#[tokio::test]
async fn previous_cursor_goes_back_and_sorted_cursor_pages_match_index_pages() -> TestResult {
    let app = spawn_app().await;
    insert_users(&app, "u", 23).await;
    // Forward through sorted pages, remembering each.
    let query = "sortBy=userName&sortOrder=descending&count=5";
    let (_, all) = app.get(&format!("/Users?{query}&startIndex=1")).await;
    let (_, everything) = app.get("/Users?sortBy=userName&sortOrder=descending&count=100").await;
    assert_eq!(ids_of(&all), ids_of(&everything)[..5].to_vec());
    let mut pages: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, body) = app.get(&format!("/Users?{query}&cursor={}", encode(&cursor))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["totalResults"], 23);
        pages.push(body.clone());
        match body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(pages.len(), 5);
    let flat: Vec<String> = pages.iter().flat_map(ids_of).collect();
    assert_eq!(flat, ids_of(&everything), "cursor pages are the index order");
    assert!(
        pages[0].get("previousCursor").is_none(),
        "the first page has no previous page"
    );
    // Back from the last page, page by page, to the first.
    let mut back = pages.last().unwrap()["previousCursor"].as_str().unwrap().to_owned();
    for want in pages.iter().rev().skip(1) {
        let (status, body) = app.get(&format!("/Users?{query}&cursor={}", encode(&back))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids_of(&body), ids_of(want));
        match body["previousCursor"].as_str() {
            Some(p) => back = p.to_owned(),
            None => assert_eq!(ids_of(&body), ids_of(&pages[0]), "only the first page has none"),
        }
    }

    // Cursor pages equal index order for every kind of sort key: time, boolean, a JSON
    // attribute some users lack, and the primary email.
    for (i, id) in ids_of(&everything).iter().enumerate().filter(|(i, _)| i % 4 == 0) {
        let body =
            json!({"Operations": [{"op": "replace", "value": {"active": false, "title": format!("t{}", i % 3)}}]});
        assert_eq!(app.patch(&format!("/Users/{id}"), &body).await.0, 200);
    }
    for sort in [
        "sortBy=meta.created",
        "sortBy=meta.lastModified&sortOrder=descending",
        "sortBy=active",
        "sortBy=title&sortOrder=descending",
        "sortBy=title",
        "sortBy=emails",
    ] {
        let (_, all) = app.get(&format!("/Users?{sort}&count=100")).await;
        let mut paged = Vec::new();
        let mut cursor = String::new();
        loop {
            let (status, body) = app
                .get(&format!("/Users?{sort}&count=4&cursor={}", encode(&cursor)))
                .await;
            assert_eq!(status, 200, "{sort}: {body}");
            paged.extend(ids_of(&body));
            match body["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(paged, ids_of(&all), "{sort}");
    }

    // Groups page by cursor too.
    for i in 0..3 {
        app.create_group(&format!("G{i}"), &[]).await;
    }
    let (status, body) = app.get("/Groups?count=2&cursor=").await;
    assert_eq!((status, body["itemsPerPage"].clone()), (200, json!(2)), "{body}");
    let next = body["nextCursor"].as_str().unwrap().to_owned();
    let (_, body) = app.get(&format!("/Groups?count=2&cursor={}", encode(&next))).await;
    assert_eq!(body["itemsPerPage"], 1);
    assert!(body.get("nextCursor").is_none());

    // Refusals.
    let first = pages[0]["nextCursor"].as_str().unwrap().to_owned();
    let mut altered = first.clone().into_bytes();
    altered[10] = if altered[10] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered)?;
    let cases: Vec<(String, &str)> = vec![
        (format!("/Users?{query}&cursor={}", encode(&altered)), "invalidCursor"),
        (format!("/Users?{query}&cursor=not-a-cursor"), "invalidCursor"),
        (
            format!("/Users?{query}&cursor={}", &first[..first.len() - 4]),
            "invalidCursor",
        ),
        // Issued for a descending sort by userName: another query may not use it.
        (format!("/Users?count=5&cursor={}", encode(&first)), "invalidCursor"),
        (format!("/Groups?{query}&cursor={}", encode(&first)), "invalidCursor"),
        (
            format!("/Users?{query}&filter={}&cursor={}", encode("title pr"), encode(&first)),
            "invalidCursor",
        ),
        (format!("/Users?{query}&startIndex=1&cursor="), "invalidValue"),
    ];
    for (path, scim_type) in cases {
        let (status, body) = app.get(&path).await;
        assert_scim_error(status, &body, 400, Some(scim_type), &path);
    }
    let (_, spc) = app.get("/ServiceProviderConfig").await;
    assert_eq!(
        spc["pagination"],
        json!({"cursor": true, "index": true, "defaultPaginationMethod": "index",
               "defaultPageSize": 100, "maxPageSize": 100, "cursorTimeout": 3600})
    );
    Ok(())
}
