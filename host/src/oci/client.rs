//! Talking to a registry: oci-client on a small current-thread tokio
//! runtime per call (the CLI is synchronous), errors turned into
//! [`OciError`]s that say what to do.

use std::future::Future;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::OCI_IMAGE_MEDIA_TYPE;
use oci_client::{Client, RegistryOperation};

use super::auth::Credentials;
use super::{OciError, OciRef, PackageInfo, Published, Pulled, Store, artifact, sha256};

/// Refuse components larger than this before downloading them.
const MAX_COMPONENT_BYTES: i64 = 1 << 30;

/// One registry conversation: a client and the credentials for the
/// registry of `reference`.
struct Session<'a> {
    client: Client,
    credentials: Credentials,
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
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("caliper/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        };
        let client = Client::try_from(config).map_err(|e| OciError::Registry {
            reference: reference.to_string(),
            message: format!("cannot create the HTTP client: {e}"),
        })?;
        let credentials = Credentials::lookup(registry);
        tracing::debug!(
            %reference,
            plain_http,
            credentials = %credentials.source,
            "registry session"
        );
        Ok(Session {
            client,
            credentials,
            reference,
            target: reference.to_client(),
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
            if self.credentials.is_anonymous() {
                "no credentials found; log in with `docker login`, or set \
                 CALIPER_REGISTRY_USER and CALIPER_REGISTRY_PASSWORD"
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

pub(super) fn publish(
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

pub(super) fn pull(reference: &OciRef, store: &Store) -> Result<Pulled, OciError> {
    let session = Session::new(reference)?;
    let (manifest, manifest_digest, layer, fetched) = block_on(async {
        let s = &session;
        // The client checks the manifest against the reference's digest (by
        // digest) or the registry's Docker-Content-Digest (by tag).
        let pulled = s
            .client
            .pull_manifest_raw(&s.target, &s.credentials.auth, &[OCI_IMAGE_MEDIA_TYPE])
            .await;
        let (manifest, digest) = match pulled {
            Ok(pulled) => pulled,
            Err(e) => return Err(s.not_found_detail(s.error(e)).await),
        };
        let layer = artifact::component_layer(&manifest, reference)?;
        if store.component(&layer.digest).is_some() {
            return Ok((manifest, digest, layer, None));
        }
        if !(0..=MAX_COMPONENT_BYTES).contains(&layer.size) {
            return Err(OciError::NotWasm {
                reference: reference.to_string(),
                reason: format!("the component layer claims {} bytes", layer.size),
            });
        }
        let mut bytes = Vec::with_capacity(layer.size as usize);
        tracing::debug!(digest = %layer.digest, size = layer.size, "pulling component");
        s.client
            .pull_blob(&s.target, &layer, &mut bytes)
            .await
            .map_err(|e| match s.error(e) {
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
