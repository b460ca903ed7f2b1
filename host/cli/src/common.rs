//! What every command shares: the global flags, the exit codes, logging,
//! the compile cache the flags choose, and loading a config's metrics.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use caliper_config::Config;
use caliper_engine::cache::CompileCache;
use caliper_engine::engine::{Runtime, RuntimeOptions};
use caliper_engine::load;
use caliper_engine::metric::MetricSpec;
use caliper_engine::resolve::{self, LoadPlan, Network, ResolveOptions};
use caliper_oci::RegistrySource;
use clap::Args;

/// Flags every subcommand accepts.
#[derive(Args, Clone)]
pub struct Global {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Compile cache directory [default: $CALIPER_CACHE_DIR, else
    /// $XDG_CACHE_HOME/caliper, else ~/.cache/caliper].
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every component from scratch; write no cache entries.
    #[arg(long, global = true)]
    pub no_cache: bool,
}

/// Process exit codes, decided in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything ran and every gate held.
    Success,
    /// A gate failed.
    GateFailed,
    /// Usage, config or input error.
    Error,
    /// Ctrl-C.
    Interrupted,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Success => 0,
            Exit::GateFailed => 1,
            Exit::Error => 2,
            Exit::Interrupted => 130,
        })
    }
}

pub fn init_logging(global: &Global, floor: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match (global.quiet, global.verbose.max(floor)) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::progress::LogWriter)
        // Colours on a terminal only (and never with NO_COLOR set).
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
        .with_target(false)
        .init();
}

/// The compile cache the flags and config ask for.
pub fn compile_cache(global: &Global, config: Option<&Config>) -> CompileCache {
    if let Some(cache) = cache_override(global) {
        return cache;
    }
    match config {
        Some(config) => load::compile_cache(config),
        None => CompileCache::default_dir().map_or_else(CompileCache::disabled, CompileCache::new),
    }
}

/// The compile cache the flags force, if they force one (else the config
/// decides).
pub fn cache_override(global: &Global) -> Option<CompileCache> {
    if global.no_cache {
        Some(CompileCache::disabled())
    } else {
        global.cache_dir.as_ref().map(CompileCache::new)
    }
}

/// A resolved config and its loaded metrics.
pub struct Loaded {
    pub plan: LoadPlan,
    pub specs: Vec<Arc<MetricSpec>>,
}

/// The local file of a component argument: the path itself, or for an
/// `oci://` reference the package pulled into the local store.
pub fn component_file(arg: &Path) -> Result<PathBuf> {
    match caliper_oci::OciRef::in_path(arg) {
        Some(reference) => Ok(caliper_engine::resolve::ComponentSource::fetch(
            &caliper_oci::RegistrySource::default(),
            reference,
        )
        .map_err(anyhow::Error::msg)?),
        None => Ok(arg.to_owned()),
    }
}

/// Reads and resolves `path` (asking registries for `oci://` metrics),
/// builds the runtime and loads every metric; all load failures are reported
/// together. With `locked`, every metric must match `caliper.lock` beside
/// the config.
pub fn load_config(global: &Global, path: &Path, only: &[String], locked: bool) -> Result<Loaded> {
    let options = ResolveOptions {
        locked,
        network: Network::Allowed,
    };
    let mut plan = resolve::resolve(path, &options, &RegistrySource::default())?;
    plan.only(only).map_err(anyhow::Error::msg)?;
    if plan.metrics.is_empty() {
        anyhow::bail!(
            "{} defines no metrics; add a [[metric]] table with a `path`",
            path.display()
        );
    }
    let runtime =
        Runtime::new(load::runtime_options(&plan.config)).context("starting the Wasm runtime")?;
    let cache = compile_cache(global, Some(&plan.config));
    let specs = load::load_metrics(&runtime, &cache, &plan).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        anyhow::anyhow!(
            "{} of {} metrics failed to load:\n{}",
            errors.len(),
            plan.metrics.len(),
            lines.join("\n")
        )
    })?;
    Ok(Loaded { plan, specs })
}

/// Reads and resolves `path` without loading any metric or asking any
/// registry: what `compare`, `audit` and `alerts` need (the stage in effect,
/// a package's defaults when its file is on this machine).
pub fn plan_offline(path: &Path) -> Result<LoadPlan> {
    let options = ResolveOptions {
        locked: false,
        network: Network::Offline,
    };
    Ok(resolve::resolve(
        path,
        &options,
        &RegistrySource::default(),
    )?)
}

/// A runtime for commands that load single components.
pub fn default_runtime() -> Result<Arc<Runtime>> {
    Runtime::new(RuntimeOptions::default()).context("starting the Wasm runtime")
}
