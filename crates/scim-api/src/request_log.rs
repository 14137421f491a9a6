//! Records method, path, status and `scimType` of every authenticated SCIM request (never a
//! body, a query string or a header), for the admin provisioning report.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use domain::ports::ScimRequest;

use crate::ScimState;
use crate::auth::TenantContext;
use crate::error::ScimType;

/// `actix_web::middleware::from_fn(record)`.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<ScimState>>().cloned();
    let res = next.call(req).await?;
    let tenant = res.request().extensions().get::<TenantContext>().copied();
    if let (Some(ctx), Some(log)) = (tenant, state.and_then(|s| s.request_log.clone())) {
        let entry = ScimRequest {
            method,
            path,
            status: res.status().as_u16(),
            scim_type: res
                .response()
                .extensions()
                .get::<ScimType>()
                .map(|t| t.as_str().to_owned()),
            at: chrono::Utc::now(),
        };
        tokio::spawn(async move {
            if let Err(e) = log.record(ctx.tenant_id, entry).await {
                tracing::warn!(error.message = %e, "could not log a SCIM request");
            }
        });
    }
    Ok(res)
}
