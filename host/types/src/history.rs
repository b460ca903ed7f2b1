//! The `[history]` choices the run history applies: what a recorded run
//! keeps of its samples.

use serde::Serialize;

/// What a recorded run keeps of its samples (`[history] samples`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleDetail {
    /// Inputs, outputs, metadata, and the metrics' reasons and labels.
    #[default]
    Full,
    /// Sample ids, outcomes, values and durations only.
    Ids,
}

impl SampleDetail {
    /// `full` or `ids`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SampleDetail::Full => "full",
            SampleDetail::Ids => "ids",
        }
    }
}
