//! The SCIM error body (RFC 7644 §3.12) for every failure, framework errors included.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::DomainError;
use serde_json::json;

/// The `application/scim+json` media type.
pub const SCIM_JSON: &str = "application/scim+json";

/// RFC 7644 §3.12 `scimType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865: the cursor is malformed, altered, or was issued for another query.
    InvalidCursor,
    /// RFC 9865: the cursor is older than `cursorTimeout`.
    ExpiredCursor,
    /// A `/Bulk` request over `maxPayloadSize` (answered with 413).
    TooLarge,
}

impl ScimType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
            Self::InvalidCursor => "invalidCursor",
            Self::ExpiredCursor => "expiredCursor",
            Self::TooLarge => "tooLarge",
        }
    }
}

/// A SCIM error response.
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl ScimError {
    /// An error with a status, an optional `scimType` and a detail for the IdP admin.
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 with a `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// 401: the bearer token is missing, malformed, unknown, expired or revoked.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    /// The SCIM error body (RFC 7644 §3.12), also used inside `/Bulk` responses.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "schemas": [domain::schema::ERROR],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(obj)) = (self.scim_type, body.as_object_mut()) {
            obj.insert("scimType".into(), t.as_str().into());
        }
        body
    }
}

impl From<DomainError> for ScimError {
    fn from(e: DomainError) -> Self {
        use StatusCode as S;
        let (status, scim_type) = match &e {
            DomainError::NotFound(_) => (S::NOT_FOUND, None),
            DomainError::Uniqueness(_) => (S::CONFLICT, Some(ScimType::Uniqueness)),
            DomainError::InvalidFilter(_) => (S::BAD_REQUEST, Some(ScimType::InvalidFilter)),
            DomainError::InvalidSyntax(_) => (S::BAD_REQUEST, Some(ScimType::InvalidSyntax)),
            DomainError::InvalidPath(_) => (S::BAD_REQUEST, Some(ScimType::InvalidPath)),
            DomainError::InvalidValue(_) => (S::BAD_REQUEST, Some(ScimType::InvalidValue)),
            DomainError::NoTarget(_) => (S::BAD_REQUEST, Some(ScimType::NoTarget)),
            DomainError::Mutability(_) => (S::BAD_REQUEST, Some(ScimType::Mutability)),
            DomainError::PreconditionFailed => (S::PRECONDITION_FAILED, None),
            DomainError::TooMany(_) => (S::BAD_REQUEST, Some(ScimType::TooMany)),
            DomainError::Conflict(_) => (S::CONFLICT, None),
            DomainError::Unexpected(cause) => {
                tracing::error!(error.cause_chain = ?cause, error.message = %cause, "unexpected error");
                return Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    None,
                    "an internal error occurred; it was logged and nothing was changed",
                );
            }
        };
        Self::new(status, scim_type, e.to_string())
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = self.body();
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            ));
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        let mut res = res.body(body.to_string());
        // The request log reads the scimType from here (never the body).
        if let Some(t) = self.scim_type {
            res.extensions_mut().insert(t);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_maps_to_a_scim_status_and_type() {
        let cases: Vec<(DomainError, u16, Option<&str>)> = vec![
            (DomainError::NotFound("x".into()), 404, None),
            (DomainError::Uniqueness("x".into()), 409, Some("uniqueness")),
            (DomainError::InvalidFilter("x".into()), 400, Some("invalidFilter")),
            (DomainError::InvalidSyntax("x".into()), 400, Some("invalidSyntax")),
            (DomainError::InvalidPath("x".into()), 400, Some("invalidPath")),
            (DomainError::InvalidValue("x".into()), 400, Some("invalidValue")),
            (DomainError::NoTarget("x".into()), 400, Some("noTarget")),
            (DomainError::Mutability("x".into()), 400, Some("mutability")),
            (DomainError::PreconditionFailed, 412, None),
            (DomainError::TooMany("x".into()), 400, Some("tooMany")),
            (DomainError::Conflict("x".into()), 409, None),
            (DomainError::Unexpected(anyhow::anyhow!("secret detail")), 500, None),
        ];
        for (err, status, scim_type) in cases {
            let e = ScimError::from(err);
            assert_eq!(e.status.as_u16(), status);
            assert_eq!(e.scim_type.map(ScimType::as_str), scim_type);
            assert!(
                !e.detail.contains("secret detail"),
                "internal causes never reach the body"
            );
        }
    }
}
