//! Tenant webhooks: endpoints (the signing secret is shown once), deliveries and replay.

use actix_web::{HttpResponse, delete, get, post, web};
use domain::webhooks::{Delivery, Webhook};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AdminState;
use crate::auth::Principal;
use crate::problem::Problem;

/// `POST .../webhooks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed (https in production).
    pub url: String,
    /// Event types to deliver (e.g. `user.deactivated`); empty or absent means all.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Webhook> for WebhookDto {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            url: w.url,
            event_types: w.event_types,
            created_at: w.created_at,
        }
    }
}

/// A new endpoint with its signing secret, shown once. Receivers check
/// `X-BetaTesting-Signature: sha256=<hex HMAC-SHA256(secret, "<X-BetaTesting-Timestamp>.<body>")>`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookDto,
    pub secret: String,
}

/// One event's delivery to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    /// `pending`, `succeeded` or `dead` (every attempt failed; replayable).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<Delivery> for DeliveryDto {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// The tenant's webhook endpoints (never their secrets). Any role.
#[utoipa::path(tag = "webhooks", params(("t" = String, Path, description = "tenant slug")), security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<WebhookDto>), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/webhooks")]
pub async fn list_webhooks(
    state: web::Data<AdminState>,
    _who: Principal,
    t: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let tenant = state.tenant(&t).await?;
    let list: Vec<WebhookDto> = state
        .webhooks
        .list(tenant.id)
        .await?
        .into_iter()
        .map(WebhookDto::from)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// Registers an endpoint; the signing secret is in this response only. Role: account_manager or admin.
#[utoipa::path(tag = "webhooks", params(("t" = String, Path, description = "tenant slug")), request_body = NewWebhook,
    security(("bearer" = [])),
    responses((status = 201, description = "Created", body = CreatedWebhook), (status = 400, description = "Invalid request (problem details)", body = Problem),
              (status = 401, description = "Missing or invalid admin token", body = Problem), (status = 403, description = "The token's role may not do this", body = Problem),
              (status = 404, description = "Not found", body = Problem)))]
#[post("/tenants/{t}/webhooks")]
pub async fn create_webhook(
    state: web::Data<AdminState>,
    who: Principal,
    t: web::Path<String>,
    body: web::Json<NewWebhook>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let tenant = state.tenant(&t).await?;
    let body = body.into_inner();
    if body.event_types.iter().any(|e| e.trim().is_empty() || !e.contains('.')) {
        return Err(Problem::bad_request(
            "event_types must be event type names such as 'user.deactivated'",
        ));
    }
    let secret = domain::webhooks::generate_secret().map_err(|e| Problem::from(domain::DomainError::Unexpected(e)))?;
    let hook = state
        .webhooks
        .create(tenant.id, &who.actor(), body.url, body.event_types, secret.clone())
        .await?;
    Ok(HttpResponse::Created().json(CreatedWebhook {
        webhook: hook.into(),
        secret,
    }))
}

/// Removes an endpoint and its deliveries. Role: account_manager or admin.
#[utoipa::path(tag = "webhooks", params(("t" = String, Path, description = "tenant slug"), ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[delete("/tenants/{t}/webhooks/{id}")]
pub async fn delete_webhook(
    state: web::Data<AdminState>,
    who: Principal,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let (t, id) = path.into_inner();
    let tenant = state.tenant(&t).await?;
    state.webhooks.delete(tenant.id, &who.actor(), id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An endpoint's delivery attempts, newest first. Any role.
#[utoipa::path(tag = "webhooks", params(("t" = String, Path, description = "tenant slug"), ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 200, description = "OK", body = Vec<DeliveryDto>), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 404, description = "Not found", body = Problem)))]
#[get("/tenants/{t}/webhooks/{id}/deliveries")]
pub async fn list_deliveries(
    state: web::Data<AdminState>,
    _who: Principal,
    path: web::Path<(String, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (t, id) = path.into_inner();
    let tenant = state.tenant(&t).await?;
    let list = state
        .webhooks
        .deliveries(tenant.id, id, 200)
        .await?
        .ok_or_else(|| Problem::not_found(format!("webhook {id} not found")))?;
    Ok(HttpResponse::Ok().json(list.into_iter().map(DeliveryDto::from).collect::<Vec<_>>()))
}

/// Queues a delivery again (attempts reset). Role: account_manager or admin.
#[utoipa::path(tag = "webhooks",
    params(("t" = String, Path, description = "tenant slug"), ("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    security(("bearer" = [])),
    responses((status = 202, description = "Queued", body = DeliveryDto), (status = 401, description = "Missing or invalid admin token", body = Problem),
              (status = 403, description = "The token's role may not do this", body = Problem), (status = 404, description = "Not found", body = Problem)))]
#[post("/tenants/{t}/webhooks/{id}/deliveries/{delivery_id}/replay")]
pub async fn replay_delivery(
    state: web::Data<AdminState>,
    who: Principal,
    path: web::Path<(String, Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    who.require_write()?;
    let (t, id, delivery) = path.into_inner();
    let tenant = state.tenant(&t).await?;
    let d = state.webhooks.replay(tenant.id, &who.actor(), id, delivery).await?;
    Ok(HttpResponse::Accepted().json(DeliveryDto::from(d)))
}
