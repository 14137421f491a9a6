//! Prometheus metrics for both listeners: request counts and durations by listener, method,
//! route pattern and status (never a tenant, a user or a raw path), served at `/metrics`
//! together with the SCIM authentication and worker counters.

use std::sync::LazyLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, TextEncoder, register_histogram_vec,
    register_int_counter_vec,
};

static REQUESTS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register_int_counter_vec!(
        Opts::new(
            "http_requests_total",
            "HTTP requests by listener, method, route and status"
        ),
        &["listener", "method", "route", "status"]
    )
    .ok()
});

static DURATION: LazyLock<Option<HistogramVec>> = LazyLock::new(|| {
    register_histogram_vec!(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "HTTP request duration by listener and route"
        )
        .buckets(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
        &["listener", "route"]
    )
    .ok()
});

async fn observe(
    listener: &'static str,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    // The route pattern (`/api/scim/v2/Users/{id}`), so ids never become label values.
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let res = next.call(req).await?;
    let status = res.status().as_u16().to_string();
    if let Some(c) = REQUESTS.as_ref() {
        c.with_label_values(&[listener, method.as_str(), route.as_str(), status.as_str()])
            .inc();
    }
    if let Some(h) = DURATION.as_ref() {
        h.with_label_values(&[listener, route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(res)
}

/// Middleware for the public (SCIM, SSO) listener.
pub async fn scim_listener(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    observe("scim", req, next).await
}

/// Middleware for the admin listener.
pub async fn admin_listener(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    observe("admin", req, next).await
}

/// `GET /metrics`: the Prometheus text exposition of the process-wide registry.
pub async fn metrics() -> HttpResponse {
    LazyLock::force(&REQUESTS);
    LazyLock::force(&DURATION);
    let mut buf = Vec::new();
    let encoder = TextEncoder::new();
    match encoder.encode(&prometheus::gather(), &mut buf) {
        Ok(()) => HttpResponse::Ok().content_type(encoder.format_type()).body(buf),
        Err(e) => {
            tracing::warn!(error.message = %e, "could not encode metrics");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Echoes the request id of the request's tracing span as `X-Request-Id`, so a customer's IdP
/// log line can be matched with ours.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    use actix_web::HttpMessage;
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|r| r.to_string());
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| actix_web::http::header::HeaderValue::from_str(&id).ok()) {
        res.headers_mut()
            .insert(actix_web::http::header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}
