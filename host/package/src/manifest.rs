//! Metric packages: a component that carries its own manifest.
//!
//! `caliper pack` reads a `metric.toml` beside the metric's code and embeds
//! it into the `.wasm`: the component model's standard metadata (name,
//! version, description, authors, producers) through `wasm-metadata`, and
//! everything else (owner, goal, stage, dates, contract and host versions,
//! default config, labelled examples) as JSON in the custom section
//! [`SECTION`]. The host reads the manifest on every load: it checks the
//! contract and host versions, and refuses a package whose own examples fail
//! (see `caliper_engine::load::validate`).
//!
//! ```toml
//! # metric.toml
//! name = "competitor-mention"      # must match what the component describes
//! version = "1.2.0"
//! owner = "brand-team"
//! goal = "Never advertise a competitor"
//! stage = "alert"                  # default stage: shadow | alert | gate
//! created = "2026-10-01"
//! review_by = "2027-04-01"
//! examples = "cases.jsonl"         # embedded; must pass to pack and to load
//! [config]                         # default config
//! competitors = ["Acme Bank"]
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cases::Case;
use crate::sections::{custom_payload, sections};
use caliper_types::descriptor::Descriptor;
use caliper_types::stage::Stage;

/// Name of the custom section that holds the manifest (JSON).
pub const SECTION: &str = "caliper:manifest";

/// Version of this host, compared with a package's `min_host`.
pub const HOST_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A package's manifest, as embedded in the component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Kebab-case name (equal to the component's descriptor).
    pub name: String,
    /// Semantic version (equal to the component's descriptor).
    pub version: String,
    /// One line: what it checks.
    pub description: String,
    /// Owning team or person.
    pub owner: String,
    /// The business goal it serves.
    pub goal: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The stage a config gets when it does not set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
    /// When the metric was created (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When it must be reviewed again (`YYYY-MM-DD`); `caliper audit` flags
    /// it as stale afterwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_by: Option<String>,
    /// The contract version the component implements.
    pub contract: String,
    /// The oldest host version that can run it.
    pub min_host: String,
    /// The config a metric instance gets when `caliper.toml` gives none.
    #[serde(default = "empty_object")]
    pub config: serde_json::Value,
    /// Labelled examples (the lines of the examples file), checked at pack
    /// time and at every load.
    #[serde(default)]
    pub examples: Vec<serde_json::Value>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// `metric.toml`: the source of a manifest. Fields left out are taken from
/// the component's self-description (name, version, description, owner,
/// goal, tags) or from this host (contract, min_host).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestSource {
    /// Metric name; must equal the descriptor's.
    pub name: Option<String>,
    /// Version; must equal the descriptor's.
    pub version: Option<String>,
    /// Overrides the descriptor's description.
    pub description: Option<String>,
    /// Overrides the descriptor's owner.
    pub owner: Option<String>,
    /// Overrides the descriptor's goal.
    pub goal: Option<String>,
    /// Overrides the descriptor's tags.
    pub tags: Option<Vec<String>>,
    /// Default stage.
    pub stage: Option<Stage>,
    /// Creation date (`YYYY-MM-DD`, string or TOML date).
    pub created: Option<toml::Value>,
    /// Review-by date (`YYYY-MM-DD`, string or TOML date).
    pub review_by: Option<toml::Value>,
    /// Oldest host version that can run it (default: this host's version).
    pub min_host: Option<String>,
    /// Examples file (JSONL), relative to `metric.toml`.
    pub examples: Option<PathBuf>,
    /// Default config.
    pub config: Option<toml::Table>,
}

/// Why a package cannot be built or used.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// `metric.toml` cannot be read or parsed.
    #[error("{path}: {message}")]
    Source {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The manifest disagrees with the component or is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The embedded manifest cannot be parsed.
    #[error("the embedded manifest (custom section `{SECTION}`) is not valid: {0}")]
    Embedded(String),
}

/// Reads `metric.toml`.
pub fn read_source(path: &Path) -> Result<ManifestSource, PackageError> {
    let err = |message: String| PackageError::Source {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    toml::from_str(&text).map_err(|e| err(e.to_string()))
}

/// Checks a `YYYY-MM-DD` date (a day in the calendar, as
/// [`Date::parse`](caliper_types::date::Date::parse) reads it everywhere).
pub fn check_date(field: &str, text: &str) -> Result<(), String> {
    caliper_types::date::Date::parse(text)
        .map(|_| ())
        .map_err(|_| format!("`{field}` must be a date like 2027-04-01, not `{text}`"))
}

fn date(field: &str, value: &Option<toml::Value>) -> Result<Option<String>, String> {
    let Some(value) = value else { return Ok(None) };
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => return Err(format!("`{field}` must be a date, not {other}")),
    };
    check_date(field, &text)?;
    Ok(Some(text))
}

fn check_version(field: &str, text: &str) -> Result<semver::Version, String> {
    semver::Version::parse(text)
        .map_err(|e| format!("`{field}` is not a semantic version (`{text}`): {e}"))
}

/// Builds the manifest from `metric.toml` (at `source_path`) and the
/// component's self-description. Reads the examples file.
pub fn build(
    source: &ManifestSource,
    source_path: &Path,
    descriptor: &Descriptor,
    contract: &str,
) -> Result<Manifest, PackageError> {
    let invalid = |m: String| PackageError::Source {
        path: source_path.to_owned(),
        message: m,
    };
    for (field, given, described) in [
        ("name", &source.name, &descriptor.name),
        ("version", &source.version, &descriptor.version),
    ] {
        if let Some(given) = given
            && given != described
        {
            return Err(invalid(format!(
                "`{field} = \"{given}\"` but the component describes itself as {field} `{described}`; \
                 make them agree (the manifest must not contradict the code)"
            )));
        }
    }
    check_version("version", &descriptor.version).map_err(invalid)?;
    let min_host = source
        .min_host
        .clone()
        .unwrap_or_else(|| HOST_VERSION.to_owned());
    check_version("min_host", &min_host).map_err(invalid)?;
    let examples = match &source.examples {
        None => Vec::new(),
        Some(file) => {
            let path = source_path.parent().unwrap_or(Path::new(".")).join(file);
            // Parsed as cases first, so a bad line is reported with its file
            // and line number now rather than at load time.
            crate::cases::load(&path).map_err(|e| invalid(format!("examples: {e}")))?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| invalid(format!("examples {}: {e}", path.display())))?;
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(serde_json::from_str)
                .collect::<Result<_, _>>()
                .map_err(|e| invalid(format!("examples {}: {e}", path.display())))?
        }
    };
    let config = match &source.config {
        Some(table) => serde_json::to_value(table).map_err(|e| invalid(e.to_string()))?,
        None => empty_object(),
    };
    Ok(Manifest {
        name: descriptor.name.clone(),
        version: descriptor.version.clone(),
        description: source
            .description
            .clone()
            .unwrap_or_else(|| descriptor.description.clone()),
        owner: source
            .owner
            .clone()
            .unwrap_or_else(|| descriptor.owner.clone()),
        goal: source
            .goal
            .clone()
            .unwrap_or_else(|| descriptor.goal.clone()),
        tags: source
            .tags
            .clone()
            .unwrap_or_else(|| descriptor.tags.clone()),
        stage: source.stage,
        created: date("created", &source.created).map_err(invalid)?,
        review_by: date("review_by", &source.review_by).map_err(invalid)?,
        contract: contract.to_owned(),
        min_host,
        config,
        examples,
    })
}

impl Manifest {
    /// What the package says of its stewardship (a non-empty owner, its
    /// default stage, its review date; see `Stewardship::resolve`).
    pub fn stewardship(&self) -> caliper_types::stewardship::Stewardship {
        caliper_types::stewardship::Stewardship {
            owner: Some(self.owner.clone()).filter(|o| !o.is_empty()),
            stage: self.stage,
            review_by: self
                .review_by
                .as_deref()
                .and_then(|d| caliper_types::date::Date::parse(d).ok()),
        }
    }

    /// The examples as cases (ids default to `examples:<n>`).
    pub fn cases(&self) -> Result<Vec<Case>, String> {
        self.examples
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut case: Case = serde_json::from_value(v.clone())
                    .map_err(|e| format!("example {}: {e}", i + 1))?;
                if case.sample.id.is_empty() {
                    case.sample.id = format!("examples:{}", i + 1);
                }
                Ok(case)
            })
            .collect()
    }

    /// Checks the manifest against the component it rides in and against
    /// this host: same name and version as the descriptor, the same contract,
    /// and a `min_host` this host satisfies.
    pub fn check(&self, descriptor: &Descriptor, contract: &str) -> Result<(), String> {
        if self.name != descriptor.name || self.version != descriptor.version {
            return Err(format!(
                "its manifest is for {} {} but the component describes itself as {} {}",
                self.name, self.version, descriptor.name, descriptor.version
            ));
        }
        if self.contract != contract {
            return Err(format!(
                "its manifest declares contract {} but the component implements {contract}",
                self.contract
            ));
        }
        self.check_text()?;
        let needed = check_version("min_host", &self.min_host)?;
        let host = semver::Version::parse(HOST_VERSION).expect("the crate version is semver");
        if host < needed {
            return Err(format!(
                "it needs Caliper {} or newer; this is {HOST_VERSION}",
                self.min_host
            ));
        }
        for (field, value) in [("created", &self.created), ("review_by", &self.review_by)] {
            if let Some(value) = value {
                check_date(field, value)?;
            }
        }
        self.cases().map(|_| ())
    }
}

/// Longest free-text field (description, owner, goal) of a manifest.
pub const MAX_MANIFEST_TEXT: usize = 1024;
/// Most tags a manifest may list, and the longest tag.
pub const MAX_MANIFEST_TAGS: (usize, usize) = (32, 64);

impl Manifest {
    /// A manifest is shown by `inspect`, `list` and `audit`: its text must be
    /// bounded and carry no control characters (which could forge lines or
    /// drive the terminal).
    fn check_text(&self) -> Result<(), String> {
        let field = |name: &str, value: &str, max: usize| {
            if value.len() > max {
                return Err(format!(
                    "its manifest's {name} is {} bytes (at most {max})",
                    value.len()
                ));
            }
            if value.chars().any(caliper_types::text::is_unsafe_char) {
                return Err(format!(
                    "its manifest's {name} holds control characters: {}",
                    caliper_types::text::inert(value, 80)
                ));
            }
            Ok(())
        };
        field("description", &self.description, MAX_MANIFEST_TEXT)?;
        field("owner", &self.owner, MAX_MANIFEST_TEXT)?;
        field("goal", &self.goal, MAX_MANIFEST_TEXT)?;
        let (most, longest) = MAX_MANIFEST_TAGS;
        if self.tags.len() > most {
            return Err(format!(
                "its manifest lists {} tags (at most {most})",
                self.tags.len()
            ));
        }
        for tag in &self.tags {
            field("tag", tag, longest)?;
        }
        for (name, value) in [("created", &self.created), ("review_by", &self.review_by)] {
            if let Some(value) = value {
                field(name, value, 64)?;
            }
        }
        Ok(())
    }
}

/// The manifest embedded in a component, if it has one. Cheap: scans the
/// top-level sections without compiling anything.
pub fn read_embedded(wasm: &[u8]) -> Result<Option<Manifest>, PackageError> {
    let sections = sections(wasm).map_err(PackageError::Embedded)?;
    let mut found = None;
    for (id, range) in &sections {
        if *id != 0 {
            continue;
        }
        if let Some(payload) = custom_payload(wasm, range, SECTION) {
            if found.is_some() {
                return Err(PackageError::Embedded("it appears twice".into()));
            }
            found = Some(
                serde_json::from_slice::<Manifest>(payload)
                    .map_err(|e| PackageError::Embedded(e.to_string()))?,
            );
        }
    }
    Ok(found)
}

/// Reads the manifest of the component at `path`, if the file exists and
/// has one (for defaults in `caliper.toml`; load errors are reported when
/// the metric loads).
pub fn read_embedded_file(path: &Path) -> Option<Manifest> {
    let bytes = crate::component::read_component_file(path).ok()?;
    read_embedded(&bytes).ok().flatten()
}

/// The component with `manifest` embedded: the standard metadata sections
/// set, any earlier Caliper manifest replaced.
pub fn embed(wasm: &[u8], manifest: &Manifest) -> Result<Vec<u8>, PackageError> {
    let mut meta = wasm_metadata::AddMetadata::default();
    meta.name = wasm_metadata::AddMetadataField::Set(manifest.name.clone());
    meta.version =
        wasm_metadata::AddMetadataField::Set(wasm_metadata::Version::new(manifest.version.clone()));
    meta.description = wasm_metadata::AddMetadataField::Set(wasm_metadata::Description::new(
        manifest.description.clone(),
    ));
    if !manifest.owner.is_empty() {
        meta.authors = wasm_metadata::AddMetadataField::Set(wasm_metadata::Authors::new(
            manifest.owner.clone(),
        ));
    }
    meta.processed_by = vec![("caliper".into(), HOST_VERSION.into())];
    let with_meta = meta
        .to_wasm(wasm)
        .map_err(|e| PackageError::Invalid(format!("cannot add the metadata sections: {e:#}")))?;
    let sections = sections(&with_meta).map_err(PackageError::Invalid)?;
    let mut out = with_meta[..8].to_vec();
    for (id, range) in sections {
        if id == 0 && custom_payload(&with_meta, &range, SECTION).is_some() {
            continue;
        }
        out.extend_from_slice(&with_meta[range]);
    }
    let json = serde_json::to_vec(manifest).map_err(|e| PackageError::Invalid(e.to_string()))?;
    Ok(crate::sections::append_custom_section(&out, SECTION, &json))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor() -> Descriptor {
        Descriptor {
            name: "demo".into(),
            version: "1.2.0".into(),
            description: "a demo".into(),
            owner: "team-a".into(),
            goal: "show packaging".into(),
            tags: vec!["x".into()],
            unit: "count".into(),
            higher_is_better: true,
            config_schema: serde_json::Value::Null,
        }
    }

    /// The smallest valid component: the preamble alone.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    #[test]
    fn a_manifest_round_trips_through_the_component_and_replaces_an_older_one() {
        let source: ManifestSource = toml::from_str(
            "stage = \"alert\"\nreview_by = 2027-04-01\ncreated = \"2026-10-01\"\n[config]\nmax = 3\n",
        )
        .unwrap();
        let manifest = build(&source, Path::new("metric.toml"), &descriptor(), "0.1.0").unwrap();
        assert_eq!(manifest.owner, "team-a");
        assert_eq!(manifest.review_by.as_deref(), Some("2027-04-01"));
        assert_eq!(manifest.config["max"], 3);
        let packed = embed(EMPTY_COMPONENT, &manifest).unwrap();
        assert_eq!(read_embedded(&packed).unwrap(), Some(manifest.clone()));
        let mut newer = manifest.clone();
        newer.owner = "team-b".into();
        let repacked = embed(&packed, &newer).unwrap();
        assert_eq!(read_embedded(&repacked).unwrap(), Some(newer));
        assert_eq!(read_embedded(EMPTY_COMPONENT).unwrap(), None);
        let metadata = wasm_metadata::Payload::from_binary(&repacked).unwrap();
        assert_eq!(metadata.metadata().name.as_deref(), Some("demo"));
    }

    #[test]
    fn contradictions_and_bad_fields_are_refused() {
        let d = descriptor();
        let at = Path::new("metric.toml");
        let refuse = |text: &str| {
            let source: ManifestSource = toml::from_str(text).unwrap();
            build(&source, at, &d, "0.1.0").unwrap_err().to_string()
        };
        assert!(refuse("name = \"other\"").contains("describes itself as name `demo`"));
        assert!(refuse("version = \"2.0.0\"").contains("version `1.2.0`"));
        assert!(refuse("review_by = \"next year\"").contains("review_by"));
        assert!(refuse("review_by = \"2027-02-30\"").contains("review_by"));
        assert!(refuse("min_host = \"one\"").contains("min_host"));
        assert!(toml::from_str::<ManifestSource>("owners = \"x\"").is_err());
    }

    #[test]
    fn the_host_checks_contract_and_minimum_host_version() {
        let d = descriptor();
        let source = ManifestSource::default();
        let mut m = build(&source, Path::new("m.toml"), &d, "0.1.0").unwrap();
        m.check(&d, "0.1.0").unwrap();
        assert!(m.check(&d, "0.2.0").unwrap_err().contains("contract"));
        m.min_host = "99.0.0".into();
        assert!(
            m.check(&d, "0.1.0")
                .unwrap_err()
                .contains("needs Caliper 99.0.0")
        );
    }

    #[test]
    fn manifest_text_is_bounded_and_free_of_control_characters() {
        let d = descriptor();
        let mut m = build(&ManifestSource::default(), Path::new("m"), &d, "0.1.0").unwrap();
        m.check(&d, "0.1.0").unwrap();
        m.owner = "team\r\n2026-01-01 INFO forged".into();
        assert!(
            m.check(&d, "0.1.0")
                .unwrap_err()
                .contains("owner holds control")
        );
        m.owner = "team-a".into();
        m.description = "\u{1b}[2J".into();
        let err = m.check(&d, "0.1.0").unwrap_err();
        assert!(err.contains("\\u{1b}") && !err.contains('\u{1b}'), "{err}");
        m.description = "d".repeat(MAX_MANIFEST_TEXT + 1);
        assert!(m.check(&d, "0.1.0").unwrap_err().contains("bytes"));
        m.description = "fine".into();
        m.tags = vec!["t".into(); 33];
        assert!(m.check(&d, "0.1.0").unwrap_err().contains("33 tags"));
    }

    #[test]
    fn truncated_binaries_are_errors_not_panics() {
        let packed = embed(
            EMPTY_COMPONENT,
            &build(
                &ManifestSource::default(),
                Path::new("m"),
                &descriptor(),
                "0.1.0",
            )
            .unwrap(),
        )
        .unwrap();
        for cut in 0..packed.len() {
            let _ = read_embedded(&packed[..cut]);
        }
        assert!(read_embedded(b"not wasm").is_err());
    }
}
