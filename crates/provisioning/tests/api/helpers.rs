//! `spawn_app()`: the real application on random ports over a fresh database, and typed
//! helpers to talk SCIM to it.

use std::sync::Arc;

use domain::events::Actor;
use domain::tenant::{SamlIdp, Slug, TenantId};
use persistence::{Database, Stores};
use provisioning::settings::{
    AdminSettings, DatabaseSettings, HttpSettings, LogSettings, RedisSettings, RolesSettings, ScimSettings, Settings,
    WorkerSettings,
};
use provisioning::startup::{Application, Roles};
use reqwest::{Method, Response};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Which database the suite runs on: `TEST_DATABASE_URL` = `sqlite` (default) or a
/// `postgres://` URL of a server on which each test gets its own database.
pub async fn fresh_database_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let name = format!("test_{}", Uuid::new_v4().simple());
            let server = Database::connect(&url).await.expect("connect to the Postgres server");
            server
                .connection()
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create a test database");
            let (base, _) = url.rsplit_once('/').expect("a database URL with a path");
            format!("{base}/{name}")
        }
        _ => {
            let path = std::env::temp_dir().join(format!("provisioning-test-{}.db", Uuid::new_v4().simple()));
            format!("sqlite://{}?mode=rwc", path.display())
        }
    }
}

pub fn settings(database_url: String) -> Settings {
    Settings {
        database: DatabaseSettings { url: database_url },
        redis: RedisSettings::default(),
        http: HttpSettings {
            scim_listen: "127.0.0.1:0".into(),
            admin_listen: "127.0.0.1:0".into(),
            public_base_url: "http://scim.test".into(),
        },
        admin: AdminSettings::default(),
        log: LogSettings {
            format: Some("pretty".into()),
            level: Some("warn".into()),
        },
        scim: ScimSettings {
            max_results: 100,
            max_body_bytes: 64 * 1024,
            token_cache: true,
        },
        roles: RolesSettings::default(),
        // Tests drive the worker's step function themselves (`TestApp::drain`).
        worker: WorkerSettings {
            max_attempts: 3,
            base_backoff_ms: 50,
            idle_poll_ms: 50,
            in_process: false,
        },
    }
}

/// A tenant with SAML and SCIM enabled, and its token.
#[derive(Clone)]
pub struct TestTenant {
    pub id: TenantId,

    pub token: String,
    pub token_id: Uuid,
}

pub struct TestApp {
    /// `http://127.0.0.1:<port>/api/scim/v2`
    pub base: String,
    pub address: String,
    pub admin_address: String,
    pub client: reqwest::Client,
    pub tenant: TestTenant,
    pub stores: Stores,
    pub db: Database,
    pub database_url: String,
    pub auth: Arc<scim_api::auth::TokenAuth>,
    pub worker: worker::Worker,
}

/// An HTTP client (the process's TLS provider installed first, as the binary does).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let database_url = fresh_database_url().await;
    let mut settings = settings(database_url.clone());
    tweak(&mut settings);
    provisioning::telemetry::init(&settings.log);
    let app = Application::build(&settings, Roles::All, true)
        .await
        .expect("build the application");
    let port = app.scim_port().expect("SCIM listener");
    let admin_port = app.admin_port().expect("admin listener");
    let db = app.db.clone();
    let stores = app.stores.clone();
    let auth = app.auth.clone();
    let worker = app.worker(&settings).expect("worker");
    tokio::spawn(app.run_until_stopped());
    let address = format!("http://127.0.0.1:{port}");
    let mut test = TestApp {
        base: format!("{address}/api/scim/v2"),
        address,
        admin_address: format!("http://127.0.0.1:{admin_port}"),
        client: http_client(),
        tenant: TestTenant {
            id: TenantId(Uuid::nil()),
            token: String::new(),
            token_id: Uuid::nil(),
        },
        stores,
        db,
        database_url,
        auth,
        worker,
    };
    test.tenant = test.new_tenant("acme").await;
    test
}

impl TestApp {
    /// Creates a tenant with a SAML connection, SCIM enabled and one token.
    pub async fn new_tenant(&self, slug: &str) -> TestTenant {
        let t = self
            .stores
            .tenants
            .create(&Actor::System, Slug::parse(slug).expect("slug"), format!("{slug} Inc."))
            .await
            .expect("create tenant");
        let idp = SamlIdp {
            entity_id: format!("http://www.okta.com/{slug}"),
            sso_url: format!("https://{slug}.okta.com/app/sso/saml"),
            certificates: vec!["-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n".into()],
        };
        self.stores
            .tenants
            .set_saml(t.id, &Actor::System, idp)
            .await
            .expect("set SAML");
        self.stores
            .tenants
            .set_scim_enabled(t.id, &Actor::System, true)
            .await
            .expect("enable SCIM");
        let (token, token_id) = self.issue_token(t.id, None).await;
        TestTenant {
            id: t.id,
            token,
            token_id,
        }
    }

    pub async fn issue_token(&self, t: TenantId, expires: Option<chrono::DateTime<chrono::Utc>>) -> (String, Uuid) {
        let new = domain::token::generate().expect("generate a token");
        self.stores
            .tokens
            .insert(t, &Actor::System, &new, "test".into(), expires)
            .await
            .expect("store token");
        (new.plaintext.clone(), new.id)
    }

    /// A SCIM request with the default tenant's token.
    pub async fn scim(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        self.scim_as(&self.tenant.token, method, path, body).await
    }

    pub async fn scim_as(&self, token: &str, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("Accept", "application/scim+json");
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/scim+json; charset=utf-8")
                .body(b.to_string());
        }
        req.send().await.expect("request reaches the app")
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        read(self.scim(Method::GET, path, None).await).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        read(self.scim(Method::POST, path, Some(body)).await).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        read(self.scim(Method::PUT, path, Some(body)).await).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (u16, Value) {
        read(self.scim(Method::PATCH, path, Some(body)).await).await
    }

    pub async fn delete(&self, path: &str) -> u16 {
        self.scim(Method::DELETE, path, None).await.status().as_u16()
    }

    /// Creates a user with Okta's create body and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let (status, body) = self.post("/Users", &okta_user(user_name)).await;
        assert_eq!(status, 201, "creating {user_name}: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    pub async fn create_group(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let (status, body) = self
            .post(
                "/Groups",
                &json!({"schemas": [domain::schema::GROUP_SCHEMA], "displayName": name, "members": members}),
            )
            .await;
        assert_eq!(status, 201, "creating group {name}: {body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// The sorted member ids of a group, read back through SCIM.
    pub async fn member_ids(&self, group: &str) -> Vec<String> {
        let (status, body) = self.get(&format!("/Groups/{group}")).await;
        assert_eq!(status, 200, "{body}");
        let mut ids: Vec<String> = body["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|x| x["value"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// The tenant's event types, oldest first.
    pub async fn event_types(&self, t: TenantId) -> Vec<String> {
        self.events(t)
            .await
            .iter()
            .map(|e| e["type"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// The tenant's event envelopes, oldest first (the outbox feed the admin API serves).
    pub async fn events(&self, t: TenantId) -> Vec<Value> {
        self.stores.directory.feed(t, None, 10_000).await.expect("read events")
    }
}

impl TestApp {
    /// Runs the worker's step until the outbox and the due deliveries are empty.
    pub async fn drain(&self) {
        for _ in 0..1000 {
            if self.worker.try_execute_next().await.expect("worker step") == worker::Outcome::Empty {
                return;
            }
        }
        panic!("the worker never ran out of work");
    }

    /// An admin JWT minted with the configured (development) key.
    pub fn admin_token(&self, role: &str) -> String {
        let settings = settings(self.database_url.clone());
        let role = admin_api::auth::AdminRole::parse(role).expect("role");
        settings
            .jwt()
            .expect("jwt")
            .mint(&format!("{}@betatesting.test", "am"), role, chrono::Duration::hours(1))
            .expect("mint")
    }

    /// An admin API call; `token` None sends no Authorization header.
    pub async fn admin(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value, String) {
        let mut req = self.client.request(method, format!("{}{path}", self.admin_address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("admin request");
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let (status, body) = read(res).await;
        (status, body, content_type)
    }
}

pub async fn read(res: Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// The body Okta sends on create (idp-wire.md §4).
pub fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": format!("00u{}", &Uuid::new_v4().simple().to_string()[..17]),
        "groups": [],
        "password": "1mz050nq",
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    })
}

/// Asserts a SCIM error body: schema, string status, scimType.
pub fn assert_scim_error(status: u16, body: &Value, want_status: u16, want_type: Option<&str>, context: &str) {
    assert_eq!(status, want_status, "{context}: {body}");
    assert_eq!(body["schemas"][0], domain::schema::ERROR, "{context}: {body}");
    assert_eq!(
        body["status"],
        want_status.to_string(),
        "{context}: status must be a string: {body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{context}: detail: {body}"
    );
    match want_type {
        Some(t) => assert_eq!(body["scimType"], t, "{context}: {body}"),
        None => assert!(body.get("scimType").is_none(), "{context}: unexpected scimType: {body}"),
    }
}

pub fn encode(filter: &str) -> String {
    filter
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
