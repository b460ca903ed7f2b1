//! The state of one guest's store: its deny-all WASI context, bounded
//! output capture, frozen clock and fixed entropy unless granted, the
//! memory limiter, and the `host.log` and contract host traits.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use caliper_types::limits::{Grants, Limits};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView};

/// Most bytes of guest stdout or stderr kept per evaluation. The *last*
/// bytes are kept (a panic message or a runtime's fatal error comes after
/// whatever the guest printed before); the rest is dropped and counted.
pub const CAPTURE_BYTES: usize = 16 * 1024;

/// A bounded in-memory sink for a guest's stdout or stderr. It keeps the
/// last [`CAPTURE_BYTES`] written; older bytes are dropped (and counted),
/// never turned into a guest error.
#[derive(Clone)]
pub struct Capture {
    inner: Arc<Mutex<CaptureBuf>>,
}

#[derive(Default)]
struct CaptureBuf {
    bytes: std::collections::VecDeque<u8>,
    dropped: usize,
}

impl Capture {
    fn new() -> Self {
        Capture {
            inner: Arc::new(Mutex::new(CaptureBuf::default())),
        }
    }

    /// Takes what was captured so far, as lossy UTF-8, and clears the buffer.
    pub fn take(&self) -> String {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = buf.bytes.drain(..).collect();
        let mut text = String::new();
        if buf.dropped > 0 {
            text.push_str(&format!("[{} earlier bytes dropped]\n", buf.dropped));
        }
        text.push_str(&String::from_utf8_lossy(&bytes));
        buf.dropped = 0;
        text
    }

    fn write(&self, data: &[u8]) {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let data = if data.len() > CAPTURE_BYTES {
            buf.dropped += data.len() - CAPTURE_BYTES;
            &data[data.len() - CAPTURE_BYTES..]
        } else {
            data
        };
        let overflow = (buf.bytes.len() + data.len()).saturating_sub(CAPTURE_BYTES);
        buf.bytes.drain(..overflow);
        buf.dropped += overflow;
        buf.bytes.extend(data);
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[async_trait::async_trait]
impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        Capture::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 * 1024)
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        Capture::write(&self, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// A clock frozen at 2000-01-01T00:00:00Z (wall) and 0 (monotonic).
struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::from_secs(946_684_800)
    }
}

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }

    fn now(&self) -> u64 {
        0
    }
}

/// A fixed byte cycle for `wasi:random`, so hash seeds and "random" choices
/// inside a guest are the same on every run.
fn fixed_entropy() -> wasmtime_wasi::Deterministic {
    // splitmix64 from a constant seed: looks random, is reproducible.
    let mut state: u64 = 0x0C41_1BE5_CA11_BE25;
    let bytes = (0..32)
        .flat_map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)).to_le_bytes()
        })
        .collect();
    wasmtime_wasi::Deterministic::new(bytes)
}

/// Caps the memory of one store (linear memories *and* tables, which the
/// host allocates on the guest's behalf) and the number of instances, tables
/// and memories a component may create, and remembers whether a guest hit a
/// cap, so the trap can be reported as `memory` rather than `trap`.
pub struct MemoryLimiter {
    cap_bytes: usize,
    total_bytes: usize,
    /// Set when a grow request was denied.
    pub exceeded: bool,
}

impl MemoryLimiter {
    fn new(cap_mib: u64) -> Self {
        MemoryLimiter {
            cap_bytes: usize::try_from(cap_mib.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX),
            total_bytes: 0,
            exceeded: false,
        }
    }

    /// Accounts for one memory or table growing from `current` to `desired`
    /// bytes, or refuses it.
    fn grow(&mut self, what: &str, current: usize, desired: usize) -> wasmtime::Result<bool> {
        let total = (self.total_bytes - current.min(self.total_bytes)).saturating_add(desired);
        if total > self.cap_bytes {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "memory cap of {} MiB exceeded by a {what} (asked for {total} bytes in all)",
                self.cap_bytes / (1024 * 1024),
            ));
        }
        self.total_bytes = total;
        Ok(true)
    }
}

/// Most elements one table may have.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;
/// Host bytes a table element costs, counted against the memory cap (a
/// function reference is a pointer; wasmtime keeps one per element).
const TABLE_ELEMENT_BYTES: usize = std::mem::size_of::<usize>();
/// Most core instances one store may create (a Rust metric has a handful,
/// a Python one a few dozen).
pub const MAX_INSTANCES: usize = 200;
/// Most tables one store may create.
pub const MAX_TABLES: usize = 200;
/// Most linear memories one store may create.
pub const MAX_MEMORIES: usize = 50;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow("linear memory", current, desired)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "a table of {desired} elements exceeds the limit of {MAX_TABLE_ELEMENTS}"
            ));
        }
        self.grow(
            "table",
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        )
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

/// The state of one metric instance's store.
pub struct StoreState {
    wasi: WasiCtx,
    pub(super) table: ResourceTable,
    /// Memory cap and its hit flag.
    pub limiter: MemoryLimiter,
    /// Guest stdout.
    pub stdout: Capture,
    /// Guest stderr (Rust panics print here).
    pub stderr: Capture,
    /// Instance name, for log lines.
    pub instance: Arc<str>,
    /// Lines logged through `host.log` since the last call began.
    pub logged: usize,
    /// When the call in progress must end: guest waits in host calls are
    /// cut here (`sandbox::poll`); guest code is stopped by the epoch deadline set
    /// for the same instant.
    pub(crate) deadline: Option<Instant>,
}

/// Most `host.log` lines forwarded per call; the rest are counted.
pub const MAX_LOG_LINES: usize = 64;

impl StoreState {
    /// A sandboxed state for `instance` with the given limits and grants.
    pub fn new(instance: Arc<str>, limits: &Limits, grants: &Grants) -> Self {
        let stdout = Capture::new();
        let stderr = Capture::new();
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        if !grants.clock {
            builder.wall_clock(FrozenClock).monotonic_clock(FrozenClock);
        }
        if !grants.random {
            builder
                .secure_random(fixed_entropy())
                .insecure_random(fixed_entropy())
                .insecure_random_seed(0x5EED_CA11_BE25);
        }
        StoreState {
            wasi: builder.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.memory_mib),
            stdout,
            stderr,
            instance,
            logged: 0,
            deadline: None,
        }
    }

    /// Forwards a guest log line to `tracing`, tagged with the instance:
    /// cut to [`MAX_LOG_LINE_BYTES`], control characters escaped (a guest
    /// cannot forge a log line or drive a terminal); lines beyond
    /// [`MAX_LOG_LINES`] per call are dropped.
    pub fn log(&mut self, level: crate::bindings::LogLevel, message: String) {
        use crate::bindings::LogLevel as L;
        self.logged += 1;
        if self.logged > MAX_LOG_LINES {
            return;
        }
        let message = caliper_types::text::inert(&message, MAX_LOG_LINE_BYTES);
        let instance = &*self.instance;
        match level {
            L::Trace => tracing::trace!(metric = instance, "{message}"),
            L::Debug => tracing::debug!(metric = instance, "{message}"),
            L::Info => tracing::info!(metric = instance, "{message}"),
            L::Warn => tracing::warn!(metric = instance, "{message}"),
            L::Error => tracing::error!(metric = instance, "{message}"),
        }
    }
}

/// Longest `host.log` line forwarded, in bytes; longer ones are cut.
pub const MAX_LOG_LINE_BYTES: usize = 4096;

/// Most bytes a guest may pass to the host in one host call (`host.log`,
/// a WASI write): wasmtime refuses to lift more, so a guest cannot make the
/// host allocate 128 MiB (wasmtime's default) before Caliper's own caps.
pub const HOSTCALL_BYTES: usize = 4 * 1024 * 1024;

impl wasmtime_wasi::WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What a guest may ask of the host (`host.log`), on its own store.
impl crate::bindings::caliper::metric::host::Host for StoreState {
    fn log(&mut self, level: crate::bindings::LogLevel, message: String) {
        StoreState::log(self, level, message);
    }
}

impl crate::bindings::caliper::metric::types::Host for StoreState {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_a_bounded_tail_and_counts_the_rest() {
        let c = Capture::new();
        c.write(&vec![b'a'; CAPTURE_BYTES - 2]);
        c.write(b"bcdef");
        let text = c.take();
        assert!(
            text.starts_with("[3 earlier bytes dropped]\naaa"),
            "{}",
            &text[..40]
        );
        assert!(text.ends_with("abcdef"));
        assert_eq!(c.take(), "");
        // One write larger than the buffer keeps its own tail.
        let mut big = vec![b'x'; 3 * CAPTURE_BYTES];
        big.extend_from_slice(b"the end");
        c.write(&big);
        let text = c.take();
        assert!(text.ends_with("xthe end"));
        assert!(text.starts_with(&format!("[{} earlier", 2 * CAPTURE_BYTES + 7)));
    }

    #[test]
    fn tables_count_against_the_memory_cap() {
        let mut l = MemoryLimiter::new(16);
        assert!(l.table_growing(0, 1000, None).unwrap());
        // 100 tables of a million elements: 800 MB, far over 16 MiB.
        let mut refused = false;
        for _ in 0..100 {
            if l.table_growing(0, 1_000_000, None).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused && l.exceeded);
        assert!(l.table_growing(0, MAX_TABLE_ELEMENTS + 1, None).is_err());
    }

    #[test]
    fn limiter_caps_the_total_and_flags_it() {
        let mut l = MemoryLimiter::new(1);
        assert!(l.memory_growing(0, 512 * 1024, None).unwrap());
        assert!(l.memory_growing(512 * 1024, 1024 * 1024, None).unwrap());
        assert!(!l.exceeded);
        assert!(
            l.memory_growing(1024 * 1024, 1024 * 1024 + 65536, None)
                .is_err()
        );
        assert!(l.exceeded);
    }
}
