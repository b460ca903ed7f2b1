//! `oci://HOST[:PORT]/REPO[:TAG][@sha256:HEX]` references: the syntax
//! only (the registry client is `caliper-oci`).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A text that is not an OCI reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidReference {
    /// The text as given.
    pub reference: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for InvalidReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid OCI reference `{}`: {}",
            self.reference, self.reason
        )
    }
}

impl std::error::Error for InvalidReference {}

/// The scheme that marks a registry reference where a path could stand.
pub const SCHEME: &str = "oci://";

/// A reference to an artifact in an OCI registry. The registry host is
/// always explicit (no implied Docker Hub), and a tag or a digest is
/// required (no implied `latest`): a metric should name what it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl OciRef {
    /// The reference in a metric's `path`, if it is one (`oci://…`).
    pub fn in_path(path: &Path) -> Option<&str> {
        path.to_str().filter(|p| p.starts_with(SCHEME))
    }

    /// A reference to `repository` in `registry` by tag or digest (already
    /// checked by the caller).
    fn new(registry: &str, repository: &str, tag: Option<&str>, digest: Option<&str>) -> Self {
        OciRef {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        }
    }

    /// `host[:port]`.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path (`team/metrics/keyword`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest (`sha256:…`), if the reference has one.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The same repository by `digest` alone.
    pub fn pinned(&self, digest: &str) -> OciRef {
        OciRef::new(&self.registry, &self.repository, None, Some(digest))
    }

    /// The same repository by `tag` alone.
    pub fn with_tag(&self, tag: &str) -> OciRef {
        OciRef::new(&self.registry, &self.repository, Some(tag), None)
    }

    /// The last repository segment, as a metric instance name
    /// (`oci://h/team/keyword_check:1.0` gives `keyword-check`).
    pub fn default_name(&self) -> String {
        let last = self
            .repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository);
        last.replace('_', "-")
    }

    /// Whether the registry is on this machine (`localhost`, `127.0.0.0/8`,
    /// `[::1]`), which docker also reaches over plain HTTP.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => self.registry.split(':').next().unwrap_or(&self.registry),
        };
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// Parses a reference whose tag may be left out (`caliper publish`
    /// takes the package version then: see [`OciRef::is_untagged`]).
    pub fn parse_untagged(text: &str) -> Result<OciRef, InvalidReference> {
        parse(text, true)
    }

    /// Whether it names neither a tag nor a digest (only
    /// [`OciRef::parse_untagged`] makes such references).
    pub fn is_untagged(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }
}

use crate::digest::valid_digest;

fn parse(text: &str, tag_optional: bool) -> Result<OciRef, InvalidReference> {
    let invalid = |reason: &str| InvalidReference {
        reference: text.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = text.strip_prefix(SCHEME).unwrap_or(text);
    let (name, digest) = match rest.split_once('@') {
        Some((name, digest)) => {
            if !valid_digest(digest) {
                return Err(invalid(
                    "the digest must be sha256: and 64 lowercase hex digits",
                ));
            }
            (name, Some(digest))
        }
        None => (rest, None),
    };
    let Some((registry, path)) = name.split_once('/') else {
        return Err(invalid(
            "expected oci://HOST/REPOSITORY:TAG or oci://HOST/REPOSITORY@sha256:…",
        ));
    };
    if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
        return Err(invalid(
            "the first part must be a registry host (with a dot or a port, or localhost)",
        ));
    }
    let (repository, tag) = match path.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (path, None),
    };
    if repository.is_empty()
        || !repository.split('/').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                && part
                    .bytes()
                    .next()
                    .is_some_and(|b| b.is_ascii_alphanumeric())
        })
    {
        return Err(invalid(
            "repository path segments are lowercase letters, digits, `.`, `_` and `-`",
        ));
    }
    if let Some(tag) = tag
        && (tag.is_empty()
            || tag.len() > 128
            || !tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            || tag.starts_with(['.', '-']))
    {
        return Err(invalid(
            "a tag is up to 128 letters, digits, `.`, `_` and `-`",
        ));
    }
    if tag.is_none() && digest.is_none() && !tag_optional {
        return Err(invalid("name a tag (`:1.0.0`) or a digest (`@sha256:…`)"));
    }
    Ok(OciRef::new(registry, repository, tag, digest))
}

impl FromStr for OciRef {
    type Err = InvalidReference;

    /// Parses `oci://HOST/REPO:TAG`, `oci://HOST/REPO@sha256:…` (or both);
    /// the `oci://` prefix may be left out.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text, false)
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_tags_digests_and_ports() {
        let r: OciRef = "oci://127.0.0.1:5000/metrics/keyword:1.0.0"
            .parse()
            .unwrap();
        assert_eq!(r.registry(), "127.0.0.1:5000");
        assert_eq!(r.repository(), "metrics/keyword");
        assert_eq!(r.tag(), Some("1.0.0"));
        assert_eq!(r.digest(), None);
        assert_eq!(r.to_string(), "oci://127.0.0.1:5000/metrics/keyword:1.0.0");
        assert!(r.is_loopback());
        assert_eq!(r.default_name(), "keyword");

        let r: OciRef = format!("ghcr.io/team/pii_leak@{D}").parse().unwrap();
        assert_eq!(r.digest(), Some(D));
        assert_eq!(r.tag(), None);
        assert!(!r.is_loopback());
        assert_eq!(r.default_name(), "pii-leak");
        assert_eq!(r.to_string(), format!("oci://ghcr.io/team/pii_leak@{D}"));

        let r: OciRef = "oci://[::1]:5000/m:v1".parse().unwrap();
        assert!(r.is_loopback());
        assert!(
            "oci://localhost/m:v1"
                .parse::<OciRef>()
                .unwrap()
                .is_loopback()
        );
    }

    #[test]
    fn rejects_what_is_not_a_full_reference() {
        for bad in [
            "oci://keyword:1.0",          // no registry host
            "oci://ghcr.io/team/keyword", // neither tag nor digest
            "oci://ghcr.io/Team/k:1",     // uppercase repository
            "oci://ghcr.io/k@sha256:abc", // short digest
            "oci://ghcr.io/k@md5:0123",   // other algorithm
            "oci://ghcr.io//k:1",         // empty segment
            "oci://ghcr.io/k:-x",         // bad tag
        ] {
            let err = bad.parse::<OciRef>().unwrap_err().to_string();
            assert!(err.contains("invalid OCI reference"), "{bad}: {err}");
        }
        let r = OciRef::parse_untagged("oci://ghcr.io/team/keyword").unwrap();
        assert!(r.is_untagged());
        assert_eq!(r.with_tag("2.0.0").tag(), Some("2.0.0"));
    }

    #[test]
    fn finds_references_in_paths() {
        assert_eq!(
            OciRef::in_path(Path::new("oci://h.io/k:1")),
            Some("oci://h.io/k:1")
        );
        assert_eq!(OciRef::in_path(Path::new("plugins/k.wasm")), None);
    }
}
