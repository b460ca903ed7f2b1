//! The process-wide Wasm runtime: one [`Engine`], one [`Linker`], and the
//! epoch ticker that enforces evaluation deadlines.
//!
//! Architecture invariant: this is the only module that builds a
//! `wasmtime::Config`. Every component is compiled by this engine and
//! instantiated through this linker, which offers exactly the `host.log`
//! import plus WASI p2 (configured deny-all per store in [`crate::sandbox`]).

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine};

use crate::bindings::MetricComponent;
use crate::sandbox::StoreState;

/// How often the epoch advances. A deadline of `N` ms is `N / TICK` ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Engine-wide options. Changing any of them changes the compile-cache key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// Count fuel (needed when any metric has a fuel budget; costs ~3-4%).
    pub fuel: bool,
}

/// Why the runtime could not be set up: wasmtime refused the engine
/// configuration or a host import, or the epoch ticker thread could not
/// start. Nothing a metric or a config can cause.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// Wasmtime refused the engine configuration or linking an import.
    #[error("cannot set up the Wasm runtime ({what}): {error}")]
    Wasmtime {
        /// What was being set up.
        what: &'static str,
        /// Wasmtime's error.
        error: wasmtime::Error,
    },
    /// The epoch ticker thread could not be started.
    #[error("cannot start the epoch ticker thread: {error}")]
    Ticker {
        /// The OS error.
        error: std::io::Error,
    },
}

/// The engine, the linker and the epoch ticker, shared by every plugin and
/// worker in the process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<StoreState>,
    options: RuntimeOptions,
    ticker: Option<Ticker>,
}

struct Ticker {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker.
    pub fn new(options: RuntimeOptions) -> Result<Arc<Runtime>, RuntimeError> {
        let wasmtime = |what| move |error| RuntimeError::Wasmtime { what, error };
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(options.fuel)
            .cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&config).map_err(wasmtime("engine configuration"))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(wasmtime("WASI imports"))?;
        crate::sandbox::shadow_wasi_poll(&mut linker).map_err(wasmtime("wasi:io/poll"))?;
        MetricComponent::add_to_linker::<StoreState, HasSelf<StoreState>>(&mut linker, |s| s)
            .map_err(wasmtime("the caliper:metric host imports"))?;

        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("caliper-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|error| RuntimeError::Ticker { error })?
        };
        Ok(Arc::new(Runtime {
            engine,
            linker,
            options,
            ticker: Some(Ticker { stop, handle }),
        }))
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker with WASI and the `host` import.
    pub(crate) fn linker(&self) -> &Linker<StoreState> {
        &self.linker
    }

    /// The options the engine was built with.
    pub fn options(&self) -> RuntimeOptions {
        self.options
    }

    /// A short hex key that changes whenever compiled artifacts of this
    /// engine would not load into another (wasmtime version, target, config).
    pub fn compatibility_key(&self) -> String {
        let mut hasher = std::hash::DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    }

    /// Epoch ticks for a deadline of `timeout_ms`.
    pub fn ticks_for(timeout_ms: u64) -> u64 {
        let tick_ms = EPOCH_TICK.as_millis().max(1) as u64;
        timeout_ms.div_ceil(tick_ms).max(1)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop.store(true, Ordering::Relaxed);
            let _ = ticker.handle.join();
        }
    }
}
