//! The command line: `Cli` and one module per subcommand (what they share is
//! in `crate::common`).

mod alerts;
mod audit;
mod compare;
mod history;
mod init;
mod inspect;
mod list;
mod lock;
mod new;
mod pack;
mod publish;
mod pull;
mod run;
mod serve;
mod signing;
mod test;
mod worker;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::common::{Exit, Global};

/// Caliper runs micro metrics (small, sandboxed WebAssembly components) over
/// recorded LLM interactions: in CI, over datasets, and on live traffic.
///
/// Typical loop: describe the metrics in caliper.toml (`caliper init` writes
/// the built-in standard set; without a caliper.toml, `run` uses that set), then
///
///   caliper init                        # a caliper.toml with the built-in metrics
///   caliper list                        # what the config resolves to
///   caliper run data.jsonl -o out.jsonl # score a dataset, gate CI on it
///   caliper inspect metric.wasm         # what a component says it is
///   caliper test metric.wasm --cases cases.jsonl  # a metric against labelled cases
///   caliper compare before.jsonl after.jsonl  # what got worse, with statistics
///   caliper history                     # each metric's trend across recorded runs
///   caliper audit                       # metrics to review or retire, with evidence
///   caliper serve                       # live service, hot reload, /metrics
///   caliper worker --nats URL           # score `run --dispatch URL` on many machines
///   caliper alerts -o rules.yml         # Prometheus rules from the thresholds
///   caliper new my-metric --lang python # start a metric (rust, python, js, c)
///   caliper pack metric.wasm -m metric.toml  # embed owner, review date, examples
///   caliper publish pkg.wasm oci://HOST/REPO:TAG  # share it through an OCI registry
///   caliper pull oci://HOST/REPO:TAG    # fetch it (or name it in caliper.toml)
///   caliper sign pkg.wasm --key team.pem     # sign a package (keygen makes keys)
///   caliper lock                        # pin every metric's digest; run --locked
///
/// Exit codes: 0 success, 1 a gate failed, 2 usage/config/input error,
/// 130 interrupted.
#[derive(Parser)]
#[command(
    name = "caliper",
    version,
    about,
    long_about,
    max_term_width = 100,
    verbatim_doc_comment
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    Run(run::RunCommand),
    Serve(serve::ServeCommand),
    Worker(worker::WorkerCommand),
    Inspect(inspect::InspectCommand),
    Test(test::TestCommand),
    List(list::ListCommand),
    Init(init::InitCommand),
    Compare(compare::CompareCommand),
    History(history::HistoryCommand),
    Audit(audit::AuditCommand),
    Alerts(alerts::AlertsCommand),
    New(new::NewCommand),
    Pack(pack::PackCommand),
    Publish(publish::PublishCommand),
    Pull(pull::PullCommand),
    Lock(lock::LockCommand),
    Keygen(signing::KeygenCommand),
    Sign(signing::SignCommand),
    Verify(signing::VerifyCommand),
}

impl Command {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        match self {
            Command::Run(c) => c.execute(global),
            Command::Inspect(c) => c.execute(global),
            Command::Test(c) => c.execute(global),
            Command::List(c) => c.execute(global),
            Command::Serve(c) => c.execute(global),
            Command::Worker(c) => c.execute(global),
            Command::Alerts(c) => c.execute(),
            Command::Compare(c) => c.execute(),
            Command::History(c) => c.execute(),
            Command::Audit(c) => c.execute(),
            Command::New(c) => c.execute(),
            Command::Init(c) => c.execute(),
            Command::Pack(c) => c.execute(global),
            Command::Publish(c) => c.execute(global),
            Command::Pull(c) => c.execute(global),
            Command::Lock(c) => c.execute(global),
            Command::Keygen(c) => c.execute(),
            Command::Sign(c) => c.execute(),
            Command::Verify(c) => c.execute(),
        }
    }

    /// Services log their lifecycle (listening, reloads) by default.
    pub fn default_verbosity(&self) -> u8 {
        match self {
            Command::Serve(_) | Command::Worker(_) => 1,
            _ => 0,
        }
    }
}
