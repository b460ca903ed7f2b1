//! # caliper-sdk: write a Caliper micro metric in Rust
//!
//! A metric is a type that implements [`Metric`]: it describes itself, builds
//! itself from a typed configuration, and scores one [`Sample`] at a time.
//! [`export_metric!`] turns it into a WebAssembly component that implements
//! the `caliper:metric@0.1.0` contract (see `wit/metric.wit`).
//!
//! ```
//! use caliper_sdk::{Descriptor, Error, Metric, Outcome, Sample};
//! use serde::Deserialize;
//!
//! /// Fails answers longer than `max_words`.
//! pub struct Brevity {
//!     max_words: usize,
//! }
//!
//! #[derive(Deserialize)]
//! #[serde(default, deny_unknown_fields)]
//! pub struct Config {
//!     max_words: usize,
//! }
//!
//! impl Default for Config {
//!     fn default() -> Self {
//!         Config { max_words: 200 }
//!     }
//! }
//!
//! impl Metric for Brevity {
//!     type Config = Config;
//!
//!     fn describe() -> Descriptor {
//!         Descriptor::new("brevity", "0.1.0")
//!             .description("answers stay under a word budget")
//!             .owner("support-bots")
//!             .goal("users read answers on mobile")
//!             .unit("words", false)
//!     }
//!
//!     fn new(config: Config) -> Result<Self, Error> {
//!         if config.max_words == 0 {
//!             return Err(Error::new("max_words must be positive"));
//!         }
//!         Ok(Brevity { max_words: config.max_words })
//!     }
//!
//!     fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
//!         let words = sample.output.split_whitespace().count();
//!         Ok(Outcome::check(words <= self.max_words, words as f64)
//!             .with_reason(format!("{words} words (max {})", self.max_words)))
//!     }
//! }
//!
//! caliper_sdk::export_metric!(Brevity);
//!
//! // Metrics are plain Rust too: test them natively.
//! let metric: Brevity = caliper_sdk::configure(r#"{"max_words": 3}"#).unwrap();
//! let outcome = metric.evaluate(&Sample::with_output("one two three four")).unwrap();
//! assert!(outcome.is_fail());
//! ```
//!
//! Build the component with
//! `cargo build --profile plugin --target wasm32-wasip2` (crate type `cdylib`).
//! On other targets [`export_metric!`] expands to nothing, so the same crate
//! can be unit-tested and benchmarked natively.
#![deny(missing_docs)]

mod outcome;
pub mod pointer;
mod sample;

pub use outcome::{Outcome, Verdict};
pub use sample::{Message, MetaValue, Metadata, Sample, TextField};

use serde::de::DeserializeOwned;

/// Bindings generated from `wit/metric.wit`. Used by [`export_metric!`];
/// metric authors do not need them.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "metric-component",
        pub_export_macro: true,
        default_bindings_module: "caliper_sdk::bindings",
    });
}

/// An error a metric reports: a rejected configuration (from
/// [`Metric::new`]) or a sample it could not score (from
/// [`Metric::evaluate`]). The host records the latter as outcome `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    /// An error with a human-readable message.
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// A metric's self-description: who owns it, why it exists, what its value
/// means and how it is configured.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    /// Kebab-case name, e.g. `language-match`.
    pub name: String,
    /// Semantic version of the metric's logic.
    pub version: String,
    /// One line: what the metric checks.
    pub description: String,
    /// Owning team or person.
    pub owner: String,
    /// The business goal the metric serves.
    pub goal: String,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Unit of the outcome value, e.g. `ratio`, `ms`, `words`.
    pub unit: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
    /// JSON Schema of the configuration, as JSON text.
    pub config_schema: String,
}

impl Descriptor {
    /// A descriptor with a name and version; fill in the rest with the
    /// builder methods.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Descriptor {
            name: name.into(),
            version: version.into(),
            description: String::new(),
            owner: String::new(),
            goal: String::new(),
            tags: Vec::new(),
            unit: String::new(),
            higher_is_better: true,
            config_schema: "{}".to_owned(),
        }
    }

    /// Sets the one-line description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Sets the owner.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Sets the business goal.
    pub fn goal(mut self, goal: impl Into<String>) -> Self {
        self.goal = goal.into();
        self
    }

    /// Sets the tags.
    pub fn tags<S: Into<String>>(mut self, tags: impl IntoIterator<Item = S>) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the unit of the value and whether higher is better.
    pub fn unit(mut self, unit: impl Into<String>, higher_is_better: bool) -> Self {
        self.unit = unit.into();
        self.higher_is_better = higher_is_better;
        self
    }

    /// Sets the JSON Schema of the configuration, written by hand. Prefer
    /// [`Descriptor::config_schema_of`], which cannot drift from the config
    /// type.
    pub fn config_schema(mut self, schema: serde_json::Value) -> Self {
        self.config_schema = schema.to_string();
        self
    }

    /// Sets the JSON Schema of the configuration to the one derived from
    /// `C` (`#[derive(schemars::JsonSchema)]` beside `serde::Deserialize`):
    /// serde attributes (`default`, `deny_unknown_fields`, renames) shape it,
    /// doc comments become descriptions, `#[schemars(range(..))]` and
    /// `#[schemars(length(..))]` add bounds.
    pub fn config_schema_of<C: schemars::JsonSchema>(self) -> Self {
        self.config_schema(schemars::schema_for!(C).to_value())
    }
}

/// A micro metric. Implement it, then call [`export_metric!`].
pub trait Metric: Sized + 'static {
    /// The configuration, deserialised from the JSON object the host passes
    /// (`{}` when the operator gave none). Use `#[serde(default,
    /// deny_unknown_fields)]` so typos are caught at load time.
    type Config: DeserializeOwned;

    /// Describes the metric; must not depend on configuration.
    fn describe() -> Descriptor;

    /// Validates the configuration and builds the metric. Precompile
    /// patterns and schemas here: this runs once per instance, not once per
    /// sample.
    fn new(config: Self::Config) -> Result<Self, Error>;

    /// Scores one sample. Return `Err` only when the metric cannot score the
    /// sample at all; a sample that fails the check is `Ok(Outcome::fail..)`.
    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error>;

    /// Scores many samples; the default calls [`Metric::evaluate`] on each.
    fn evaluate_batch(&self, samples: &[Sample]) -> Vec<Result<Outcome, Error>> {
        samples.iter().map(|s| self.evaluate(s)).collect()
    }
}

/// Parses a JSON configuration and builds the metric, as the host does at
/// load time. Useful in native unit tests.
pub fn configure<M: Metric>(config_json: &str) -> Result<M, Error> {
    let text = if config_json.trim().is_empty() {
        "{}"
    } else {
        config_json
    };
    let config: M::Config =
        serde_json::from_str(text).map_err(|e| Error::new(format!("invalid config: {e}")))?;
    M::new(config)
}

/// Severity of a [`log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something looks wrong.
    Warn,
    /// Something failed.
    Error,
}

/// Writes a line to the host's log, tagged with this metric instance. On
/// native targets it goes to stderr.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    {
        use bindings::caliper::metric::host::{LogLevel as L, log};
        let level = match level {
            LogLevel::Trace => L::Trace,
            LogLevel::Debug => L::Debug,
            LogLevel::Info => L::Info,
            LogLevel::Warn => L::Warn,
            LogLevel::Error => L::Error,
        };
        log(level, message);
    }
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{level:?}] {message}");
}

/// Exports a [`Metric`] type as the component's implementation of
/// `caliper:metric/metric`. Call it once per crate. Expands to nothing on
/// non-Wasm targets.
#[macro_export]
#[rustfmt::skip] // rustfmt mangles the `with_types_in` form of the call below
macro_rules! export_metric {
    ($metric:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type CaliperComponent = $crate::__private::Component<$metric>;
            $crate::bindings::export!(CaliperComponent with_types_in $crate::bindings);
        };
    };
}

#[doc(hidden)]
pub mod __private {
    //! Glue between the generated bindings and [`Metric`].
    use super::*;
    use crate::bindings::exports::caliper::metric::metric as wit;
    use crate::bindings::exports::caliper::metric::metric::{
        ConfigError, EvalError, Guest, GuestEvaluator,
    };
    use std::marker::PhantomData;

    /// The component's export, generic over the metric.
    pub struct Component<M>(PhantomData<M>);

    /// A configured metric behind the `evaluator` resource.
    pub struct Evaluator<M>(M);

    impl<M: Metric> Guest for Component<M> {
        type Evaluator = Evaluator<M>;

        fn describe() -> wit::Descriptor {
            M::describe().into()
        }

        fn configure(config: String) -> Result<wit::Evaluator, ConfigError> {
            match configure::<M>(&config) {
                Ok(metric) => Ok(wit::Evaluator::new(Evaluator(metric))),
                Err(e) => Err(ConfigError { message: e.message }),
            }
        }
    }

    impl<M: Metric> GuestEvaluator for Evaluator<M> {
        fn evaluate(&self, sample: wit::Sample) -> Result<wit::Outcome, EvalError> {
            convert_result(self.0.evaluate(&sample.into()))
        }

        fn evaluate_batch(
            &self,
            samples: Vec<wit::Sample>,
        ) -> Vec<Result<wit::Outcome, EvalError>> {
            let samples: Vec<Sample> = samples.into_iter().map(Into::into).collect();
            self.0
                .evaluate_batch(&samples)
                .into_iter()
                .map(convert_result)
                .collect()
        }
    }

    fn convert_result(result: Result<Outcome, Error>) -> Result<wit::Outcome, EvalError> {
        result
            .map(Into::into)
            .map_err(|e| EvalError { message: e.message })
    }
}

mod convert {
    //! Moves between SDK types and generated binding types (no copies of
    //! string data).
    use super::*;
    use crate::bindings::caliper::metric::types as wit;

    impl From<Descriptor> for wit::Descriptor {
        fn from(d: Descriptor) -> Self {
            wit::Descriptor {
                name: d.name,
                version: d.version,
                description: d.description,
                owner: d.owner,
                goal: d.goal,
                tags: d.tags,
                value: wit::ValueMeaning {
                    unit: d.unit,
                    higher_is_better: d.higher_is_better,
                },
                config_schema: d.config_schema,
            }
        }
    }

    impl From<wit::Sample> for Sample {
        fn from(s: wit::Sample) -> Self {
            Sample {
                id: s.id,
                input: s.input,
                output: s.output,
                messages: s
                    .messages
                    .into_iter()
                    .map(|m| Message {
                        role: m.role,
                        content: m.content,
                    })
                    .collect(),
                context: s.context,
                expected: s.expected,
                metadata: Metadata::from_entries(
                    s.metadata
                        .into_iter()
                        .map(|(k, v)| {
                            let v = match v {
                                wit::MetaValue::Null => MetaValue::Null,
                                wit::MetaValue::Boolean(b) => MetaValue::Bool(b),
                                wit::MetaValue::Number(n) => MetaValue::Number(n),
                                wit::MetaValue::Text(t) => MetaValue::Text(t),
                                wit::MetaValue::Json(j) => MetaValue::Json(j),
                            };
                            (k, v)
                        })
                        .collect(),
                ),
            }
        }
    }

    impl From<Outcome> for wit::Outcome {
        fn from(o: Outcome) -> Self {
            wit::Outcome {
                verdict: match o.verdict {
                    Verdict::Pass => wit::Verdict::Pass,
                    Verdict::Fail => wit::Verdict::Fail,
                    Verdict::Skip => wit::Verdict::Skip,
                },
                value: o.value,
                reason: o.reason,
                labels: o.labels,
            }
        }
    }
}
