//! The API test suite: the real application over HTTP on random ports, on SQLite or Postgres
//! (`TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod admin;
mod bad_input;
mod bulk;
mod cli;
mod concurrency;
mod cursor;
mod discovery;
mod events;
mod filters;
mod helpers;
mod idp_dialects;
mod isolation;
mod okta;
mod search;
mod sorting;
mod tokens;
mod webhooks;
