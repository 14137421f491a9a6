//! Webhooks: signed deliveries, event filters, retries, dead letters and replay, with a real
//! receiver on a random port; and the audit trail written once per event.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestResult, okta_user, spawn_app};

/// One received request: the `x-betatesting-*` headers and the body.
type Received = (Vec<(String, String)>, String);

#[derive(Default)]
struct Receiver {
    failing: AtomicBool,
    received: Mutex<Vec<Received>>,
}

async fn receive(req: HttpRequest, body: String, state: web::Data<Receiver>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-betatesting"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    if state.failing.load(Ordering::SeqCst) {
        return HttpResponse::InternalServerError().finish();
    }
    state.received.lock().map(|mut r| r.push((headers, body))).ok();
    HttpResponse::NoContent().finish()
}

fn start_receiver() -> (String, web::Data<Receiver>) {
    let state = web::Data::new(Receiver::default());
    let data = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind the receiver");
    let port = server.addrs().first().map(|a| a.port()).unwrap_or_default();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}/hook"), state)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
}

#[tokio::test]
async fn webhooks_are_signed_filtered_retried_dead_lettered_and_replayable() -> TestResult {
    let app = spawn_app().await;
    let am = app.admin_token("account_manager");
    let am = Some(am.as_str());
    let (url, receiver) = start_receiver();
    let (status, hook, _) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants/acme/webhooks",
            Some(&json!({"url": url, "event_types": ["user.created", "user.deactivated"]})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap_or_default().to_owned();
    let hook_id = hook["id"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, list, _) = app
        .admin(am, Method::GET, "/admin/v1/tenants/acme/webhooks", None)
        .await;
    assert!(!list.to_string().contains(&secret), "the secret is shown once");
    let (status, _, _) = app
        .admin(
            am,
            Method::POST,
            "/admin/v1/tenants/acme/webhooks",
            Some(&json!({"url": "ftp://x"})),
        )
        .await;
    assert_eq!(status, 400);

    // A created user is delivered, signed; a created group is filtered out.
    let id = app.create_user("hooked@acme.test").await;
    app.create_group("Not delivered", &[]).await;
    app.drain().await;
    let received = receiver.received.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(received.len(), 1, "{received:?}");
    let (headers, body) = &received[0];
    assert_eq!(header(headers, "x-betatesting-event"), "user.created");
    let timestamp: i64 = header(headers, "x-betatesting-timestamp").parse()?;
    assert_eq!(
        header(headers, "x-betatesting-signature"),
        domain::webhooks::signature(&secret, timestamp, body)?
    );
    let envelope: Value = serde_json::from_str(body)?;
    assert_eq!(
        (envelope["type"].clone(), envelope["resource"]["id"].clone()),
        (json!("user.created"), json!(id))
    );
    assert_eq!(envelope["tenant_id"], app.tenant.id.to_string());

    // A failing receiver: retried with backoff, then dead after the last attempt (3 in tests).
    receiver.failing.store(true, Ordering::SeqCst);
    let patch = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
    let (status, _) = app.patch(&format!("/Users/{id}"), &patch).await;
    assert_eq!(status, 200);
    let deliveries_path = format!("/admin/v1/tenants/acme/webhooks/{hook_id}/deliveries");
    let mut dead = Value::Null;
    for _ in 0..100 {
        app.drain().await;
        let (_, list, _) = app.admin(am, Method::GET, &deliveries_path, None).await;
        if let Some(d) = list.as_array().and_then(|l| {
            l.iter()
                .find(|d| d["event_type"] == "user.deactivated" && d["status"] == "dead")
        }) {
            dead = d.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert_eq!(dead["last_status_code"], 500);

    // Replay once the receiver is back.
    receiver.failing.store(false, Ordering::SeqCst);
    let delivery = dead["id"].as_str().unwrap_or_default().to_owned();
    let (status, replayed, _) = app
        .admin(am, Method::POST, &format!("{deliveries_path}/{delivery}/replay"), None)
        .await;
    assert_eq!(
        (status, replayed["status"].clone(), replayed["attempts"].clone()),
        (202, json!("pending"), json!(0))
    );
    app.drain().await;
    let (_, list, _) = app.admin(am, Method::GET, &deliveries_path, None).await;
    let done = list
        .as_array()
        .and_then(|l| l.iter().find(|d| d["id"] == delivery.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(done["status"], "succeeded", "{done}");
    let received = receiver.received.lock().map(|r| r.clone()).unwrap_or_default();
    assert_eq!(
        received
            .iter()
            .filter(|(h, _)| header(h, "x-betatesting-event") == "user.deactivated")
            .count(),
        1
    );

    // Deleting the endpoint removes its deliveries.
    let (status, _, _) = app
        .admin(
            am,
            Method::DELETE,
            &format!("/admin/v1/tenants/acme/webhooks/{hook_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, _) = app.admin(am, Method::GET, &deliveries_path, None).await;
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test]
async fn every_event_reaches_the_audit_trail_exactly_once() -> TestResult {
    let app = spawn_app().await;
    for i in 0..5 {
        app.post("/Users", &okta_user(&format!("audit{i}@acme.test"))).await;
    }
    app.drain().await;
    app.drain().await;
    let am = app.admin_token("viewer");
    let (status, audit, _) = app
        .admin(
            Some(&am),
            Method::GET,
            "/admin/v1/tenants/acme/audit-events?limit=200",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let mut audit_ids: Vec<String> = audit["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    let mut outbox_ids: Vec<String> = app
        .events(app.tenant.id)
        .await
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    audit_ids.sort();
    outbox_ids.sort();
    assert_eq!(audit_ids, outbox_ids, "each event once, none missing");
    assert_eq!(
        audit["items"]
            .as_array()
            .map(|l| l.iter().filter(|e| e["type"] == "user.created").count()),
        Some(5)
    );
    Ok(())
}
