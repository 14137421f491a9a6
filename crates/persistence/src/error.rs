//! Maps database errors at the edge of this crate.

use domain::DomainError;
use sea_orm::{DbErr, SqlErr};

/// An unexpected database error, with context for the logs.
pub(crate) fn unexpected(e: DbErr, context: &'static str) -> DomainError {
    DomainError::Unexpected(anyhow::Error::new(e).context(context))
}

/// Whether the error is a unique-constraint violation.
pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// Extension to attach context to `Result<_, DbErr>`.
pub(crate) trait DbResultExt<T> {
    fn ctx(self, context: &'static str) -> Result<T, DomainError>;
}

impl<T> DbResultExt<T> for Result<T, DbErr> {
    fn ctx(self, context: &'static str) -> Result<T, DomainError> {
        self.map_err(|e| unexpected(e, context))
    }
}
