//! The Wasm OCI artifact layout (CNCF TAG Runtime "Wasm OCI Artifact", as
//! wkg and `oci-wasm` write it): an OCI image manifest, a small JSON config
//! describing the component, and the component itself as the only layer.

use std::collections::BTreeMap;

use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use serde::{Deserialize, Serialize};

use crate::error::OciError;
use caliper_package::Manifest;
use caliper_types::descriptor::Descriptor;
use caliper_types::digest::digest_of as sha256;
use caliper_types::oci_ref::OciRef;

/// Media type of the artifact's config.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// Media type of the component layer.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// The config media type of the older Wasm-to-OCI layout (read, never
/// written).
const LEGACY_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v1+json";
/// The layer media type of the older layout (read, never written).
const LEGACY_LAYER_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";

/// What the artifact's annotations say about the package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PackageInfo {
    /// `org.opencontainers.image.title`.
    pub name: String,
    /// `org.opencontainers.image.version` (and the default tag).
    pub version: String,
    /// `org.opencontainers.image.description`.
    pub description: String,
    /// `org.opencontainers.image.authors` (the owner).
    pub authors: String,
}

impl PackageInfo {
    /// From a package manifest (`caliper pack`).
    pub fn from_manifest(m: &Manifest) -> Self {
        PackageInfo {
            name: m.name.clone(),
            version: m.version.clone(),
            description: m.description.clone(),
            authors: m.owner.clone(),
        }
    }

    /// From what an unpacked metric says of itself (`describe()`).
    pub fn from_descriptor(d: &Descriptor) -> Self {
        PackageInfo {
            name: d.name.clone(),
            version: d.version.clone(),
            description: d.description.clone(),
            authors: d.owner.clone(),
        }
    }

    fn annotations(&self, created: &str) -> BTreeMap<String, String> {
        let fields = [
            ("title", &self.name),
            ("version", &self.version),
            ("description", &self.description),
            ("authors", &self.authors),
        ];
        let mut out: BTreeMap<String, String> = fields
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (format!("org.opencontainers.image.{k}"), v.clone()))
            .collect();
        out.insert(
            "org.opencontainers.image.created".into(),
            created.to_owned(),
        );
        out
    }
}

/// The artifact config (`application/vnd.wasm.config.v0+json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// RFC 3339 creation time.
    pub created: String,
    /// The package owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip2` for components.
    pub os: String,
    /// The layer digests, in manifest order.
    pub layer_digests: Vec<String>,
    /// The component's imports and exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentWorld>,
}

/// The top-level imports and exports of a component, as the config lists
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ComponentWorld {
    /// Imported interface names (`caliper:metric/host@0.1.0`, …).
    pub imports: Vec<String>,
    /// Exported interface names.
    pub exports: Vec<String>,
    /// The world it targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The top-level imports and exports of the component `wasm`; `None` if it
/// is not a component.
pub fn component_world(wasm: &[u8]) -> Option<ComponentWorld> {
    use wasmparser::{Parser, Payload};
    let mut world = ComponentWorld::default();
    let mut depth = 0usize;
    let mut is_component = false;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            Payload::Version { encoding, .. } if depth == 0 => {
                is_component = encoding == wasmparser::Encoding::Component;
            }
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(reader) if depth == 0 => {
                for import in reader {
                    world.imports.push(import.ok()?.name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 0 => {
                for export in reader {
                    world.exports.push(export.ok()?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    is_component.then_some(world)
}

/// When the artifact was made: `SOURCE_DATE_EPOCH` (seconds) if set, the
/// reproducible-builds convention that makes republishing the same bytes
/// give the same digest, else now.
fn created() -> std::time::SystemTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .unwrap_or_else(std::time::SystemTime::now)
}

/// The artifact for `wasm`: its config bytes and its manifest bytes (the
/// exact bytes pushed, so their digests are known before pushing).
pub(crate) fn build(wasm: &[u8], info: &PackageInfo) -> (Vec<u8>, Vec<u8>) {
    let created = humantime::format_rfc3339_seconds(created()).to_string();
    let layer_digest = sha256(wasm);
    let mut world = component_world(wasm);
    if let Some(world) = &mut world
        && world
            .exports
            .iter()
            .any(|e| e == caliper_types::contract::METRIC_EXPORT)
    {
        world.target = Some(format!(
            "caliper:metric/metric-component@{}",
            caliper_types::contract::CONTRACT_VERSION
        ));
    }
    let config = WasmConfig {
        created: created.clone(),
        author: Some(info.authors.clone()).filter(|a| !a.is_empty()),
        architecture: "wasm".into(),
        os: "wasip2".into(),
        layer_digests: vec![layer_digest.clone()],
        component: world,
    };
    let config = serde_json::to_vec(&config).expect("the config serializes");
    let descriptor = |media_type: &str, digest: String, size: usize| OciDescriptor {
        media_type: media_type.into(),
        digest,
        size: size as i64,
        ..Default::default()
    };
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
        config: descriptor(WASM_CONFIG_MEDIA_TYPE, sha256(&config), config.len()),
        layers: vec![descriptor(WASM_LAYER_MEDIA_TYPE, layer_digest, wasm.len())],
        subject: None,
        artifact_type: None,
        annotations: Some(info.annotations(&created)),
    };
    let manifest = serde_json::to_vec(&manifest).expect("the manifest serializes");
    (config, manifest)
}

/// The component layer of the manifest `bytes`, after checking that it is
/// a Wasm artifact with exactly one component layer.
pub(crate) fn component_layer(bytes: &[u8], reference: &OciRef) -> Result<OciDescriptor, OciError> {
    let not_wasm = |reason: String| OciError::NotWasm {
        reference: reference.to_string(),
        reason,
    };
    let manifest: OciImageManifest = serde_json::from_slice(bytes)
        .map_err(|e| not_wasm(format!("not an OCI image manifest ({e})")))?;
    let config_type = manifest.config.media_type.as_str();
    if config_type != WASM_CONFIG_MEDIA_TYPE && config_type != LEGACY_CONFIG_MEDIA_TYPE {
        return Err(not_wasm(format!(
            "config media type is `{config_type}`, expected `{WASM_CONFIG_MEDIA_TYPE}`"
        )));
    }
    let mut wasm = manifest.layers.into_iter().filter(|l| {
        l.media_type == WASM_LAYER_MEDIA_TYPE || l.media_type == LEGACY_LAYER_MEDIA_TYPE
    });
    let (Some(layer), None) = (wasm.next(), wasm.next()) else {
        return Err(not_wasm(format!(
            "expected exactly one `{WASM_LAYER_MEDIA_TYPE}` layer"
        )));
    };
    if !caliper_types::digest::valid_digest(&layer.digest) {
        return Err(not_wasm(format!(
            "unsupported layer digest `{}` (only sha256 is accepted)",
            layer.digest
        )));
    }
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> PackageInfo {
        PackageInfo {
            name: "keyword".into(),
            version: "1.2.0".into(),
            description: "Finds keywords".into(),
            authors: "search-team".into(),
        }
    }

    #[test]
    fn builds_the_wasm_oci_layout() {
        // An empty component: the preamble of the component encoding.
        let wasm = b"\0asm\x0d\0\x01\0";
        let (config, manifest) = build(wasm, &info());
        let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(m["mediaType"], OCI_IMAGE_MEDIA_TYPE);
        assert_eq!(m["config"]["mediaType"], WASM_CONFIG_MEDIA_TYPE);
        assert_eq!(m["config"]["digest"], sha256(&config));
        assert_eq!(m["layers"][0]["mediaType"], WASM_LAYER_MEDIA_TYPE);
        assert_eq!(m["layers"][0]["digest"], sha256(wasm));
        assert_eq!(m["layers"][0]["size"], wasm.len());
        let a = &m["annotations"];
        assert_eq!(a["org.opencontainers.image.title"], "keyword");
        assert_eq!(a["org.opencontainers.image.version"], "1.2.0");
        assert_eq!(a["org.opencontainers.image.authors"], "search-team");
        assert!(a["org.opencontainers.image.created"].is_string());

        let c: WasmConfig = serde_json::from_slice(&config).unwrap();
        assert_eq!((c.architecture.as_str(), c.os.as_str()), ("wasm", "wasip2"));
        assert_eq!(c.layer_digests, vec![sha256(wasm)]);
        assert_eq!(c.component, Some(ComponentWorld::default()));

        let r: OciRef = "oci://h.io/k:1".parse().unwrap();
        assert_eq!(component_layer(&manifest, &r).unwrap().digest, sha256(wasm));
    }

    #[test]
    fn refuses_other_artifacts() {
        let r: OciRef = "oci://h.io/k:1".parse().unwrap();
        let image = serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(b"{}"), "size": 2},
            "layers": [],
        });
        let err = component_layer(image.to_string().as_bytes(), &r).unwrap_err();
        assert!(
            err.to_string().contains("not a Wasm component artifact"),
            "{err}"
        );
        assert!(component_layer(b"<html>", &r).is_err());
        assert_eq!(component_world(b"\0asm\x01\0\0\0"), None, "a core module");
    }
}
