//! Tenant webhooks: endpoints, delivery attempts, and the HMAC-SHA256 signature receivers
//! check (`X-BetaTesting-Signature: sha256=<hex of HMAC(secret, "<timestamp>.<body>")>`).

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::Serialize;
use uuid::Uuid;

use crate::DomainError;
use crate::tenant::TenantId;

/// A webhook endpoint (the secret is never part of it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub url: String,
    /// Event types delivered; empty means all.
    pub event_types: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl Webhook {
    /// Whether this endpoint wants events of this type.
    pub fn wants(&self, event_type: &str) -> bool {
        self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    /// Every attempt failed; kept for replay.
    Dead,
}

impl DeliveryStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A delivery the worker should attempt now.
#[derive(Clone)]
pub struct DueDelivery {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub url: String,
    pub secret: String,
    pub event_id: Uuid,
    pub event_type: String,
    pub envelope: String,
    pub attempts: i32,
}

impl std::fmt::Debug for DueDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DueDelivery")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("event_type", &self.event_type)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// The signature header value for a body sent at `timestamp` (seconds since the epoch).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> Result<String, DomainError> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| DomainError::Unexpected(anyhow::anyhow!("HMAC key: {e}")))?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    Ok(format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Checks a webhook URL: absolute http(s), no credentials in it.
pub fn validate_url(url: &str) -> Result<(), DomainError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.split('/').next().unwrap_or_default().contains('@') => Ok(()),
        _ => Err(DomainError::InvalidValue(format!(
            "'{url}' is not an absolute http(s):// URL without credentials (use https in production)"
        ))),
    }
}

/// A new signing secret (256 bits, hex), shown once.
pub fn generate_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    Ok(format!(
        "whsec_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently with Python's hmac module.
        let sig = signature("key", 1_700_000_000, "{}").unwrap();
        assert_eq!(
            sig,
            "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
        assert_ne!(sig, signature("other", 1_700_000_000, "{}").unwrap());
        assert_ne!(sig, signature("key", 1_700_000_001, "{}").unwrap());
    }

    #[test]
    fn urls_are_checked() {
        assert!(validate_url("https://hooks.example/x").is_ok());
        for bad in ["ftp://x", "https://", "https://user:pw@host/x", "hooks.example"] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }
}
