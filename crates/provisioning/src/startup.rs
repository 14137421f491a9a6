//! Wiring: database, stores, token verifier, and the two HTTP listeners.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, web};
use admin_api::AdminState;
use admin_api::problem::Problem;
use anyhow::Context;
use domain::roles::RoleCatalogue;
use persistence::{Database, Stores};
use scim_api::ScimState;
use scim_api::auth::TokenAuth;
use scim_api::telemetry::TenantRootSpan;
use serde_json::json;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::settings::Settings;

/// Which parts of the product a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roles {
    /// SCIM/SSO listener, admin listener and event processing.
    All,
    ScimApi,
    AdminApi,
    /// Only event processing.
    Worker,
}

/// A built, bound, not yet running application.
pub struct Application {
    scim: Option<(Server, u16)>,
    admin: Option<(Server, u16)>,
    maintenance: Option<tokio::task::JoinHandle<()>>,
    worker: Option<tokio::task::JoinHandle<()>>,
    pub db: Database,
    pub stores: Stores,
    pub auth: Arc<TokenAuth>,
    pub catalogue: Arc<RoleCatalogue>,
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

async fn readyz(db: web::Data<Database>) -> HttpResponse {
    if db.ping().await {
        HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"status": "not ready", "database": "unreachable"}))
    }
}

async fn admin_not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, Problem> {
    Err(Problem::not_found(format!(
        "no admin endpoint at {} {}",
        req.method(),
        req.path()
    )))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn bind(addr: &str) -> anyhow::Result<(TcpListener, u16)> {
    let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let port = listener.local_addr()?.port();
    Ok((listener, port))
}

impl Application {
    /// Connects, migrates (when `migrate`), and binds the listeners of `roles`.
    pub async fn build(settings: &Settings, roles: Roles, migrate: bool) -> anyhow::Result<Self> {
        let db = Database::connect(&settings.database.url)
            .await
            .context("connecting to the database")?;
        if migrate {
            db.migrate().await.context("applying migrations")?;
        }
        let catalogue = Arc::new(settings.roles.catalogue()?);
        let stores = db.stores(catalogue.clone());
        let auth = Arc::new(TokenAuth::new(stores.tokens.clone(), settings.scim.token_cache));
        let mut app = Self {
            scim: None,
            admin: None,
            maintenance: None,
            worker: None,
            db,
            stores,
            auth,
            catalogue,
        };
        if matches!(roles, Roles::All | Roles::ScimApi) {
            app.scim = Some(app.scim_server(settings)?);
            app.maintenance = Some(tokio::spawn(app.auth.clone().run_maintenance()));
        }
        if matches!(roles, Roles::All | Roles::AdminApi) {
            app.admin = Some(app.admin_server(settings)?);
        }
        let in_process = roles == Roles::All && settings.worker.in_process;
        if in_process || roles == Roles::Worker {
            let worker = app.worker(settings)?;
            app.worker = Some(tokio::spawn(worker.run_until_stopped()));
        }
        Ok(app)
    }

    fn scim_server(&self, settings: &Settings) -> anyhow::Result<(Server, u16)> {
        let (listener, port) = bind(&settings.http.scim_listen)?;
        let state = web::Data::new(ScimState {
            users: self.stores.users.clone(),
            groups: self.stores.groups.clone(),
            auth: self.auth.clone(),
            base_url: settings.scim_base_url(),
            max_results: settings.scim.max_results,
            max_body_bytes: settings.scim.max_body_bytes,
            request_log: Some(scim_api::request_log::RequestLogger::start(
                self.stores.request_log.clone(),
            )),
        });
        let db = web::Data::new(self.db.clone());
        let limit = settings.scim.max_body_bytes;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(scim_api::request_log::record))
                .wrap(actix_web::middleware::from_fn(crate::metrics::scim_listener))
                .wrap(actix_web::middleware::from_fn(crate::metrics::request_id_header))
                .wrap(TracingLogger::<TenantRootSpan>::new())
                .app_data(state.clone())
                .app_data(db.clone())
                .app_data(web::PayloadConfig::new(limit))
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(crate::metrics::metrics))
                .configure(scim_api::configure)
        })
        .listen(listener)?
        .run();
        Ok((server, port))
    }

    fn admin_server(&self, settings: &Settings) -> anyhow::Result<(Server, u16)> {
        let (listener, port) = bind(&settings.http.admin_listen)?;
        let db = web::Data::new(self.db.clone());
        let auth = self.auth.clone();
        let state = web::Data::new(AdminState {
            tenants: self.stores.tenants.clone(),
            tokens: self.stores.tokens.clone(),
            roles: self.stores.roles.clone(),
            directory: self.stores.directory.clone(),
            webhooks: self.stores.webhooks.clone(),
            catalogue: self.catalogue.clone(),
            jwt: settings.jwt()?,
            public_base_url: settings.http.public_base_url.clone(),
            on_tokens_revoked: Arc::new(move |ids: &[uuid::Uuid]| auth.evict(ids)),
        });
        let server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(admin_api::ApiDoc::openapi())
                .app_data(state.clone())
                .app_data(db.clone())
                .configure(admin_api::configure)
                .split_for_parts();
            app.wrap(actix_web::middleware::from_fn(crate::metrics::admin_listener))
                .wrap(actix_web::middleware::from_fn(crate::metrics::request_id_header))
                .wrap(TracingLogger::<TenantRootSpan>::new())
                .configure(admin_api::extractor_config)
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(crate::metrics::metrics))
                .route(
                    "/admin/docs",
                    web::get().to(|| async {
                        HttpResponse::PermanentRedirect()
                            .insert_header(("Location", "/admin/docs/"))
                            .finish()
                    }),
                )
                .service(SwaggerUi::new("/admin/docs/{_:.*}").url("/admin/openapi.json", api))
                .default_service(web::to(admin_not_found))
        })
        .listen(listener)?
        .run();
        Ok((server, port))
    }

    /// A worker over this application's database (tests drive its step function directly).
    pub fn worker(&self, settings: &Settings) -> anyhow::Result<worker::Worker> {
        worker::Worker::new(self.stores.events.clone(), settings.worker.config())
    }

    /// The bound port of the public (SCIM, SSO) listener.
    pub fn scim_port(&self) -> Option<u16> {
        self.scim.as_ref().map(|s| s.1)
    }

    /// The bound port of the admin listener.
    pub fn admin_port(&self) -> Option<u16> {
        self.admin.as_ref().map(|s| s.1)
    }

    /// Serves until a listener stops (both stop gracefully on SIGTERM / ctrl-c).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let auth = self.auth.clone();
        let servers: Vec<Server> = [self.scim, self.admin].into_iter().flatten().map(|s| s.0).collect();
        let results = if servers.is_empty() {
            // Worker only: run until SIGTERM or ctrl-c.
            shutdown_signal().await;
            Vec::new()
        } else {
            futures_util::future::join_all(servers).await
        };
        for task in [self.maintenance, self.worker].into_iter().flatten() {
            task.abort();
        }
        auth.flush_last_used().await;
        for r in results {
            r?;
        }
        Ok(())
    }
}
