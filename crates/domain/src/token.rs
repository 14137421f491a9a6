//! SCIM bearer tokens: `btscim_<32 hex lookup id><64 hex secret>`.
//!
//! The lookup id is the token's row id, so a presented token is found by primary key and
//! malformed or unknown tokens are refused without running argon2. The secret carries 256 bits
//! from the OS random source and is stored only as an argon2id PHC string.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::tenant::TenantId;

/// The recognisable prefix of every SCIM token (secret scanners can match on it).
pub const TOKEN_PREFIX: &str = "btscim_";
const ID_HEX: usize = 32;
const SECRET_HEX: usize = 64;

/// A SCIM token as stored and listed: never the secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScimTokenInfo {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ScimTokenInfo {
    /// Whether the token may authenticate at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// A freshly generated token: the plaintext is shown once and then dropped.
pub struct NewToken {
    pub id: Uuid,
    pub plaintext: String,
    /// argon2id PHC string of the whole plaintext token.
    pub hash: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .field("plaintext", &"<redacted>")
            .finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Generates a token with a v7 id and a 256-bit secret, and hashes it with argon2id.
pub fn generate() -> anyhow::Result<NewToken> {
    let id = Uuid::now_v7();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("OS random source failed: {e}"))?;
    let plaintext = format!("{TOKEN_PREFIX}{}{}", id.simple(), hex(&secret));
    let hash = hash_secret(&plaintext)?;
    Ok(NewToken { id, plaintext, hash })
}

/// argon2id with the crate's default (OWASP) parameters and a random salt.
pub fn hash_secret(plaintext: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(plaintext.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// Checks a presented token against a stored argon2id hash (slow by design: cache the result).
pub fn verify_secret(plaintext: &str, hash: &str) -> bool {
    Argon2::default().verify_password(plaintext.as_bytes(), hash).is_ok()
}

/// The lookup id embedded in a well-formed token, or `None` for anything else.
pub fn lookup_id(presented: &str) -> Option<Uuid> {
    let rest = presented.strip_prefix(TOKEN_PREFIX)?;
    if rest.len() != ID_HEX + SECRET_HEX || !rest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::try_parse(rest.get(..ID_HEX)?).ok()
}

/// A fast, non-reversible cache key for a presented token (never the token itself).
pub fn cache_key(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generated_token_has_prefix_lookup_id_and_verifies_against_its_hash() {
        let t = generate().unwrap();
        assert!(t.plaintext.starts_with(TOKEN_PREFIX));
        assert_eq!(t.plaintext.len(), TOKEN_PREFIX.len() + 96);
        assert_eq!(lookup_id(&t.plaintext), Some(t.id));
        assert!(t.hash.starts_with("$argon2id$"));
        assert!(!t.hash.contains(&t.plaintext));
        assert!(verify_secret(&t.plaintext, &t.hash));
        let mut tampered = t.plaintext.clone();
        tampered.pop();
        tampered.push(if t.plaintext.ends_with('0') { '1' } else { '0' });
        assert!(!verify_secret(&tampered, &t.hash));
        assert!(!format!("{t:?}").contains(&t.plaintext));
    }

    #[test]
    fn malformed_tokens_have_no_lookup_id() {
        let good = format!("{TOKEN_PREFIX}{}{}", Uuid::now_v7().simple(), "a".repeat(64));
        assert!(lookup_id(&good).is_some());
        for bad in [
            "",
            "non-token",
            "btscim_",
            &good[..good.len() - 1],
            &format!("{good}0"),
            &good.replace("btscim_", "btscimx"),
            &format!("{TOKEN_PREFIX}{}{}", "g".repeat(32), "a".repeat(64)),
        ] {
            assert_eq!(lookup_id(bad), None, "{bad:?}");
        }
    }
}
