//! Admin JWT bearer authentication: HS256 with a shared secret, or RS256/ES256 with a public
//! key; `exp` always checked, `iss` and `aud` when configured; `alg: none` never accepted.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::AdminState;
use crate::problem::Problem;

/// What an admin token holder may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Everything.
    Admin,
    /// Everything an account manager needs: configure tenants, SSO, SCIM, roles.
    AccountManager,
    /// Read only.
    Viewer,
}

impl AdminRole {
    /// Parses `admin`, `account_manager` or `viewer`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "account_manager" => Some(Self::AccountManager),
            "viewer" => Some(Self::Viewer),
            _ => None,
        }
    }
}

/// The claims of an admin token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: AdminRole,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

/// The key and rules admin tokens are checked with.
pub struct JwtConfig {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    algorithms: Vec<Algorithm>,
    issuer: Option<String>,
    audience: Option<String>,
}

impl JwtConfig {
    /// HS256 with a shared secret (which can also mint tokens).
    pub fn hs256(secret: &str, issuer: Option<String>, audience: Option<String>) -> anyhow::Result<Self> {
        if secret.len() < 32 {
            anyhow::bail!("admin.jwt.hs256_secret must be at least 32 bytes");
        }
        Ok(Self {
            decoding: DecodingKey::from_secret(secret.as_bytes())?,
            encoding: Some(EncodingKey::from_secret(secret.as_bytes())?),
            algorithms: vec![Algorithm::HS256],
            issuer,
            audience,
        })
    }

    /// RS256 or ES256 with a PEM public key (tokens are minted by the identity platform).
    pub fn public_key(pem: &str, issuer: Option<String>, audience: Option<String>) -> anyhow::Result<Self> {
        let (decoding, algorithms) = match DecodingKey::from_rsa_pem(pem.as_bytes()) {
            Ok(k) => (k, vec![Algorithm::RS256]),
            Err(_) => (
                DecodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| {
                    anyhow::anyhow!("admin.jwt.public_key_pem is neither an RSA nor an EC public key: {e}")
                })?,
                vec![Algorithm::ES256],
            ),
        };
        Ok(Self {
            decoding,
            encoding: None,
            algorithms,
            issuer,
            audience,
        })
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, Problem> {
        let mut v = Validation::new(self.algorithms.first().copied().unwrap_or(Algorithm::HS256));
        v.algorithms.clone_from(&self.algorithms);
        v.set_required_spec_claims(&["exp", "sub"]);
        v.leeway = 30;
        match &self.issuer {
            Some(iss) => v.set_issuer(&[iss]),
            None => v.iss = None,
        }
        match &self.audience {
            Some(aud) => v.set_audience(&[aud]),
            None => v.validate_aud = false,
        }
        decode::<Claims>(token, &self.decoding, &v)
            .map(|d| d.claims)
            .map_err(|e| Problem::unauthorized(format!("the admin token was refused: {e}")))
    }

    /// Mints a token (HS256 configurations only).
    pub fn mint(&self, sub: &str, role: AdminRole, ttl: chrono::Duration) -> anyhow::Result<String> {
        let key = self
            .encoding
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("tokens can only be minted with admin.jwt.hs256_secret"))?;
        let now = Utc::now();
        let claims = Claims {
            sub: sub.to_owned(),
            role,
            exp: (now + ttl).timestamp(),
            iat: Some(now.timestamp()),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, key)?)
    }
}

/// The authenticated caller of an admin request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub sub: String,
    pub role: AdminRole,
}

impl Principal {
    /// Refuses viewers: they only read.
    pub fn require_write(&self) -> Result<(), Problem> {
        match self.role {
            AdminRole::Admin | AdminRole::AccountManager => Ok(()),
            AdminRole::Viewer => Err(Problem::forbidden(
                "viewers can only read; this needs an account_manager or admin token",
            )),
        }
    }

    /// The actor recorded on events.
    pub fn actor(&self) -> domain::events::Actor {
        domain::events::Actor::Admin(self.sub.clone())
    }
}

impl FromRequest for Principal {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

fn authenticate(req: &HttpRequest) -> Result<Principal, Problem> {
    let state = req
        .app_data::<web::Data<AdminState>>()
        .ok_or_else(|| Problem::from(domain::DomainError::Unexpected(anyhow::anyhow!("admin state missing"))))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
        })
        .ok_or_else(|| Problem::unauthorized("send 'Authorization: Bearer <admin JWT>'"))?;
    let claims = state.jwt.verify(&token)?;
    Ok(Principal {
        sub: claims.sub,
        role: claims.role,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn minted_tokens_verify_and_tampered_expired_or_unsigned_ones_do_not() {
        let jwt = JwtConfig::hs256(SECRET, Some("iss".into()), Some("aud".into())).unwrap();
        let token = jwt
            .mint("am@beta.test", AdminRole::AccountManager, chrono::Duration::hours(1))
            .unwrap();
        let claims = jwt.verify(&token).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.role),
            ("am@beta.test", AdminRole::AccountManager)
        );
        let expired = jwt.mint("x", AdminRole::Admin, chrono::Duration::hours(-1)).unwrap();
        assert!(jwt.verify(&expired).is_err());
        let other = JwtConfig::hs256(
            "another-secret-another-secret-xx",
            Some("iss".into()),
            Some("aud".into()),
        )
        .unwrap();
        assert!(other.verify(&token).is_err(), "wrong key");
        let wrong_aud = JwtConfig::hs256(SECRET, Some("iss".into()), Some("other".into())).unwrap();
        assert!(wrong_aud.verify(&token).is_err(), "wrong audience");
        // alg: none with the same claims.
        let parts: Vec<&str> = token.split('.').collect();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
        assert!(jwt.verify(&none).is_err(), "alg none");
        assert!(JwtConfig::hs256("short", None, None).is_err());
    }

    /// RS256 and ES256 tokens minted elsewhere (keys made by the openssl CLI) verify with the
    /// public key alone, and a token signed by another key does not.
    #[test]
    fn public_key_configurations_verify_rs256_and_es256_tokens() {
        let dir = std::env::temp_dir().join(format!("jwt-keys-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "rsa.pem",
        ]);
        openssl(&["pkey", "-in", "rsa.pem", "-pubout", "-out", "rsa.pub"]);
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "ec.pem",
        ]);
        openssl(&["pkey", "-in", "ec.pem", "-pubout", "-out", "ec.pub"]);
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "other.pem",
        ]);
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let claims = Claims {
            sub: "ops@betatesting.test".into(),
            role: AdminRole::Viewer,
            exp: (Utc::now() + chrono::Duration::minutes(5)).timestamp(),
            iat: None,
            iss: Some("https://id.betatesting.test".into()),
            aud: Some("provisioning-admin".into()),
        };
        let issuer = Some("https://id.betatesting.test".to_owned());
        let audience = Some("provisioning-admin".to_owned());
        let rsa_key = EncodingKey::from_rsa_pem(read("rsa.pem").as_bytes()).unwrap();
        let rsa_token = encode(&Header::new(Algorithm::RS256), &claims, &rsa_key).unwrap();
        let rsa = JwtConfig::public_key(&read("rsa.pub"), issuer.clone(), audience.clone()).unwrap();
        assert_eq!(rsa.verify(&rsa_token).unwrap().role, AdminRole::Viewer);
        let ec_key = EncodingKey::from_ec_pem(read("ec.pem").as_bytes()).unwrap();
        let ec_token = encode(&Header::new(Algorithm::ES256), &claims, &ec_key).unwrap();
        let ec = JwtConfig::public_key(&read("ec.pub"), issuer, audience).unwrap();
        assert_eq!(ec.verify(&ec_token).unwrap().sub, "ops@betatesting.test");
        assert!(ec.verify(&rsa_token).is_err(), "an RS256 token against an ES256 key");
        let other = EncodingKey::from_ec_pem(read("other.pem").as_bytes()).unwrap();
        assert!(
            ec.verify(&encode(&Header::new(Algorithm::ES256), &claims, &other).unwrap())
                .is_err()
        );
        assert!(
            ec.mint("x", AdminRole::Admin, chrono::Duration::hours(1)).is_err(),
            "public keys cannot mint"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
