//! RFC 9457 problem details for every admin API failure, framework errors included.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

/// `application/problem+json` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request, and how to fix it.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

impl Problem {
    /// A problem with a status, a type slug and a detail.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://betatesting.example/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
        }
    }

    /// 400.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-request", detail)
    }

    /// 401.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// 409.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        use StatusCode as S;
        let (status, slug) = match &e {
            DomainError::NotFound(_) => (S::NOT_FOUND, "not-found"),
            DomainError::Uniqueness(_) => (S::CONFLICT, "already-exists"),
            DomainError::Conflict(_) => (S::CONFLICT, "conflict"),
            DomainError::PreconditionFailed => (S::PRECONDITION_FAILED, "precondition-failed"),
            DomainError::InvalidFilter(_)
            | DomainError::InvalidSyntax(_)
            | DomainError::InvalidPath(_)
            | DomainError::InvalidValue(_)
            | DomainError::NoTarget(_)
            | DomainError::Mutability(_)
            | DomainError::TooMany(_) => (S::BAD_REQUEST, "invalid-request"),
            DomainError::Unexpected(cause) => {
                tracing::error!(error.cause_chain = ?cause, error.message = %cause, "unexpected error");
                return Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an internal error occurred; it was logged",
                );
            }
        };
        Self::new(status, slug, e.to_string())
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if self.status == 401 {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"admin\""),
            ));
        }
        res.body(serde_json::to_string(self).unwrap_or_default())
    }
}
