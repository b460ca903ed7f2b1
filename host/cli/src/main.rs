//! # caliper-cli: the `caliper` binary
//!
//! The command-line front end: parses arguments (clap), sets up logging
//! (tracing-subscriber), shows progress (indicatif), handles Ctrl-C, and
//! dispatches to one module per subcommand; the exit codes CI reads are
//! decided here. The work is in the library crates (`caliper-engine`,
//! `caliper-run`, `caliper-serve` and the data crates under them); a command
//! is flags plus glue. It also holds the
//! project templates of `caliper new` (`scaffold`), which nothing else uses.

mod commands;
mod common;
mod progress;
mod scaffold;

use std::process::ExitCode;

use clap::Parser;

use commands::Cli;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes
    // away (`caliper inspect x.wasm | head`) instead of panicking on EPIPE.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any other
    // thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    common::init_logging(&cli.global, cli.command.default_verbosity());
    match cli.command.execute(&cli.global) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            common::Exit::Error.into()
        }
    }
}
