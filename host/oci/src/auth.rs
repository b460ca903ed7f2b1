//! Registry credentials, found where other OCI tools look, and only ever for
//! the one registry they belong to:
//!
//! 1. `CALIPER_REGISTRY_USER` and `CALIPER_REGISTRY_PASSWORD` (both set),
//!    for the registry named by `CALIPER_REGISTRY_HOST` (`host[:port]`) and
//!    no other; without `CALIPER_REGISTRY_HOST` they are ignored, with a
//!    warning (sending one secret to whatever registry a config names would
//!    hand it to any registry a `caliper.toml` points at);
//! 2. the Docker config (`$DOCKER_CONFIG/config.json`, else
//!    `~/.docker/config.json`): a credential helper for the registry
//!    (`credHelpers`, else `credsStore`, run as `docker-credential-NAME
//!    get`), else its `auths` entry (base64 `user:password` in `auth`, or
//!    `username` and `password`);
//! 3. anonymous.
//!
//! Credentials are never sent over plain HTTP unless the registry is listed
//! in `CALIPER_PLAIN_HTTP_AUTH` (see [`plain_http_auth_allowed`]); the
//! session withholds them and says so when the registry asks for them.
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
    pub(crate) fn anonymous() -> Self {
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
        if let Some(found) = from_env(registry) {
            return found;
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

/// The environment's credentials, if they are for `registry`.
fn from_env(registry: &str) -> Option<Credentials> {
    let user = std::env::var("CALIPER_REGISTRY_USER").ok();
    let password = std::env::var("CALIPER_REGISTRY_PASSWORD").ok();
    let host = std::env::var("CALIPER_REGISTRY_HOST").ok();
    env_credentials(registry, user, password, host.as_deref())
}

/// [`from_env`] on given values (tests cannot set the process environment
/// safely).
fn env_credentials(
    registry: &str,
    user: Option<String>,
    password: Option<String>,
    host: Option<&str>,
) -> Option<Credentials> {
    let (user, password) = match (user, password) {
        (Some(user), Some(password)) => (user, password),
        (Some(_), None) | (None, Some(_)) => {
            tracing::warn!(
                "only one of CALIPER_REGISTRY_USER and CALIPER_REGISTRY_PASSWORD is set; ignoring it"
            );
            return None;
        }
        (None, None) => return None,
    };
    match host.map(str::trim).filter(|h| !h.is_empty()) {
        None => {
            tracing::warn!(
                "ignoring CALIPER_REGISTRY_USER/CALIPER_REGISTRY_PASSWORD: set CALIPER_REGISTRY_HOST \
                 to the registry (host[:port]) they belong to"
            );
            None
        }
        Some(host) if server_host(host).eq_ignore_ascii_case(registry) => {
            tracing::debug!(registry, user = %user, "credentials from CALIPER_REGISTRY_USER");
            Some(Credentials {
                auth: RegistryAuth::Basic(user, password),
                source: "CALIPER_REGISTRY_USER/CALIPER_REGISTRY_PASSWORD".into(),
            })
        }
        Some(host) => {
            tracing::debug!(
                registry,
                "CALIPER_REGISTRY_USER is for {host}, not this registry; not using it"
            );
            None
        }
    }
}

/// Whether credentials may be sent to `registry` over plain HTTP: only when
/// `CALIPER_PLAIN_HTTP_AUTH` (comma-separated `host[:port]`) lists it.
pub(crate) fn plain_http_auth_allowed(registry: &str) -> bool {
    listed(
        &std::env::var("CALIPER_PLAIN_HTTP_AUTH").unwrap_or_default(),
        registry,
    )
}

/// Whether the comma-separated `list` names `registry`.
fn listed(list: &str, registry: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|entry| !entry.is_empty() && server_host(entry).eq_ignore_ascii_case(registry))
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
    fn environment_credentials_belong_to_the_one_registry_named() {
        let creds = |host: Option<&str>, registry: &str| {
            env_credentials(registry, Some("u".into()), Some("p".into()), host).map(|c| c.auth)
        };
        let basic = Some(RegistryAuth::Basic("u".into(), "p".into()));
        assert_eq!(creds(Some("ghcr.io"), "ghcr.io"), basic);
        assert_eq!(creds(Some("https://GHCR.io/"), "ghcr.io"), basic);
        assert_eq!(creds(Some("127.0.0.1:5000"), "127.0.0.1:5000"), basic);
        // Another registry, another port, or no host at all: not sent.
        assert_eq!(creds(Some("ghcr.io"), "evil.example"), None);
        assert_eq!(creds(Some("127.0.0.1:5000"), "127.0.0.1:5001"), None);
        assert_eq!(creds(None, "ghcr.io"), None);
        assert_eq!(creds(Some(" "), "ghcr.io"), None);
        assert!(env_credentials("ghcr.io", Some("u".into()), None, Some("ghcr.io")).is_none());
    }

    #[test]
    fn plain_http_auth_needs_the_registry_listed() {
        assert!(listed("a:1, 127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(!listed("127.0.0.1:5000", "127.0.0.1:5001"));
        assert!(!listed("", "127.0.0.1:5000"));
        assert!(!listed(" , ", "localhost"));
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
