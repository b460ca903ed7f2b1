//! Talking to a registry: oci-client on a small current-thread tokio
//! runtime per call (the CLI is synchronous), errors turned into
//! [`OciError`]s that say what to do.
//!
//! Nothing a registry sends is buffered without a bound: a manifest is read
//! in pieces up to [`MAX_MANIFEST_BYTES`] (fetched with reqwest directly,
//! authenticated with oci-client's token), a component layer up to the size
//! its manifest declares (at most [`MAX_COMPONENT_BYTES`]); a registry that
//! sends more is an [`OciError::Oversized`] naming it and the digest.
//! Credentials go to plain-HTTP registries only when
//! `CALIPER_PLAIN_HTTP_AUTH` lists them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OCI_IMAGE_MEDIA_TYPE;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, RegistryOperation};

use crate::artifact;
use crate::artifact::PackageInfo;
use crate::auth::{Credentials, plain_http_auth_allowed};
use crate::error::OciError;
use crate::pulled::{Published, Pulled};
use crate::store::Store;
use caliper_types::digest::digest_of as sha256;
use caliper_types::oci_ref::OciRef;

/// Refuse components larger than this before downloading them.
pub const MAX_COMPONENT_BYTES: u64 = 1 << 30;

/// Largest manifest read from a registry (4 MiB, the size the OCI
/// distribution spec asks registries to accept at least).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const USER_AGENT: &str = concat!("caliper/", env!("CARGO_PKG_VERSION"));

/// One registry conversation: a client and the credentials for the
/// registry of `reference`.
struct Session<'a> {
    client: Client,
    /// For the requests Caliper makes itself (manifests).
    http: reqwest::Client,
    credentials: Credentials,
    /// Where credentials came from that were found but not sent, because
    /// the registry is reached over plain HTTP.
    withheld: Option<String>,
    plain_http: bool,
    reference: &'a OciRef,
    target: oci_client::Reference,
}

impl<'a> Session<'a> {
    fn new(reference: &'a OciRef) -> Result<Self, OciError> {
        // reqwest is built without a default crypto provider; install ring
        // once per process (a second install is a harmless Err).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let registry = reference.registry();
        let plain_http = reference.is_loopback() || insecure_registries().any(|r| r == registry);
        let config = ClientConfig {
            protocol: if plain_http {
                ClientProtocol::HttpsExcept(vec![registry.to_owned()])
            } else {
                ClientProtocol::Https
            },
            use_monolithic_push: true,
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            user_agent: USER_AGENT,
            ..Default::default()
        };
        let cannot = |e: &dyn std::fmt::Display| OciError::Registry {
            reference: reference.to_string(),
            message: format!("cannot create the HTTP client: {e}"),
        };
        let client = Client::try_from(config).map_err(|e| cannot(&e))?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| cannot(&e))?;
        let mut credentials = Credentials::lookup(registry);
        let mut withheld = None;
        if plain_http && !credentials.is_anonymous() && !plain_http_auth_allowed(registry) {
            tracing::debug!(
                %reference,
                credentials = %credentials.source,
                "not sending credentials over plain HTTP (CALIPER_PLAIN_HTTP_AUTH does not list the registry)"
            );
            withheld = Some(std::mem::replace(&mut credentials, Credentials::anonymous()).source);
        }
        tracing::debug!(
            %reference,
            plain_http,
            credentials = %credentials.source,
            "registry session"
        );
        Ok(Session {
            client,
            http,
            credentials,
            withheld,
            plain_http,
            reference,
            target: to_client(reference),
        })
    }

    /// Translates an oci-client error about this session's reference.
    fn error(&self, e: OciDistributionError) -> OciError {
        let reference = self.reference.to_string();
        let registry = self.reference.registry().to_owned();
        let repository = self.reference.repository().to_owned();
        let unauthorized = |detail: String| OciError::Unauthorized {
            reference: reference.clone(),
            registry: registry.clone(),
            credentials: format!("credentials: {}", self.credentials.source),
            detail,
        };
        let auth_hint = || {
            if let Some(source) = &self.withheld {
                format!(
                    "credentials were found ({source}) but not sent: {registry} is reached over \
                     plain HTTP, where they would travel in clear text; use HTTPS, or list the \
                     registry in CALIPER_PLAIN_HTTP_AUTH to send them anyway"
                )
            } else if self.credentials.is_anonymous() {
                "no credentials found; log in with `docker login`, or set \
                 CALIPER_REGISTRY_USER, CALIPER_REGISTRY_PASSWORD and CALIPER_REGISTRY_HOST"
                    .to_owned()
            } else {
                "the registry refused these credentials (wrong user or password, or no access \
                 to this repository)"
                    .to_owned()
            }
        };
        let what = match (self.reference.tag(), self.reference.digest()) {
            (_, Some(digest)) => format!("manifest {digest}"),
            (Some(tag), None) => format!("tag `{tag}`"),
            (None, None) => "manifest".to_owned(),
        };
        match e {
            OciDistributionError::RegistryError { envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                if codes.iter().any(|c| matches!(c, OciErrorCode::NameUnknown)) {
                    OciError::RepositoryNotFound {
                        reference,
                        registry,
                        repository,
                    }
                } else if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::ManifestUnknown))
                {
                    OciError::NotFound {
                        reference,
                        what,
                        registry,
                        repository,
                        known: String::new(),
                    }
                } else if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    unauthorized(auth_hint())
                } else {
                    OciError::Registry {
                        reference,
                        message: envelope.to_string(),
                    }
                }
            }
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => unauthorized(auth_hint()),
            OciDistributionError::ServerError {
                code: 401 | 403, ..
            } => unauthorized(auth_hint()),
            OciDistributionError::ServerError { code: 404, .. }
            | OciDistributionError::ImageManifestNotFoundError(_) => OciError::NotFound {
                reference,
                what,
                registry,
                repository,
                known: String::new(),
            },
            OciDistributionError::DigestError(
                oci_client::errors::DigestError::VerificationError { expected, actual },
            ) => OciError::DigestMismatch {
                reference,
                what: "content".into(),
                expected,
                actual,
            },
            OciDistributionError::RequestError(e) if e.is_connect() || e.is_timeout() => {
                OciError::Unreachable {
                    reference,
                    registry,
                    message: transport_message(&e),
                }
            }
            other => OciError::Registry {
                reference,
                message: other.to_string(),
            },
        }
    }
}

impl Session<'_> {
    /// The manifest of the reference (as the registry sent it) and its
    /// digest, read up to [`MAX_MANIFEST_BYTES`] and checked against the
    /// reference's digest (by digest) or the registry's
    /// `Docker-Content-Digest` (by tag).
    async fn pull_manifest(&self) -> Result<(Vec<u8>, String), OciError> {
        let token = self
            .client
            .auth(
                &self.target,
                &self.credentials.auth,
                RegistryOperation::Pull,
            )
            .await
            .map_err(|e| self.error(e))?;
        let target = &self.target;
        let url = format!(
            "{}://{}/v2/{}/manifests/{}",
            if self.plain_http { "http" } else { "https" },
            target.resolve_registry(),
            target.repository(),
            target.digest().or(target.tag()).unwrap_or("latest")
        );
        let mut request = self
            .http
            .get(&url)
            .header(reqwest::header::ACCEPT, OCI_IMAGE_MEDIA_TYPE);
        request = match (token, &self.credentials.auth) {
            (Some(token), _) => request.bearer_auth(token),
            (None, RegistryAuth::Basic(user, password)) => request.basic_auth(user, Some(password)),
            (None, _) => request,
        };
        let transport = |e: reqwest::Error| {
            if e.is_connect() || e.is_timeout() {
                OciError::Unreachable {
                    reference: self.reference.to_string(),
                    registry: self.reference.registry().to_owned(),
                    message: transport_message(&e),
                }
            } else {
                OciError::Registry {
                    reference: self.reference.to_string(),
                    message: transport_message(&e),
                }
            }
        };
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        let oversized = || OciError::Oversized {
            reference: self.reference.to_string(),
            registry: self.reference.registry().to_owned(),
            what: "the manifest".into(),
            limit: MAX_MANIFEST_BYTES,
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_MANIFEST_BYTES)
        {
            return Err(oversized());
        }
        let header = response
            .headers()
            .get("Docker-Content-Digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if (body.len() + chunk.len()) as u64 > MAX_MANIFEST_BYTES {
                return Err(oversized());
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let error = match serde_json::from_slice::<oci_client::errors::OciEnvelope>(&body) {
                Ok(envelope) if !envelope.errors.is_empty() => {
                    OciDistributionError::RegistryError { envelope, url }
                }
                _ => OciDistributionError::ServerError {
                    code: status.as_u16(),
                    url,
                    message: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
                },
            };
            return Err(self.not_found_detail(self.error(error)).await);
        }
        let actual = sha256(&body);
        if let Some(expected) = target.digest().map(str::to_owned).or(header)
            && expected != actual
        {
            return Err(OciError::DigestMismatch {
                reference: self.reference.to_string(),
                what: "manifest".into(),
                expected,
                actual,
            });
        }
        Ok((body, actual))
    }

    /// Makes a "not found" precise: a missing repository is told from a
    /// missing tag by listing the repository's tags (which also shows the
    /// user what exists); a manifest that fails its digest is named so.
    async fn not_found_detail(&self, error: OciError) -> OciError {
        match error {
            OciError::NotFound {
                reference,
                what,
                registry,
                repository,
                ..
            } => match self
                .client
                .list_tags(&self.target, &self.credentials.auth, Some(20), None)
                .await
            {
                Err(e) => match self.error(e) {
                    e @ OciError::RepositoryNotFound { .. } => e,
                    _ => OciError::NotFound {
                        reference,
                        what,
                        registry,
                        repository,
                        known: String::new(),
                    },
                },
                Ok(list) => OciError::NotFound {
                    reference,
                    what,
                    registry,
                    repository,
                    known: match list.tags.len() {
                        0 => "; it has no tags".into(),
                        n @ 1..20 => format!(
                            "; it has tag{} {}",
                            if n == 1 { "" } else { "s" },
                            list.tags.join(", ")
                        ),
                        _ => format!("; it has tags {}, …", list.tags.join(", ")),
                    },
                },
            },
            OciError::DigestMismatch {
                reference,
                expected,
                actual,
                ..
            } => OciError::DigestMismatch {
                reference,
                what: "manifest".into(),
                expected,
                actual,
            },
            other => other,
        }
    }
}

/// The innermost cause of a transport error ("Connection refused"), which
/// is what a user can act on.
fn transport_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `CALIPER_INSECURE_REGISTRIES`: `host[:port]` entries reached over plain
/// HTTP.
fn insecure_registries() -> impl Iterator<Item = String> {
    std::env::var("CALIPER_INSECURE_REGISTRIES")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

/// Runs `future` to completion on a current-thread runtime of its own, on
/// a helper thread when the caller is already inside a tokio runtime (the
/// live service reloading its config).
fn block_on<F>(future: F) -> Result<F::Output, OciError>
where
    F: Future + Send,
    F::Output: Send,
{
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map(|rt| rt.block_on(future))
            .map_err(|e| OciError::Registry {
                reference: String::new(),
                message: format!("cannot start the async runtime: {e}"),
            })
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    std::thread::scope(|s| {
        s.spawn(run).join().unwrap_or_else(|_| {
            Err(OciError::Registry {
                reference: String::new(),
                message: "the registry client panicked".into(),
            })
        })
    })
}

pub(crate) fn publish(
    wasm: &[u8],
    reference: &OciRef,
    info: &PackageInfo,
    store: &Store,
) -> Result<Published, OciError> {
    if reference.digest().is_some() {
        return Err(OciError::InvalidReference {
            reference: reference.to_string(),
            reason: "publish to a tag (`:1.0.0`); a digest names content that exists".into(),
        });
    }
    let reference = match reference.tag() {
        Some(_) => reference.clone(),
        None if !info.version.is_empty() => reference.with_tag(&info.version),
        None => {
            return Err(OciError::InvalidReference {
                reference: reference.to_string(),
                reason: "name a tag: the package has no version to use".into(),
            });
        }
    };
    let (config, manifest) = artifact::build(wasm, info);
    let component_digest = sha256(wasm);
    let config_digest = sha256(&config);
    let manifest_digest = sha256(&manifest);
    let session = Session::new(&reference)?;
    block_on(async {
        let s = &session;
        s.client
            .store_auth_if_needed(reference.registry(), &s.credentials.auth)
            .await;
        s.client
            .auth(&s.target, &s.credentials.auth, RegistryOperation::Push)
            .await
            .map_err(|e| s.error(e))?;
        for (what, digest, bytes) in [
            ("component", &component_digest, wasm),
            ("config", &config_digest, config.as_slice()),
        ] {
            if s.client
                .blob_exists(&s.target, digest)
                .await
                .unwrap_or(false)
            {
                tracing::debug!(%digest, "{what} already in the registry");
                continue;
            }
            tracing::debug!(%digest, size = bytes.len(), "pushing {what}");
            s.client
                .push_blob(&s.target, bytes.to_vec(), digest)
                .await
                .map_err(|e| s.error(e))?;
        }
        let content_type = OCI_IMAGE_MEDIA_TYPE.parse().expect("a valid header value");
        s.client
            .push_manifest_raw(&s.target, manifest.clone(), content_type)
            .await
            .map_err(|e| s.error(e))?;
        Ok::<_, OciError>(())
    })??;
    // This machine has the artifact now: resolving it needs no download.
    store.put_component(&component_digest, wasm)?;
    store.put_manifest(&manifest_digest, &manifest)?;
    store.put_tag(&reference, &manifest_digest)?;
    Ok(Published {
        pinned: reference.pinned(&manifest_digest),
        reference,
        manifest_digest,
        component_digest,
        size: wasm.len() as u64,
    })
}

pub(crate) fn pull(reference: &OciRef, store: &Store) -> Result<Pulled, OciError> {
    let session = Session::new(reference)?;
    let (manifest, manifest_digest, layer, fetched) = block_on(async {
        let s = &session;
        let (manifest, digest) = s.pull_manifest().await?;
        let layer = artifact::component_layer(&manifest, reference)?;
        if store.component(&layer.digest).is_some() {
            return Ok((manifest, digest, layer, None));
        }
        let declared = u64::try_from(layer.size)
            .ok()
            .filter(|&n| n <= MAX_COMPONENT_BYTES)
            .ok_or_else(|| OciError::NotWasm {
                reference: reference.to_string(),
                reason: format!(
                    "the component layer claims {} bytes (the limit is {MAX_COMPONENT_BYTES})",
                    layer.size
                ),
            })?;
        let mut bytes = CappedBuffer::new(declared);
        tracing::debug!(digest = %layer.digest, size = layer.size, "pulling component");
        let result = s.client.pull_blob(&s.target, &layer, &mut bytes).await;
        if bytes.overflowed {
            // Cut at the declared size, whatever the registry meant to send.
            return Err(OciError::Oversized {
                reference: reference.to_string(),
                registry: reference.registry().to_owned(),
                what: format!("component layer {} (its declared size)", layer.digest),
                limit: declared,
            });
        }
        let bytes = bytes.bytes;
        result.map_err(|e| match s.error(e) {
            OciError::DigestMismatch {
                reference, actual, ..
            } => OciError::DigestMismatch {
                reference,
                what: "component layer".into(),
                expected: layer.digest.clone(),
                actual,
            },
            other => other,
        })?;
        Ok((manifest, digest, layer, Some(bytes)))
    })??;
    let cached = fetched.is_none();
    if let Some(bytes) = fetched {
        // Checked again here, whatever the client did.
        let actual = sha256(&bytes);
        if actual != layer.digest {
            return Err(OciError::DigestMismatch {
                reference: reference.to_string(),
                what: "component layer".into(),
                expected: layer.digest.clone(),
                actual,
            });
        }
        store.put_component(&layer.digest, &bytes)?;
    }
    store.put_manifest(&manifest_digest, &manifest)?;
    store.put_tag(reference, &manifest_digest)?;
    Ok(Pulled {
        pinned: reference.pinned(&manifest_digest),
        path: store.component_path(&layer.digest),
        component_digest: layer.digest,
        manifest_digest,
        size: layer.size.max(0) as u64,
        cached,
    })
}

/// A download buffer that takes at most `limit` bytes: a write past it
/// fails (so the download stops there) and sets `overflowed`.
struct CappedBuffer {
    bytes: Vec<u8>,
    limit: u64,
    overflowed: bool,
}

impl CappedBuffer {
    fn new(limit: u64) -> Self {
        CappedBuffer {
            // The declared size is capped, but allocate as the bytes arrive.
            bytes: Vec::with_capacity(limit.min(8 << 20) as usize),
            limit,
            overflowed: false,
        }
    }
}

impl tokio::io::AsyncWrite for CappedBuffer {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if (self.bytes.len() + buf.len()) as u64 > self.limit {
            self.overflowed = true;
            return Poll::Ready(Err(std::io::Error::other(
                "the registry sent more than the declared size",
            )));
        }
        self.bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The oci-client form of a reference.
fn to_client(r: &OciRef) -> oci_client::Reference {
    let (registry, repository) = (r.registry().to_owned(), r.repository().to_owned());
    match (r.tag().map(str::to_owned), r.digest().map(str::to_owned)) {
        (Some(t), Some(d)) => {
            oci_client::Reference::with_tag_and_digest(registry, repository, t, d)
        }
        (None, Some(d)) => oci_client::Reference::with_digest(registry, repository, d),
        (Some(t), None) => oci_client::Reference::with_tag(registry, repository, t),
        // Only an untagged reference to publish lacks both, and publish
        // tags it first; `latest` is what the registry would assume.
        (None, None) => oci_client::Reference::with_tag(registry, repository, "latest".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn a_capped_buffer_refuses_the_byte_past_its_limit() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut b = CappedBuffer::new(5);
            b.write_all(b"abc").await.unwrap();
            b.write_all(b"de").await.unwrap();
            assert!(!b.overflowed);
            assert!(b.write_all(b"f").await.is_err());
            assert!(b.overflowed);
            assert_eq!(b.bytes, b"abcde");
        });
    }
}
