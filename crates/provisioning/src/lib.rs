//! The `provisioning` binary's library: configuration, telemetry, wiring and the CLI. It is the
//! only crate that knows every other one.

pub mod cli;
pub mod metrics;
pub mod settings;
pub mod startup;
pub mod telemetry;
