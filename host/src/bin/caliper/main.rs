//! `caliper`: the command-line front end. Parses arguments, sets up logging,
//! and dispatches to one module per subcommand; all the work is in the
//! `caliper_host` library.

mod commands;

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
    commands::init_logging(&cli.global, cli.command.default_verbosity());
    match cli.command.execute(&cli.global) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            commands::Exit::Error.into()
        }
    }
}
