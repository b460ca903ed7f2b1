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

/// Where every command finds the file of a metric that names none: the
/// metrics built into the binary (`builtin:NAME`), and registries (`oci://`).
pub fn component_source() -> caliper_builtin::Source<RegistrySource> {
    caliper_builtin::Source::new(RegistrySource::default())
}

/// The local file of a component argument: the path itself, the built-in
/// metric's file for `builtin:NAME`, or for an `oci://` reference the
/// package pulled into the local store.
pub fn component_file(arg: &Path) -> Result<PathBuf> {
    let reference = caliper_oci::OciRef::in_path(arg)
        .or_else(|| caliper_types::source::builtin_in(arg).and(arg.to_str()));
    match reference {
        Some(reference) => Ok(
            resolve::ComponentSource::fetch(&component_source(), reference)
                .map_err(anyhow::Error::msg)?,
        ),
        None => Ok(arg.to_owned()),
    }
}

/// The config file a command reads by default.
pub const DEFAULT_CONFIG_FILE: &str = "caliper.toml";

/// Where a command's metrics come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChoice {
    /// A config file.
    File(PathBuf),
    /// No `caliper.toml` here and none asked for: the built-in default set
    /// ([`caliper_builtin::DEFAULT_CONFIG`], what `caliper init` writes).
    Defaults,
}

impl ConfigChoice {
    /// `--config FILE` as given (it must exist); else `caliper.toml` if it
    /// exists; else the built-in defaults.
    pub fn from_flag(flag: Option<&Path>) -> ConfigChoice {
        match flag {
            Some(path) => ConfigChoice::File(path.to_owned()),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                ConfigChoice::File(PathBuf::from(DEFAULT_CONFIG_FILE))
            }
            None => ConfigChoice::Defaults,
        }
    }

    /// The file, or the name errors give the defaults.
    pub fn path(&self) -> &Path {
        match self {
            ConfigChoice::File(path) => path,
            ConfigChoice::Defaults => Path::new(DEFAULTS_NAME),
        }
    }

    /// The parsed config, and nothing else read (for the history's location
    /// and limits).
    pub fn config(&self) -> Result<Config> {
        match self {
            ConfigChoice::File(path) => Ok(Config::load(path)?),
            ConfigChoice::Defaults => Ok(Config::parse(
                caliper_builtin::DEFAULT_CONFIG,
                Path::new("."),
            )?),
        }
    }

    /// Resolved without loading any metric or asking any registry (see
    /// [`plan_offline`]).
    pub fn plan_offline(&self) -> Result<LoadPlan> {
        match self {
            ConfigChoice::File(path) => plan_offline(path),
            ConfigChoice::Defaults => resolve_defaults(Network::Offline),
        }
    }

    /// The config's text, as the run history keeps it.
    pub fn text(&self) -> String {
        match self {
            ConfigChoice::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
            ConfigChoice::Defaults => caliper_builtin::DEFAULT_CONFIG.to_owned(),
        }
    }
}

/// How messages and the run history name the built-in default set.
const DEFAULTS_NAME: &str = "(built-in default set)";

/// Resolves the built-in default set: the config `caliper init` writes, as
/// if it were `caliper.toml` in the current directory.
fn resolve_defaults(network: Network) -> Result<LoadPlan> {
    let config = Config::parse(caliper_builtin::DEFAULT_CONFIG, Path::new("."))
        .context("the built-in default set does not parse (a bug in caliper)")?;
    Ok(resolve::resolve_config(
        config,
        Path::new(DEFAULTS_NAME),
        None,
        network,
        &component_source(),
    )?)
}

/// Reads and resolves `choice` (asking registries for `oci://` metrics),
/// builds the runtime and loads every metric; all load failures are reported
/// together. With `locked`, every metric must match `caliper.lock` beside
/// the config.
pub fn load_config(
    global: &Global,
    choice: &ConfigChoice,
    only: &[String],
    locked: bool,
) -> Result<Loaded> {
    let mut plan = match choice {
        ConfigChoice::File(path) => {
            let options = ResolveOptions {
                locked,
                network: Network::Allowed,
            };
            resolve::resolve(path, &options, &component_source())?
        }
        ConfigChoice::Defaults if locked => anyhow::bail!(
            "--locked needs a {DEFAULT_CONFIG_FILE} with a caliper.lock beside it, and there is \
             none here: `caliper init` writes the default set, `caliper lock` pins it"
        ),
        ConfigChoice::Defaults => resolve_defaults(Network::Allowed)?,
    };
    plan.only(only).map_err(anyhow::Error::msg)?;
    if plan.metrics.is_empty() {
        anyhow::bail!(
            "{} defines no metrics; add a [[metric]] table with a `path`",
            choice.path().display()
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
    Ok(resolve::resolve(path, &options, &component_source())?)
}

/// A runtime for commands that load single components.
pub fn default_runtime() -> Result<Arc<Runtime>> {
    Runtime::new(RuntimeOptions::default()).context("starting the Wasm runtime")
}
