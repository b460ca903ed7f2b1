//! The sandbox every metric instance runs in.
//!
//! Each instance gets its own [`Store`](wasmtime::Store) whose state is a
//! [`StoreState`]: a WASI context with no preopened directories, no
//! environment, no sockets, a frozen clock and a fixed random seed (so scores
//! are reproducible), guest stdout/stderr captured into bounded buffers, and
//! a [`ResourceLimiter`] that caps the total linear memory.
//!
//! Architecture invariant: nothing here grants a capability unless
//! [`Grants`] says so, and grants default to none.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView};

/// Resource limits for one metric instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock deadline for one evaluation, in milliseconds (enforced by
    /// epoch interruption).
    pub timeout_ms: u64,
    /// Cap on the instance's total linear memory, in MiB.
    pub memory_mib: u64,
    /// Optional fuel budget per evaluation: a deterministic CPU limit
    /// (roughly one unit per Wasm instruction).
    pub fuel: Option<u64>,
    /// Instantiate a fresh instance for every sample instead of reusing one
    /// per worker (slower; for metrics that keep state between calls).
    pub fresh_instance: bool,
    /// Samples per `evaluate-batch` call (1: one `evaluate` call per
    /// sample). Batches amortise the call cost of Python and JavaScript
    /// components; the deadline and fuel scale with the batch size, and a
    /// batch that traps is retried sample by sample to find the culprit.
    pub batch_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 1_000,
            memory_mib: 64,
            fuel: None,
            fresh_instance: false,
            batch_size: 1,
        }
    }
}

/// Capabilities an operator grants a metric. All default to denied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Grants {
    /// Real wall and monotonic clocks instead of a frozen one.
    pub clock: bool,
    /// Real entropy instead of a fixed seed.
    pub random: bool,
}

/// Most bytes of guest stdout or stderr kept per evaluation; the rest is
/// dropped and counted.
pub const CAPTURE_BYTES: usize = 16 * 1024;

/// A bounded in-memory sink for a guest's stdout or stderr. Writes beyond
/// the capacity are dropped (and counted), never turned into a guest error.
#[derive(Clone)]
pub struct Capture {
    inner: Arc<Mutex<CaptureBuf>>,
}

#[derive(Default)]
struct CaptureBuf {
    bytes: Vec<u8>,
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
        let mut text = String::from_utf8_lossy(&buf.bytes).into_owned();
        if buf.dropped > 0 {
            text.push_str(&format!("\n[{} more bytes dropped]", buf.dropped));
        }
        buf.bytes.clear();
        buf.dropped = 0;
        text
    }

    fn write(&self, data: &[u8]) {
        let mut buf = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = CAPTURE_BYTES.saturating_sub(buf.bytes.len());
        let kept = room.min(data.len());
        buf.bytes.extend_from_slice(&data[..kept]);
        buf.dropped += data.len() - kept;
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

/// Caps the total linear memory of one store and remembers whether a guest
/// hit the cap, so the trap can be reported as `memory` rather than `trap`.
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
}

/// Most table elements one store may allocate.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total_bytes - current.min(self.total_bytes) + desired;
        if total > self.cap_bytes {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "memory cap of {} MiB exceeded (asked for {} bytes in all)",
                self.cap_bytes / (1024 * 1024),
                total
            ));
        }
        self.total_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The state of one metric instance's store.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
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
        }
    }

    /// Forwards a guest log line to `tracing`, tagged with the instance;
    /// lines beyond [`MAX_LOG_LINES`] per call are dropped.
    pub fn log(&mut self, level: crate::bindings::LogLevel, message: String) {
        use crate::bindings::LogLevel as L;
        self.logged += 1;
        if self.logged > MAX_LOG_LINES {
            return;
        }
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

impl wasmtime_wasi::WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_a_bounded_prefix_and_counts_the_rest() {
        let c = Capture::new();
        c.write(&vec![b'a'; CAPTURE_BYTES - 2]);
        c.write(b"bcdef");
        let text = c.take();
        assert!(text.starts_with("aaaa"));
        assert!(
            text.contains("abc\n[3 more bytes dropped]"),
            "{}",
            &text[text.len() - 40..]
        );
        assert_eq!(c.take(), "");
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
