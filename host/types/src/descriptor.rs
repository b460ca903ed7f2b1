//! A metric's self-description: what its component says it is.

use serde::{Deserialize, Serialize};

/// A metric's self-description (see `descriptor` in `wit/metric.wit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    /// Kebab-case name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// One line: what it checks.
    pub description: String,
    /// Owning team or person.
    pub owner: String,
    /// The business goal it serves.
    pub goal: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Unit of the value.
    pub unit: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
    /// JSON Schema of the configuration (`null` if the metric gave invalid
    /// JSON).
    pub config_schema: serde_json::Value,
}
