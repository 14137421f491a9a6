//! Records method, path, status and `scimType` of every authenticated SCIM request (never a
//! body, a query string or a header), for the admin provisioning report. Entries go through a
//! bounded channel and are written in batches, so logging never adds a database write to a
//! request's latency; when the channel is full, entries are dropped rather than slowing SCIM.

use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use domain::ports::{RequestLog, ScimRequest};
use domain::tenant::TenantId;
use tokio::sync::mpsc;

use crate::ScimState;
use crate::auth::TenantContext;
use crate::error::ScimType;

const CAPACITY: usize = 10_000;
const BATCH: usize = 500;

/// The sending side, kept in [`ScimState`].
#[derive(Clone)]
pub struct RequestLogger {
    tx: mpsc::Sender<(TenantId, ScimRequest)>,
}

impl RequestLogger {
    /// Starts the writer task; it flushes every 200 ms and stops when every sender is dropped.
    pub fn start(store: Arc<dyn RequestLog>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(TenantId, ScimRequest)>(CAPACITY);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                let open = tokio::time::timeout(Duration::from_millis(200), rx.recv_many(&mut batch, BATCH)).await;
                if !batch.is_empty()
                    && let Err(e) = store.record(std::mem::take(&mut batch)).await
                {
                    tracing::warn!(error.message = %e, "could not log SCIM requests");
                }
                if matches!(open, Ok(0)) {
                    break;
                }
            }
        });
        Self { tx }
    }

    fn log(&self, t: TenantId, r: ScimRequest) {
        let _ = self.tx.try_send((t, r));
    }
}

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
    if let (Some(ctx), Some(logger)) = (tenant, state.as_ref().and_then(|s| s.request_log.as_ref())) {
        logger.log(
            ctx.tenant_id,
            ScimRequest {
                method,
                path,
                status: res.status().as_u16(),
                scim_type: res
                    .response()
                    .extensions()
                    .get::<ScimType>()
                    .map(|t| t.as_str().to_owned()),
                at: chrono::Utc::now(),
            },
        );
    }
    Ok(res)
}
