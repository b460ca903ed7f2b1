//! How far a metric's results reach ([`Stage`]), and what a guardrail does
//! when a metric cannot answer ([`FailureMode`]).

use serde::{Deserialize, Serialize};

/// How far a metric's results reach (crawl, walk, run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Computed and recorded; never gates, blocks or alerts.
    Shadow,
    /// Also in the generated alert rules.
    Alert,
    /// Also fails CI gates and blocks guardrail requests.
    #[default]
    Gate,
}

impl Stage {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Shadow => "shadow",
            Stage::Alert => "alert",
            Stage::Gate => "gate",
        }
    }
}

/// What a guardrail does when the metric cannot give an answer (error,
/// timeout, memory, trap, invalid output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    /// Allow the response: availability over safety.
    #[default]
    FailOpen,
    /// Block the response: safety over availability.
    FailClosed,
}
