//! The worker: moves outbox events into the audit trail and delivers tenant webhooks, signed
//! with HMAC-SHA256, retried with exponential backoff and dead-lettered after the last attempt.
//!
//! A thin loop (`run_until_stopped`) around a testable step (`try_execute_next`). Work is
//! claimed in the database (row locks with SKIP LOCKED on Postgres, leases on deliveries), so
//! any number of workers can run against one database. Must never import actix or sea-orm.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chrono::Utc;
use domain::ports::{AttemptOutcome, EventProcessor};
use domain::webhooks::{DueDelivery, signature};
use prometheus::{IntCounter, IntCounterVec, register_int_counter, register_int_counter_vec};

/// Tuning.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Attempts per delivery before it goes dead.
    pub max_attempts: i32,
    /// First retry delay; doubles each attempt, capped at one hour.
    pub base_backoff: Duration,
    /// Sleep when there is nothing to do.
    pub idle_poll: Duration,
    /// Per-request timeout for webhook receivers.
    pub request_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_backoff: Duration::from_secs(10),
            idle_poll: Duration::from_millis(250),
            request_timeout: Duration::from_secs(10),
        }
    }
}

static EVENTS: LazyLock<Option<IntCounter>> = LazyLock::new(|| {
    register_int_counter!(
        "worker_events_processed_total",
        "Outbox events moved into the audit trail"
    )
    .ok()
});

static DELIVERIES: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register_int_counter_vec!(
        "webhook_delivery_attempts_total",
        "Webhook delivery attempts by outcome (succeeded, retry, dead)",
        &["outcome"]
    )
    .ok()
});

/// Deliveries attempted per step.
const BATCH: u64 = 20;

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Some events or deliveries were handled: call again at once.
    Done,
    /// Nothing to do.
    Empty,
}

/// The event processor.
pub struct Worker {
    store: Arc<dyn EventProcessor>,
    http: reqwest::Client,
    config: WorkerConfig,
}

impl Worker {
    /// A worker over the store.
    pub fn new(store: Arc<dyn EventProcessor>, config: WorkerConfig) -> anyhow::Result<Self> {
        // One TLS stack in the binary: rustls with ring, as the database driver uses.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("BetaTesting-Webhooks/1")
            .build()?;
        Ok(Self { store, http, config })
    }

    /// Processes a batch of outbox events and attempts the deliveries that are due.
    pub async fn try_execute_next(&self) -> anyhow::Result<Outcome> {
        let processed = self.store.process_outbox(200).await?;
        if let Some(c) = EVENTS.as_ref() {
            c.inc_by(processed);
        }
        // The lease outlasts the whole batch even if every receiver times out, so no other
        // worker takes a delivery this one is still sending.
        let lease = self.config.request_timeout.saturating_mul(BATCH as u32) + std::time::Duration::from_secs(30);
        let lease = Utc::now() + chrono::Duration::from_std(lease).unwrap_or_else(|_| chrono::Duration::minutes(10));
        let due = self.store.claim_deliveries(BATCH, lease).await?;
        let delivered = due.len();
        for d in due {
            let outcome = self.attempt(&d).await;
            let label = match (outcome.succeeded, outcome.retry_at.is_some()) {
                (true, _) => "succeeded",
                (false, true) => "retry",
                (false, false) => "dead",
            };
            if let Some(c) = DELIVERIES.as_ref() {
                c.with_label_values(&[label]).inc();
            }
            self.store.record_attempt(d.id, outcome).await?;
        }
        Ok(if processed == 0 && delivered == 0 {
            Outcome::Empty
        } else {
            Outcome::Done
        })
    }

    /// Runs steps until the future is dropped.
    pub async fn run_until_stopped(self) {
        let mut failures = 0u32;
        loop {
            match self.try_execute_next().await {
                Ok(Outcome::Done) => failures = 0,
                Ok(Outcome::Empty) => {
                    failures = 0;
                    tokio::time::sleep(self.config.idle_poll).await;
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error.cause_chain = ?e, "worker step failed");
                    tokio::time::sleep(self.config.idle_poll * failures.min(20)).await;
                }
            }
        }
    }

    #[tracing::instrument(skip(self, d), fields(delivery = %d.id, event_type = %d.event_type))]
    async fn attempt(&self, d: &DueDelivery) -> AttemptOutcome {
        let timestamp = Utc::now().timestamp();
        let result = match signature(&d.secret, timestamp, &d.envelope) {
            Ok(sig) => {
                self.http
                    .post(&d.url)
                    .header("Content-Type", "application/json")
                    .header("X-BetaTesting-Event", d.event_type.as_str())
                    .header("X-BetaTesting-Delivery", d.id.to_string())
                    .header("X-BetaTesting-Timestamp", timestamp.to_string())
                    .header("X-BetaTesting-Signature", sig)
                    .body(d.envelope.clone())
                    .send()
                    .await
            }
            Err(e) => return self.failure(d, None, e.to_string()),
        };
        match result {
            Ok(res) if res.status().is_success() => AttemptOutcome {
                succeeded: true,
                status_code: Some(res.status().as_u16()),
                error: None,
                retry_at: None,
            },
            Ok(res) => {
                let code = res.status().as_u16();
                self.failure(d, Some(code), format!("the receiver answered {code}"))
            }
            // The error and its causes (connection refused, timeout, TLS...), never the body or
            // the secret.
            Err(e) => {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    message.push_str(": ");
                    message.push_str(&cause.to_string());
                    source = cause.source();
                }
                self.failure(d, None, message)
            }
        }
    }

    fn failure(&self, d: &DueDelivery, status_code: Option<u16>, error: String) -> AttemptOutcome {
        let attempt = d.attempts + 1;
        let retry_at = (attempt < self.config.max_attempts).then(|| {
            let factor = 2u32.saturating_pow(u32::try_from(d.attempts).unwrap_or(0).min(16));
            let delay = self
                .config
                .base_backoff
                .saturating_mul(factor)
                .min(Duration::from_secs(3600));
            Utc::now() + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::hours(1))
        });
        tracing::info!(
            attempt,
            status_code,
            dead = retry_at.is_none(),
            "webhook delivery failed"
        );
        AttemptOutcome {
            succeeded: false,
            status_code,
            error: Some(error),
            retry_at,
        }
    }
}
