//! The progress bar of long runs, and the log writer that keeps log lines
//! from tearing through it: while a bar is on screen, each log line is
//! written with the bar cleared and redrawn after it.

use std::io::Write;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;

/// The bar on screen, if any.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn active() -> std::sync::MutexGuard<'static, Option<ProgressBar>> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A progress bar over `size` bytes (a spinner when the size is unknown),
/// drawn on stderr when it is a terminal. Log lines go above it while it
/// lives; dropping it clears it.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A new bar; `hidden` draws nothing (`--no-progress`, `--quiet`).
    pub fn new(size: Option<u64>, hidden: bool) -> Progress {
        let bar = match size {
            Some(len) => ProgressBar::new(len).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg} (eta {eta})",
                )
                .expect("valid template"),
            ),
            None => ProgressBar::new_spinner(),
        };
        if hidden {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        *active() = Some(bar.clone());
        Progress { bar }
    }

    /// The bar, to update.
    pub fn bar(&self) -> &ProgressBar {
        &self.bar
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        active().take();
        self.bar.finish_and_clear();
    }
}

/// `tracing` writer to stderr that suspends the active progress bar for each
/// log line.
pub struct LogWriter;

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine(Vec::new())
    }
}

/// One log event, buffered and written whole when dropped.
pub struct LogLine(Vec<u8>);

impl Write for LogLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let write = || {
            let _ = std::io::stderr().lock().write_all(&self.0);
        };
        let bar = active().clone();
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}
