//! The shipped binary's CLI: JSON on stdout, clear refusals with exit status 2.

use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::{TestResult, fresh_database_url, read, settings};

const METADATA: &str = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/exkCLI">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>
      <ds:X509Certificate>QUJDREVG</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.okta.com/app/sso/saml"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#;

fn run(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provisioning"))
        .args(args)
        .env("PROVISIONING__DATABASE__URL", db)
        .env("PROVISIONING__HTTP__PUBLIC_BASE_URL", "https://scim.betatesting.test")
        .env("PROVISIONING__LOG__FORMAT", "json")
        .env_remove("PROVISIONING_CONFIG")
        .output()
        .expect("run the binary")
}

fn json_out(out: &Output) -> Value {
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("stdout is exactly one JSON document")
}

#[tokio::test]
async fn cli_sets_up_a_tenant_whose_token_works_against_the_server() -> TestResult {
    let db = fresh_database_url().await;
    let tenant = json_out(&run(
        &db,
        &["tenant", "create", "--slug", "acme", "--name", "Acme Corp"],
    ));
    assert_eq!(tenant["slug"], "acme");
    let dup = run(&db, &["tenant", "create", "--slug", "acme", "--name", "Again"]);
    assert_eq!(dup.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already taken"));

    let refused = run(&db, &["scim", "enable", "--tenant", "acme"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no SAML connection"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let dir = std::env::temp_dir().join(format!("cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let metadata = dir.join("okta.xml");
    std::fs::write(&metadata, METADATA)?;
    let conn = json_out(&run(
        &db,
        &[
            "sso",
            "set-saml",
            "--tenant",
            "acme",
            "--metadata-file",
            metadata.to_str().unwrap_or_default(),
        ],
    ));
    assert_eq!(conn["idp_entity_id"], "http://www.okta.com/exkCLI");
    assert_eq!(conn["idp_sso_url"], "https://acme.okta.com/app/sso/saml");
    assert_eq!(conn["acs_url"], "https://scim.betatesting.test/sso/acme/acs");
    assert_eq!(
        conn["sp_metadata_url"],
        "https://scim.betatesting.test/sso/acme/metadata"
    );
    assert_eq!(conn["sp_entity_id"], conn["sp_metadata_url"]);

    let cert = dir.join("idp.pem");
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n")?;
    let conn = json_out(&run(
        &db,
        &[
            "sso",
            "set-saml",
            "--tenant",
            "acme",
            "--entity-id",
            "urn:idp",
            "--sso-url",
            "https://idp.test/sso",
            "--cert-file",
            cert.to_str().unwrap_or_default(),
        ],
    ));
    assert_eq!(conn["idp_entity_id"], "urn:idp");
    let bad = run(
        &db,
        &[
            "sso",
            "set-saml",
            "--tenant",
            "acme",
            "--entity-id",
            "urn:idp",
            "--sso-url",
            "ftp://x",
            "--cert-file",
            cert.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(bad.status.code(), Some(2));

    let enabled = json_out(&run(&db, &["scim", "enable", "--tenant", "acme"]));
    assert_eq!(enabled["base_url"], "https://scim.betatesting.test/api/scim/v2");
    let token = enabled["token"].as_str().unwrap_or_default().to_owned();
    assert!(token.starts_with("btscim_"));
    let second = json_out(&run(
        &db,
        &[
            "scim",
            "token",
            "issue",
            "--tenant",
            "acme",
            "--label",
            "rotation",
            "--expires-in-days",
            "30",
        ],
    ));
    let listed = json_out(&run(&db, &["scim", "token", "list", "--tenant", "acme"]));
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    assert!(
        !listed.to_string().contains(&token[7..]),
        "listing never shows a secret"
    );
    assert!(listed.to_string().contains("rotation"));

    // The token works against a server on the same database; the revoked one stops.
    let app =
        provisioning::startup::Application::build(&settings(db.clone()), provisioning::startup::Roles::ScimApi, true)
            .await?;
    let base = format!("http://127.0.0.1:{}/api/scim/v2", app.scim_port().unwrap_or_default());
    tokio::spawn(app.run_until_stopped());
    let client = crate::helpers::http_client();
    let (status, body) = read(
        client
            .get(format!("{base}/Users?startIndex=1&count=2"))
            .bearer_auth(&token)
            .send()
            .await?,
    )
    .await;
    assert_eq!((status, body["totalResults"].clone()), (200, serde_json::json!(0)));
    let second_token = second["token"].as_str().unwrap_or_default().to_owned();
    let second_id = second["token_id"].as_str().unwrap_or_default().to_owned();
    let res = client
        .get(format!("{base}/Users"))
        .bearer_auth(&second_token)
        .send()
        .await?;
    assert_eq!(res.status(), 200);
    let revoked = json_out(&run(
        &db,
        &["scim", "token", "revoke", "--tenant", "acme", "--id", &second_id],
    ));
    assert!(revoked["revoked_at"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let res = client
        .get(format!("{base}/Users"))
        .bearer_auth(&second_token)
        .send()
        .await?;
    assert_eq!(
        res.status(),
        401,
        "a CLI revocation reaches the running server within a second"
    );
    Ok(())
}

#[test]
fn unknown_configuration_keys_are_refused_at_start_up() {
    let out = Command::new(env!("CARGO_BIN_EXE_provisioning"))
        .args(["migrate"])
        .env("PROVISIONING__HTTP__SCIM_LISTN", "127.0.0.1:1")
        .env("PROVISIONING__DATABASE__URL", "sqlite::memory:")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("scim_listn"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `provisioning serve` with no configuration at all: the embedded SQLite file under
/// `./data`, and Okta's connector probe answered.
#[tokio::test]
async fn serve_with_no_configuration_answers_the_okta_connector_probe() -> TestResult {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = std::env::temp_dir().join(format!("serve-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let bin = env!("CARGO_BIN_EXE_provisioning");
    let cli = |args: &[&str]| {
        let out = Command::new(bin)
            .args(args)
            .current_dir(&dir)
            .env_remove("PROVISIONING_CONFIG")
            .output()
            .expect("run");
        json_out(&out)
    };
    // Ports 0 only so that parallel tests do not collide; everything else is the default.
    let mut child = Command::new(bin)
        .arg("serve")
        .current_dir(&dir)
        .env_remove("PROVISIONING_CONFIG")
        .env("PROVISIONING__HTTP__SCIM_LISTEN", "127.0.0.1:0")
        .env("PROVISIONING__HTTP__ADMIN_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("stderr");
    // Keep draining stderr so the server never writes into a closed pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if v["message"] == "listening" {
                let _ = tx.send(v["scim_port"].as_u64());
            }
        }
    });
    let port = tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(60)))
        .await??
        .expect("the server logs its port");
    assert!(
        dir.join("data/provisioning.db").exists(),
        "the embedded database is ./data/provisioning.db"
    );
    cli(&["tenant", "create", "--slug", "acme", "--name", "Acme"]);
    let cert = dir.join("idp.pem");
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n")?;
    cli(&[
        "sso",
        "set-saml",
        "--tenant",
        "acme",
        "--entity-id",
        "urn:idp",
        "--sso-url",
        "https://idp.test/sso",
        "--cert-file",
        "idp.pem",
    ]);
    let enabled = cli(&["scim", "enable", "--tenant", "acme"]);
    let token = enabled["token"].as_str().unwrap_or_default().to_owned();
    let res = crate::helpers::http_client()
        .get(format!(
            "http://127.0.0.1:{port}/api/scim/v2/Users?startIndex=1&count=2"
        ))
        .bearer_auth(&token)
        .header("User-Agent", "Okta SCIM Client 1.0.0")
        .send()
        .await?;
    let (status, body) = read(res).await;
    child.kill()?;
    let _ = child.wait();
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );
    Ok(())
}
