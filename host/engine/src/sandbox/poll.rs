//! The sandbox's `wasi:io/poll`: every guest wait ends at the evaluation's
//! deadline.
//!
//! Epoch interruption stops guest *code* at its deadline, but it cannot
//! interrupt a blocking host call: a guest that calls
//! `std::thread::sleep(3600 s)` (a `monotonic-clock` pollable and
//! `pollable.block`) would otherwise hold its worker for an hour. In WASI p2
//! every wait of a guest goes through `wasi:io/poll` (`poll`,
//! `pollable.block`; the blocking stream methods wait on pollables of streams
//! the sandbox makes always ready: closed stdin, captured stdout/stderr, no
//! files, no sockets). This module shadows wasmtime-wasi's `wasi:io/poll`
//! with one that runs the same wait under a timeout at the deadline the
//! instance armed ([`StoreState::deadline`](super::store::StoreState)), and ends the
//! call with [`DeadlineReached`] when it passes; the instance reports that as
//! a `timeout` outcome.

use std::time::Instant;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::sync::io::poll;
use wasmtime_wasi_io::bindings::wasi::io::poll::{
    Host as AsyncPollHost, HostPollable as AsyncHostPollable,
};

use super::store::StoreState;

/// The error a guest's wait ends with when its evaluation's deadline passes.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the deadline passed while the metric was waiting in a host call")]
pub struct DeadlineReached;

/// What the poll functions see of a store: its resource table and the
/// deadline of the call in progress.
pub(crate) struct DeadlinePoll<'a> {
    table: &'a mut ResourceTable,
    deadline: Option<Instant>,
}

impl DeadlinePoll<'_> {
    /// Runs `wait` on wasmtime-wasi's runtime, cut at the deadline.
    fn bounded<R>(
        deadline: Option<Instant>,
        wait: impl Future<Output = wasmtime::Result<R>>,
    ) -> wasmtime::Result<R> {
        wasmtime_wasi::runtime::in_tokio(async move {
            match deadline {
                None => wait.await,
                Some(at) => match tokio::time::timeout_at(at.into(), wait).await {
                    Ok(result) => result,
                    Err(_) => Err(wasmtime::Error::new(DeadlineReached)),
                },
            }
        })
    }
}

impl poll::Host for DeadlinePoll<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let deadline = self.deadline;
        let table = &mut *self.table;
        Self::bounded(deadline, AsyncPollHost::poll(table, pollables))
    }
}

impl poll::HostPollable for DeadlinePoll<'_> {
    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        let deadline = self.deadline;
        let table = &mut *self.table;
        Self::bounded(deadline, AsyncHostPollable::block(table, pollable))
    }

    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        // Never waits: it polls the pollable's future once.
        let table = &mut *self.table;
        wasmtime_wasi::runtime::in_tokio(AsyncHostPollable::ready(table, pollable))
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        AsyncHostPollable::drop(&mut *self.table, pollable)
    }
}

struct HasDeadlinePoll;

impl HasData for HasDeadlinePoll {
    type Data<'a> = DeadlinePoll<'a>;
}

/// Replaces the `wasi:io/poll` that `wasmtime_wasi::p2::add_to_linker_sync`
/// defined with the deadline-bounded one. Call it right after that.
pub(crate) fn shadow_wasi_poll(linker: &mut Linker<StoreState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    poll::add_to_linker::<StoreState, HasDeadlinePoll>(linker, |s| DeadlinePoll {
        table: &mut s.table,
        deadline: s.deadline,
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
