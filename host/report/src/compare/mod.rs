//! `caliper compare`: the same metrics on the same samples before and after
//! a change (a prompt, a model), with statistics, the samples that flipped,
//! and regression gates.
//!
//! Inputs are two results files of `caliper run -o`. Evaluations are
//! matched by (metric instance, sample id). Per metric: pass rates of each
//! side with Wilson intervals (over that side's applicable samples, i.e. all
//! but `skip`; errors of any kind count as not passing), then on the matched
//! samples applicable on both sides: the pass-rate change with a seeded
//! paired bootstrap interval, the exact McNemar test of the discordant pairs,
//! the mean value change with a bootstrap interval, and the flipped samples.

mod html;
mod model;
mod render;

pub use html::html;
pub use model::*;
pub use render::{markdown, table};
