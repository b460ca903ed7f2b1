//! `caliper new`: scaffold a metric project.

use std::path::PathBuf;

use crate::scaffold::{self, Lang};
use anyhow::Result;
use clap::{Args, ValueEnum};

use crate::common::Exit;

/// Create a metric project that builds into a component with one command
///
/// The project holds a small working metric (a word budget) named NAME, its
/// labelled cases, and a README with the commands. It passes its own cases
/// out of the box:
///
///   caliper new refund-policy --lang python
///   cd refund-policy && ./build.sh
///   caliper test refund-policy.wasm --cases cases.jsonl
///
/// Build commands: rust `cargo build --release --target wasm32-wasip2`,
/// python `./build.sh`, js `npm install && npm run build`, c `make`.
///
/// The project refers to Caliper's SDK by path: --sdk, else $CALIPER_SDK,
/// else the `sdk/` directory of the checkout caliper was built from.
#[derive(Args)]
#[command(verbatim_doc_comment)]
pub struct NewCommand {
    /// Metric name, kebab-case (e.g. `refund-policy`).
    name: String,
    /// Language of the metric.
    #[arg(long, value_enum)]
    lang: LangArg,
    /// Directory to create [default: ./NAME].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Caliper's `sdk/` directory.
    #[arg(long, value_name = "DIR", env = "CALIPER_SDK")]
    sdk: Option<PathBuf>,
}

/// `--lang` values.
#[derive(Clone, Copy, ValueEnum)]
enum LangArg {
    Rust,
    Python,
    Js,
    C,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Rust => Lang::Rust,
            LangArg::Python => Lang::Python,
            LangArg::Js => Lang::Js,
            LangArg::C => Lang::C,
        }
    }
}

impl NewCommand {
    pub fn execute(self) -> Result<Exit> {
        let lang = Lang::from(self.lang);
        scaffold::check_name(&self.name)?;
        let sdk = scaffold::find_sdk(self.sdk.as_deref(), lang)?;
        let project = scaffold::project(&self.name, lang, &sdk)?;
        let dir = self.dir.unwrap_or_else(|| PathBuf::from(&self.name));
        project.write(&dir)?;
        println!(
            "Created the {lang} metric `{}` in {}",
            self.name,
            dir.display()
        );
        println!("\nNext:");
        println!("  cd {}", dir.display());
        println!("  {}", lang.build_command());
        println!(
            "  caliper test {} --cases cases.jsonl",
            lang.component_path(&self.name)
        );
        Ok(Exit::Success)
    }
}
