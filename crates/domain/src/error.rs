//! The one error type the domain and its ports speak.

/// What can go wrong in a domain operation. Protocol surfaces map each variant to their own
/// error shape (SCIM error body, problem+json) in one exhaustive `match`.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The resource does not exist in this tenant (or is a tombstone).
    #[error("{0}")]
    NotFound(String),
    /// A uniqueness constraint failed (RFC 7644 `uniqueness`).
    #[error("{0}")]
    Uniqueness(String),
    /// The filter could not be parsed or used (RFC 7644 `invalidFilter`).
    #[error("{0}")]
    InvalidFilter(String),
    /// The request body is not valid SCIM (RFC 7644 `invalidSyntax`).
    #[error("{0}")]
    InvalidSyntax(String),
    /// A PATCH path is malformed or unknown (RFC 7644 `invalidPath`).
    #[error("{0}")]
    InvalidPath(String),
    /// A value is missing or of the wrong type (RFC 7644 `invalidValue`).
    #[error("{0}")]
    InvalidValue(String),
    /// A PATCH filter matched nothing (RFC 7644 `noTarget`).
    #[error("{0}")]
    NoTarget(String),
    /// An attempt to modify a read-only or immutable attribute (RFC 7644 `mutability`).
    #[error("{0}")]
    Mutability(String),
    /// `If-Match` did not match the current version.
    #[error("the resource was modified: its version is no longer the one given in If-Match")]
    PreconditionFailed,
    /// The request asks for more than the service allows (RFC 7644 `tooMany`).
    #[error("{0}")]
    TooMany(String),
    /// The operation conflicts with the resource's state (not a uniqueness problem).
    #[error("{0}")]
    Conflict(String),
    /// Anything the caller cannot fix; logged with its cause chain, never shown.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<crate::patch::PatchError> for DomainError {
    fn from(e: crate::patch::PatchError) -> Self {
        use crate::patch::PatchError as P;
        match e {
            P::InvalidSyntax(m) => Self::InvalidSyntax(m),
            P::InvalidPath(m) => Self::InvalidPath(m),
            P::InvalidValue(m) => Self::InvalidValue(m),
            P::NoTarget(m) => Self::NoTarget(m),
            P::Mutability(m) => Self::Mutability(m),
        }
    }
}

impl From<crate::filter::FilterError> for DomainError {
    fn from(e: crate::filter::FilterError) -> Self {
        Self::InvalidFilter(format!("invalid filter: {e}"))
    }
}
