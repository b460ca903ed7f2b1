//! The sandbox every metric instance runs in.
//!
//! Each instance gets its own [`Store`](wasmtime::Store) whose state is a
//! [`StoreState`]: a WASI context with no preopened directories, no
//! environment, no sockets, a frozen clock and a fixed random seed (so scores
//! are reproducible), guest stdout/stderr captured into bounded buffers, and
//! a [`ResourceLimiter`](wasmtime::ResourceLimiter) that caps the total linear memory.
//!
//! Every wait a guest makes in a host call ends at the evaluation's deadline
//! (`poll`), so a deadline bounds wall time whatever the guest does.
//!
//! Architecture invariant: nothing here grants a capability unless
//! [`Grants`] says so, and grants default to none.

mod poll;
mod store;

pub use caliper_types::limits::{DEFAULT_START_TIMEOUT_MS, Grants, Limits};
pub use poll::DeadlineReached;
pub(crate) use poll::shadow_wasi_poll;
pub use store::*;
