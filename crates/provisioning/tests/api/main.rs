//! The API test suite: the real application over HTTP on random ports, on SQLite or Postgres
//! (`TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod bad_input;
mod cli;
mod concurrency;
mod discovery;
mod events;
mod helpers;
mod isolation;
mod okta;
mod tokens;
