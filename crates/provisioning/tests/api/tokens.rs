//! SCIM bearer tokens: refused in every bad shape, revocable at once, never stored in clear.

use std::time::{Duration, Instant};

use domain::events::Actor;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::{TestResult, assert_scim_error, read, spawn_app};

#[tokio::test]
async fn missing_malformed_unknown_and_foreign_scheme_tokens_get_401_with_www_authenticate() -> TestResult {
    let app = spawn_app().await;
    let t = &app.tenant.token;
    let wrong_secret = format!(
        "{}{}",
        &t[..t.len() - 4],
        if t.ends_with("0000") { "1111" } else { "0000" }
    );
    let unknown_id = format!("btscim_{}{}", uuid::Uuid::now_v7().simple(), "ab".repeat(32));
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("Okta's non-token", Some("non-token".into())),
        ("garbage bearer", Some("Bearer garbage".into())),
        ("empty bearer", Some("Bearer ".into())),
        ("Basic", Some("Basic dXNlcjpwYXNz".into())),
        ("token without scheme", Some(t.clone())),
        ("wrong secret", Some(format!("Bearer {wrong_secret}"))),
        ("unknown lookup id", Some(format!("Bearer {unknown_id}"))),
    ];
    for (name, header) in cases {
        let mut req = app.client.get(format!("{}/Users", app.base));
        if let Some(h) = header {
            req = req.header("Authorization", h);
        }
        let res = req.send().await?;
        assert_eq!(
            res.headers()
                .get("www-authenticate")
                .map(|v| v.to_str().unwrap_or_default()),
            Some("Bearer realm=\"scim\""),
            "{name}"
        );
        let (status, body) = read(res).await;
        assert_scim_error(status, &body, 401, None, name);
        assert!(
            !body.to_string().contains(&t[10..]),
            "{name}: the token never appears in an error"
        );
    }
    // The scheme is case-insensitive (RFC 7235).
    let res = app
        .client
        .get(format!("{}/Users", app.base))
        .header("Authorization", format!("bearer {t}"))
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    Ok(())
}

#[tokio::test]
async fn two_tokens_work_side_by_side_and_a_revoked_one_is_refused_at_once() -> TestResult {
    let app = spawn_app().await;
    let (second, second_id) = app.issue_token(app.tenant.id, None).await;
    for token in [&app.tenant.token, &second] {
        let res = app.scim_as(token, Method::GET, "/Users", None).await;
        assert_eq!(res.status(), 200);
    }
    // The revoking process evicts its cache at once.
    app.stores
        .tokens
        .revoke(app.tenant.id, &Actor::System, second_id)
        .await?;
    app.auth.evict(&[second_id]);
    let (status, body) = read(app.scim_as(&second, Method::GET, "/Users", None).await).await;
    assert_scim_error(status, &body, 401, None, "revoked token");
    let res = app.scim_as(&app.tenant.token, Method::GET, "/Users", None).await;
    assert_eq!(
        res.status(),
        200,
        "the other token keeps working (rotation without downtime)"
    );
    Ok(())
}

#[tokio::test]
async fn a_token_revoked_by_another_process_stops_working_within_a_second() -> TestResult {
    let app = spawn_app().await;
    let res = app.scim(Method::GET, "/Users", None).await;
    assert_eq!(res.status(), 200, "the token is verified and cached");
    // Revoke in the database only, as another replica or the CLI would.
    app.stores
        .tokens
        .revoke(app.tenant.id, &Actor::System, app.tenant.token_id)
        .await?;
    let revoked_at = Instant::now();
    loop {
        let status = app.scim(Method::GET, "/Users", None).await.status().as_u16();
        if status == 401 {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_millis(1000),
            "still accepted one second after revocation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[tokio::test]
async fn expired_tokens_and_tokens_of_tenants_without_scim_are_refused() -> TestResult {
    let app = spawn_app().await;
    let (expired, _) = app
        .issue_token(app.tenant.id, Some(chrono::Utc::now() - chrono::Duration::seconds(1)))
        .await;
    let (status, body) = read(app.scim_as(&expired, Method::GET, "/Users", None).await).await;
    assert_scim_error(status, &body, 401, None, "expired token");
    let other = app.new_tenant("initech").await;
    app.stores
        .tenants
        .set_scim_enabled(other.id, &Actor::System, false)
        .await?;
    let (status, body) = read(app.scim_as(&other.token, Method::GET, "/Users", None).await).await;
    assert_scim_error(status, &body, 401, None, "tenant with SCIM disabled");
    Ok(())
}

#[tokio::test]
async fn the_database_holds_only_argon2id_hashes_of_tokens() -> TestResult {
    let app = spawn_app().await;
    let res = app.scim(Method::GET, "/Users", None).await;
    assert_eq!(res.status(), 200);
    let conn = app.db.connection();
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT secret_hash, label, id FROM scim_tokens",
        ))
        .await?;
    assert!(!rows.is_empty());
    for row in rows {
        let hash: String = row.try_get("", "secret_hash")?;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(&app.tenant.token[7..]));
    }
    let events = app.events(app.tenant.id).await;
    assert!(
        !serde_json::to_string(&events)?.contains(&app.tenant.token[7..]),
        "no token in events"
    );
    if app.database_url.starts_with("sqlite") {
        let path = app
            .database_url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap_or_default()
            .to_owned();
        let _ = conn.execute_unprepared("PRAGMA wal_checkpoint(FULL)").await;
        let mut bytes = std::fs::read(&path)?;
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        let secret = &app.tenant.token.as_bytes()[7..];
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "the plaintext token is nowhere in the database file"
        );
    }
    Ok(())
}
