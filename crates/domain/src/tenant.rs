//! Tenants (business customers) and their SSO connections.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::DomainError;

/// A tenant's identifier. Every tenant-owned row carries it; every port method takes it first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TenantId(pub Uuid);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant's URL-safe slug: 2-63 characters of `a-z`, `0-9` and `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// Parses a slug, explaining what is wrong when it is not one.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let ok_len = (2..=63).contains(&s.len());
        let ok_start = s.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok_len && ok_start && ok_chars && !s.ends_with('-') {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::InvalidValue(format!(
                "'{s}' is not a valid tenant slug: use 2 to 63 characters a-z, 0-9 and '-', starting with a letter and not ending with '-'"
            )))
        }
    }

    /// The slug as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> Self {
        s.0
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a tenant may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    Suspended,
}

impl TenantStatus {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// A business customer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
}

/// The protocol of an SSO connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SsoProtocol {
    Saml,
    Oidc,
}

impl SsoProtocol {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Saml => "saml",
            Self::Oidc => "oidc",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "saml" => Some(Self::Saml),
            "oidc" => Some(Self::Oidc),
            _ => None,
        }
    }
}

/// The IdP side of a SAML connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamlIdp {
    pub entity_id: String,
    pub sso_url: String,
    /// PEM certificates; several while the IdP rotates its signing key.
    pub certificates: Vec<String>,
}

/// A tenant's SSO connection (one per tenant).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SsoConnection {
    pub tenant_id: TenantId,
    pub protocol: SsoProtocol,
    pub saml: Option<SamlIdp>,
    pub oidc: Option<serde_json::Value>,
    pub scim_enabled: bool,
    pub default_role: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_validated_with_a_reason() {
        for good in ["acme", "acme-corp", "a1", "beta-testing-2"] {
            assert!(Slug::parse(good).is_ok(), "{good} should be a slug");
        }
        for bad in ["", "a", "Acme", "1acme", "acme_", "acme-", "ac me", "acmé"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should not be a slug");
        }
    }
}
