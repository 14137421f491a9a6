//! `provisioning`: see `provisioning --help`.

use std::process::ExitCode;

use clap::Parser;
use provisioning::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    run(Cli::parse()).await
}
