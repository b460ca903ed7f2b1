//! Who answers for a metric, how far its results reach, and when it must be
//! reviewed again: layered from the config, the package and what a run
//! recorded.

use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::stage::Stage;

/// Owners that mean nobody.
const NO_OWNER: &[&str] = &["", "unknown", "none", "nobody", "n/a", "tbd"];

/// Who answers for a metric instance, how far its results reach, and when
/// it must be reviewed again. Recorded with every run (the history keeps
/// what cannot be recomputed later) and read back by the audit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stewardship {
    /// Owning team or person.
    pub owner: Option<String>,
    /// Shadow, alert or gate.
    pub stage: Option<Stage>,
    /// When it must be reviewed again.
    pub review_by: Option<Date>,
}

impl Stewardship {
    /// The effective stewardship of a metric instance: the one place that
    /// decides it. Field by field, the most specific layer wins:
    ///
    /// 1. the instance's `[[metric]]` entry in `caliper.toml` (`owner`,
    ///    `stage`, `review_by`: `MetricConfig::stewardship`); an instance in
    ///    the config without a stage is at the default stage;
    /// 2. the package manifest embedded in the component (`caliper pack`:
    ///    `Manifest::stewardship`);
    /// 3. `fallback`: the component's self-description when a run records
    ///    it (its descriptor's owner), or what the history recorded when the
    ///    audit reads it.
    pub fn resolve(
        config: Option<Stewardship>,
        manifest: Option<Stewardship>,
        fallback: Stewardship,
    ) -> Stewardship {
        let in_config = config.is_some();
        let config = config.unwrap_or_default();
        let manifest = manifest.unwrap_or_default();
        Stewardship {
            owner: config
                .owner
                .or(manifest.owner.filter(|o| !o.is_empty()))
                .or(fallback.owner),
            stage: config
                .stage
                .or(manifest.stage)
                .or(in_config.then(Stage::default))
                .or(fallback.stage),
            review_by: config
                .review_by
                .or(manifest.review_by)
                .or(fallback.review_by),
        }
    }

    /// Whether the owner is missing or means nobody.
    pub fn is_ownerless(&self) -> bool {
        self.owner
            .as_deref()
            .is_none_or(|o| NO_OWNER.contains(&o.trim().to_ascii_lowercase().as_str()))
    }
}
