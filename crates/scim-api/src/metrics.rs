//! Prometheus counters of SCIM authentication (registered in the process-wide registry that
//! `/metrics` serves). No label carries a tenant, a token or a user.

use std::sync::LazyLock;

use prometheus::{IntCounterVec, register_int_counter_vec};

/// `scim_token_checks_total{result}`: `cache_hit`, `argon2_ok`, `argon2_failed`, `refused`
/// (malformed, unknown, revoked or expired before any argon2 ran).
pub static TOKEN_CHECKS: LazyLock<Option<IntCounterVec>> = LazyLock::new(|| {
    register_int_counter_vec!(
        "scim_token_checks_total",
        "SCIM bearer token checks by result",
        &["result"]
    )
    .ok()
});

/// Counts one token check.
pub fn token_check(result: &str) {
    if let Some(c) = TOKEN_CHECKS.as_ref() {
        c.with_label_values(&[result]).inc();
    }
}
