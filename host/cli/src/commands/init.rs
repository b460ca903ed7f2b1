//! `caliper init`: the built-in default set, written as a `caliper.toml` to
//! edit.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::common::Exit;

/// Write a caliper.toml with the standard metrics built into caliper
///
/// The file is the set `caliper run` uses where there is no caliper.toml
/// (pii-leak, refusal, language-match, json, response-length, similarity),
/// with their useful options and gates as comments, and the metrics that
/// need something about your data (keyword, regex, budget) commented out.
/// Never replaces an existing file unless --force.
///
/// Examples:
///
///   caliper init
///   caliper init --config ci/caliper.toml
///   caliper init && caliper lock && caliper run data.jsonl --locked
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct InitCommand {
    /// The file to write.
    #[arg(short, long, default_value = "caliper.toml", value_name = "FILE")]
    config: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
}

impl InitCommand {
    pub fn execute(self) -> Result<Exit> {
        let path = &self.config;
        let text = caliper_builtin::DEFAULT_CONFIG;
        if self.force {
            caliper_types::atomic_file::write(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
        } else {
            // create_new: an existing file (even one created a moment ago)
            // is never replaced.
            let mut file = match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => anyhow::bail!(
                    "{} exists; `caliper init --force` replaces it",
                    path.display()
                ),
                other => other.with_context(|| format!("cannot create {}", path.display()))?,
            };
            if let Err(e) = file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
            {
                let _ = std::fs::remove_file(path);
                return Err(e).with_context(|| format!("cannot write {}", path.display()));
            }
        }
        let config = caliper_config::Config::parse(text, std::path::Path::new("."))?;
        let names: Vec<String> = config.metrics.iter().map(|m| m.instance_name()).collect();
        eprintln!(
            "wrote {}: {} (built into caliper; `caliper list` shows their digests). \
             Next: caliper run DATASET.jsonl",
            path.display(),
            names.join(", ")
        );
        Ok(Exit::Success)
    }
}
