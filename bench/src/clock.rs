//! Wall and CPU time of a run. On a shared machine the wall time of a run
//! depends on what else runs; the process's CPU time (all threads, user +
//! system) much less so. Both are reported.

use std::time::Instant;

/// Wall and CPU seconds of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spent {
    /// Wall-clock seconds.
    pub wall: f64,
    /// CPU seconds of the whole process (every thread, user + system).
    pub cpu: f64,
}

/// A started measurement.
pub struct Clock {
    wall: Instant,
    cpu: f64,
}

/// CPU seconds the process has used so far.
fn process_cpu() -> f64 {
    // SAFETY: getrusage only writes the struct we pass; a zeroed rusage is a
    // valid value of the type.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

impl Clock {
    /// Starts measuring.
    pub fn start() -> Clock {
        Clock {
            cpu: process_cpu(),
            wall: Instant::now(),
        }
    }

    /// What was spent since [`Clock::start`].
    pub fn stop(self) -> Spent {
        let wall = self.wall.elapsed().as_secs_f64();
        Spent {
            wall,
            cpu: process_cpu() - self.cpu,
        }
    }
}
