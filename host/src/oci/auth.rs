//! Registry credentials, found where other OCI tools look:
//!
//! 1. `CALIPER_REGISTRY_USER` and `CALIPER_REGISTRY_PASSWORD` (both set);
//! 2. the Docker config (`$DOCKER_CONFIG/config.json`, else
//!    `~/.docker/config.json`): a credential helper for the registry
//!    (`credHelpers`, else `credsStore`, run as `docker-credential-NAME
//!    get`), else its `auths` entry (base64 `user:password` in `auth`, or
//!    `username` and `password`);
//! 3. anonymous.
//!
//! Secrets never reach a log line or an error: only where credentials came
//! from ([`Credentials::source`]) is ever shown.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// Credentials for one registry and where they came from.
pub(crate) struct Credentials {
    /// What to send (its `Debug` redacts secrets).
    pub auth: RegistryAuth,
    /// Where they came from, for messages: "anonymous",
    /// "CALIPER_REGISTRY_USER", "/home/me/.docker/config.json", …
    pub source: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

impl Credentials {
    fn anonymous() -> Self {
        Credentials {
            auth: RegistryAuth::Anonymous,
            source: "anonymous".into(),
        }
    }

    /// Whether any were found.
    pub fn is_anonymous(&self) -> bool {
        matches!(self.auth, RegistryAuth::Anonymous)
    }

    /// The credentials for `registry` (`host[:port]`).
    pub fn lookup(registry: &str) -> Credentials {
        let user = std::env::var("CALIPER_REGISTRY_USER").ok();
        let password = std::env::var("CALIPER_REGISTRY_PASSWORD").ok();
        match (user, password) {
            (Some(user), Some(password)) => {
                tracing::debug!(registry, user = %user, "credentials from CALIPER_REGISTRY_USER");
                return Credentials {
                    auth: RegistryAuth::Basic(user, password),
                    source: "CALIPER_REGISTRY_USER/CALIPER_REGISTRY_PASSWORD".into(),
                };
            }
            (Some(_), None) | (None, Some(_)) => tracing::warn!(
                "only one of CALIPER_REGISTRY_USER and CALIPER_REGISTRY_PASSWORD is set; ignoring it"
            ),
            (None, None) => {}
        }
        let Some(path) = docker_config_path() else {
            return Credentials::anonymous();
        };
        let config: DockerConfig = match std::fs::read(&path) {
            Ok(text) => match serde_json::from_slice(&text) {
                Ok(config) => config,
                Err(e) => {
                    // serde_json's message names a position, not the content.
                    tracing::warn!("ignoring {}: not a Docker config ({e})", path.display());
                    return Credentials::anonymous();
                }
            },
            Err(_) => return Credentials::anonymous(),
        };
        let source = path.display().to_string();
        let helper = config
            .cred_helpers
            .iter()
            .find(|(key, _)| server_host(key) == registry)
            .map(|(_, helper)| helper)
            .or(config.creds_store.as_ref());
        if let Some(helper) = helper
            && let Some(auth) = from_helper(helper, registry)
        {
            return Credentials {
                auth,
                source: format!("docker-credential-{helper} (from {source})"),
            };
        }
        let entry = config
            .auths
            .iter()
            .find(|(key, _)| server_host(key) == registry)
            .map(|(_, entry)| entry);
        match entry.and_then(|e| decode(e, registry, &source)) {
            Some(auth) => {
                tracing::debug!(registry, source = %source, "credentials from the Docker config");
                Credentials { auth, source }
            }
            None => Credentials::anonymous(),
        }
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json")),
    }
}

/// The `host[:port]` of an `auths` key, which may be a bare host or a URL
/// (`https://index.docker.io/v1/`).
fn server_host(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

fn decode(entry: &AuthEntry, registry: &str, source: &str) -> Option<RegistryAuth> {
    if let (Some(user), Some(password)) = (&entry.username, &entry.password) {
        return Some(RegistryAuth::Basic(user.clone(), password.clone()));
    }
    let encoded = entry.auth.as_deref().filter(|a| !a.is_empty())?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')) {
        Some((user, password)) => Some(RegistryAuth::Basic(user.into(), password.into())),
        None => {
            tracing::warn!(
                "ignoring the `auth` entry for {registry} in {source}: not base64 of user:password"
            );
            None
        }
    }
}

/// Asks `docker-credential-HELPER get` for `registry`'s credentials.
fn from_helper(helper: &str, registry: &str) -> Option<RegistryAuth> {
    let program = format!("docker-credential-{helper}");
    let child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!("cannot run the Docker credential helper {program}: {e}");
            return None;
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(registry.as_bytes());
    }
    let output = child.wait_with_output().ok()?;
    if !output.status.success() {
        // "credentials not found in native keychain" and the like: no
        // secret in it, but it is not ours to print either.
        tracing::debug!(registry, "{program} has no credentials for it");
        return None;
    }
    let reply: HelperReply = serde_json::from_slice(&output.stdout).ok()?;
    if reply.username == "<token>" {
        tracing::warn!(
            "{program} returned an identity token for {registry}, which Caliper cannot use; \
             log in with a user name and password or token"
        );
        return None;
    }
    Some(RegistryAuth::Basic(reply.username, reply.secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_registry_keys_in_any_docker_form() {
        assert_eq!(
            server_host("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(server_host("http://127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(server_host("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn decodes_auth_entries() {
        let entry = AuthEntry {
            auth: Some(base64::engine::general_purpose::STANDARD.encode("ci:s3:cr3t")),
            ..Default::default()
        };
        assert_eq!(
            decode(&entry, "r", "cfg"),
            Some(RegistryAuth::Basic("ci".into(), "s3:cr3t".into()))
        );
        let bad = AuthEntry {
            auth: Some("%%%".into()),
            ..Default::default()
        };
        assert_eq!(decode(&bad, "r", "cfg"), None);
        let plain = AuthEntry {
            username: Some("u".into()),
            password: Some("p".into()),
            ..Default::default()
        };
        assert_eq!(
            decode(&plain, "r", "cfg"),
            Some(RegistryAuth::Basic("u".into(), "p".into()))
        );
    }
}
