//! Bearer-token authentication: the token alone names the tenant.
//!
//! argon2id is deliberately slow, so a verified token is cached in memory under a SHA-256 of
//! the presented token (never the token itself) and argon2 runs only on a cache miss. Malformed
//! tokens and unknown lookup ids are refused before argon2. Revocation evicts the cache at once
//! in the revoking process, and every process polls for revocations (`run_maintenance`) so that
//! a token revoked elsewhere stops working within a second.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::{DateTime, Utc};
use domain::ports::TokenStore;
use domain::tenant::TenantId;
use domain::token::{cache_key, lookup_id, verify_secret};
use tracing_actix_web::RootSpan;
use uuid::Uuid;

use crate::ScimState;
use crate::error::ScimError;

/// The authenticated caller of a SCIM request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantContext {
    pub tenant_id: TenantId,
    pub token_id: Uuid,
}

#[derive(Debug, Clone)]
struct Cached {
    context: TenantContext,
    expires_at: Option<DateTime<Utc>>,
    verified: Instant,
}

/// How long a verified token is trusted before it is checked against the database again
/// (picks up a suspended tenant or SCIM switched off on other replicas without a revocation).
const MAX_AGE: Duration = Duration::from_secs(10);
/// Bound on cached entries; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// Verifies SCIM bearer tokens, with the cache described in the module documentation.
pub struct TokenAuth {
    store: Arc<dyn TokenStore>,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    last_used: Mutex<HashMap<Uuid, DateTime<Utc>>>,
    cache_enabled: bool,
}

fn refused() -> ScimError {
    ScimError::unauthorized(
        "the bearer token is missing, malformed, unknown, expired or revoked; send 'Authorization: Bearer <SCIM token>'",
    )
}

impl TokenAuth {
    /// A verifier over the token store; `cache_enabled: false` runs argon2 on every request
    /// (for benchmarks only).
    pub fn new(store: Arc<dyn TokenStore>, cache_enabled: bool) -> Self {
        Self {
            store,
            cache: Mutex::new(HashMap::new()),
            last_used: Mutex::new(HashMap::new()),
            cache_enabled,
        }
    }

    /// Resolves a presented token to its tenant, or refuses it.
    pub async fn authenticate(&self, presented: &str) -> Result<TenantContext, ScimError> {
        let key = cache_key(presented);
        let now = Utc::now();
        if self.cache_enabled {
            let hit = self.cache.lock().ok().and_then(|c| c.get(&key).cloned());
            if let Some(hit) = hit {
                if hit.verified.elapsed() < MAX_AGE && hit.expires_at.is_none_or(|e| e > now) {
                    self.mark_used(hit.context.token_id, now);
                    crate::metrics::token_check("cache_hit");
                    return Ok(hit.context);
                }
                if let Ok(mut c) = self.cache.lock() {
                    c.remove(&key);
                }
            }
        }
        let early = || {
            crate::metrics::token_check("refused");
            refused()
        };
        let id = lookup_id(presented).ok_or_else(early)?;
        let record = self.store.find(id).await?.ok_or_else(early)?;
        if !record.info.is_usable(now) || !record.scim_enabled {
            return Err(early());
        }
        let plaintext = presented.to_owned();
        let hash = record.hash.clone();
        let span = tracing::Span::current();
        let ok = tokio::task::spawn_blocking(move || span.in_scope(|| verify_secret(&plaintext, &hash)))
            .await
            .map_err(|e| ScimError::from(domain::DomainError::Unexpected(e.into())))?;
        crate::metrics::token_check(if ok { "argon2_ok" } else { "argon2_failed" });
        if !ok {
            return Err(refused());
        }
        let context = TenantContext {
            tenant_id: record.info.tenant_id,
            token_id: id,
        };
        if self.cache_enabled
            && let Ok(mut c) = self.cache.lock()
        {
            if c.len() >= MAX_ENTRIES {
                c.clear();
            }
            c.insert(
                key,
                Cached {
                    context,
                    expires_at: record.info.expires_at,
                    verified: Instant::now(),
                },
            );
        }
        self.mark_used(id, now);
        Ok(context)
    }

    fn mark_used(&self, id: Uuid, at: DateTime<Utc>) {
        if let Ok(mut m) = self.last_used.lock() {
            m.insert(id, at);
        }
    }

    /// Forgets every cached verification of these tokens.
    pub fn evict(&self, ids: &[Uuid]) {
        if ids.is_empty() {
            return;
        }
        if let Ok(mut c) = self.cache.lock() {
            c.retain(|_, v| !ids.contains(&v.context.token_id));
        }
    }

    /// Writes the gathered last-use times in one batch instead of on every request.
    pub async fn flush_last_used(&self) {
        let used: Vec<(Uuid, DateTime<Utc>)> = match self.last_used.lock() {
            Ok(mut m) => m.drain().collect(),
            Err(_) => return,
        };
        if let Err(e) = self.store.touch(&used).await {
            tracing::warn!(error.message = %e, "could not record token use");
        }
    }

    /// Polls for revocations made by any process and flushes last-use times, until the
    /// returned future is dropped.
    pub async fn run_maintenance(self: Arc<Self>) {
        let mut since = Utc::now() - chrono::Duration::seconds(5);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut flushes = 0u32;
        loop {
            tick.tick().await;
            let now = Utc::now();
            match self.store.revoked_since(since).await {
                Ok(ids) => {
                    self.evict(&ids);
                    // Overlap windows so a revocation committed during a poll is not missed.
                    since = now - chrono::Duration::seconds(2);
                }
                Err(e) => tracing::warn!(error.message = %e, "could not poll token revocations"),
            }
            flushes += 1;
            if flushes.is_multiple_of(40) {
                self.flush_last_used().await;
            }
        }
    }
}

impl FromRequest for TenantContext {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            if let Some(ctx) = req.extensions().get::<TenantContext>() {
                return Ok(*ctx);
            }
            let state = req.app_data::<web::Data<ScimState>>().cloned().ok_or_else(|| {
                ScimError::from(domain::DomainError::Unexpected(anyhow::anyhow!("SCIM state missing")))
            })?;
            let presented = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    let (scheme, token) = v.trim().split_once(' ')?;
                    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
                })
                .ok_or_else(refused)?;
            let ctx = state.auth.authenticate(&presented).await?;
            if let Some(span) = req.extensions().get::<RootSpan>() {
                span.record("tenant_id", tracing::field::display(ctx.tenant_id));
            }
            req.extensions_mut().insert(ctx);
            Ok(ctx)
        })
    }
}
