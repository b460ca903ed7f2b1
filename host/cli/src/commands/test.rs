//! `caliper test`: a metric against its labelled cases, like a unit test.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use caliper_engine::cases;
use caliper_engine::metric::MetricSpec;
use caliper_engine::plugin::Plugin;
use caliper_engine::sandbox::{Grants, Limits};
use clap::Args;

use crate::common::{Exit, Global, compile_cache, component_file, default_runtime};

/// Test a metric component against labelled cases, like unit tests
///
/// CASES is JSONL, one case per line:
///
///   {"name": "leak", "config": {...},
///    "sample": {"output": "mail bob@example.com"},
///    "expect": {"outcome": "fail", "value": 1, "labels": {"kinds": "email"},
///               "reason_contains": "b***@"}}
///
/// `config` (optional) replaces --config for that case; in `expect` only
/// `outcome` is required. Every mismatch is listed; exit code 1 when any
/// case fails, 2 when the component or the cases cannot be used.
///
/// Examples:
///
///   caliper test builtin:pii-leak --cases plugins/pii-leak/cases.jsonl
///   caliper test metric.wasm --cases cases.jsonl --config '{"max": 120}'
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct TestCommand {
    /// The component (.wasm), a built-in metric (`builtin:pii-leak`), or an
    /// `oci://` reference to pull.
    #[arg(value_name = "FILE.wasm")]
    file: PathBuf,
    /// The labelled cases (JSONL).
    #[arg(long, value_name = "CASES.jsonl")]
    cases: PathBuf,
    /// Config (JSON) for cases that do not bring their own.
    #[arg(long, value_name = "JSON", default_value = "{}")]
    config: String,
    /// Per-evaluation deadline in milliseconds.
    #[arg(long, default_value_t = Limits::default().timeout_ms)]
    timeout_ms: u64,
}

impl TestCommand {
    pub fn execute(self, global: &Global) -> Result<Exit> {
        serde_json::from_str::<serde_json::Value>(&self.config)
            .context("--config is not valid JSON")?;
        let cases = cases::load(&self.cases)?;
        let runtime = default_runtime()?;
        let cache = compile_cache(global, None);
        let plugin = Arc::new(Plugin::load(
            &runtime,
            &cache,
            &component_file(&self.file)?,
        )?);
        let spec = Arc::new(MetricSpec::new(
            plugin.descriptor.name.clone(),
            plugin.clone(),
            self.config.clone(),
            Limits {
                timeout_ms: self.timeout_ms,
                ..Limits::default()
            },
            Grants::default(),
            Default::default(),
        ));
        let mismatches = cases::check(&spec, &cases);
        let d = &plugin.descriptor;
        println!(
            "{} {} ({}): {} of {} cases pass",
            d.name,
            d.version,
            self.cases.display(),
            cases.len() - mismatches.len(),
            cases.len()
        );
        for m in &mismatches {
            println!("  FAIL {m}");
        }
        Ok(if mismatches.is_empty() {
            Exit::Success
        } else {
            Exit::GateFailed
        })
    }
}
