//! Package signatures: a team signs a component with its Ed25519 key, and a
//! config can require a valid signature from a listed key before a metric
//! loads.
//!
//! A signature rides inside the component, in the custom section
//! [`SECTION`] (JSON: the signer's public key and the signature), so it
//! travels with the package through any registry. It covers the SHA-256 of
//! the component **without** its signature sections, that is the code and
//! every other section, the package manifest included: changing any byte
//! other than a signature breaks every signature. Several keys can sign the
//! same package.
//!
//! Keys: secret keys are PKCS#8 PEM files (`caliper keygen`, or
//! `openssl genpkey -algorithm ed25519`); public keys are written
//! `ed25519:<base64 of the 32-byte key>`.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::sections::{custom_payload, sections};

/// Name of the custom section holding the signatures.
pub const SECTION: &str = "caliper:signature";

/// Domain separation: a signature over a Caliper package cannot be replayed
/// as a signature over anything else.
const CONTEXT: &[u8] = b"caliper package signature v1\0";

/// One signature as stored in the component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    /// `ed25519:<base64>`.
    key: String,
    /// Base64 of the 64-byte signature.
    signature: String,
}

/// A signature found in a component, checked against its content.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The signer's public key (`ed25519:<base64>`).
    pub key: String,
    /// Whether it matches the content.
    pub valid: bool,
}

/// A public key as text: `ed25519:<base64>`.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", BASE64.encode(key.as_bytes()))
}

/// Parses `ed25519:<base64>`.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let b64 = text
        .trim()
        .strip_prefix("ed25519:")
        .ok_or_else(|| format!("`{text}` is not a public key like ed25519:BASE64"))?;
    let bytes: [u8; 32] = BASE64
        .decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("`{text}` is not a 32-byte Ed25519 public key"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("`{text}`: {e}"))
}

/// A new secret key, as PKCS#8 PEM, and its public key text.
pub fn generate() -> Result<(String, String), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no randomness: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| e.to_string())?;
    Ok((pem.to_string(), public_key_text(&key.verifying_key())))
}

/// Reads a PKCS#8 PEM secret key file.
pub fn read_secret_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read key {}: {e}", path.display()))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| {
        format!(
            "{} is not an Ed25519 secret key in PKCS#8 PEM ({e})",
            path.display()
        )
    })
}

/// The message a signature covers: the context and the SHA-256 of the
/// component without its signature sections.
fn message(wasm: &[u8]) -> Result<Vec<u8>, String> {
    let mut hash = Sha256::new();
    hash.update(&wasm[..8.min(wasm.len())]);
    for (id, range) in sections(wasm)? {
        if id == 0 && custom_payload(wasm, &range, SECTION).is_some() {
            continue;
        }
        hash.update(&wasm[range]);
    }
    let mut msg = CONTEXT.to_vec();
    msg.extend_from_slice(&hash.finalize());
    Ok(msg)
}

fn stored(wasm: &[u8]) -> Result<Vec<Stored>, String> {
    let mut all = Vec::new();
    for (id, range) in sections(wasm)? {
        if id != 0 {
            continue;
        }
        if let Some(payload) = custom_payload(wasm, &range, SECTION) {
            let mut list: Vec<Stored> = serde_json::from_slice(payload)
                .map_err(|e| format!("the signature section is not valid: {e}"))?;
            all.append(&mut list);
        }
    }
    Ok(all)
}

/// Every signature in the component, each checked against the content.
pub fn signatures(wasm: &[u8]) -> Result<Vec<Found>, String> {
    let msg = message(wasm)?;
    stored(wasm)?
        .into_iter()
        .map(|s| {
            let key = parse_public_key(&s.key)?;
            let valid = BASE64
                .decode(&s.signature)
                .ok()
                .and_then(|b| Signature::from_slice(&b).ok())
                .is_some_and(|sig| key.verify(&msg, &sig).is_ok());
            Ok(Found { key: s.key, valid })
        })
        .collect()
}

/// The component signed by `key`: earlier signatures by other keys are
/// kept, one by the same key is replaced.
pub fn sign(wasm: &[u8], key: &SigningKey) -> Result<Vec<u8>, String> {
    let msg = message(wasm)?;
    let public = public_key_text(&key.verifying_key());
    let mut list: Vec<Stored> = stored(wasm)?
        .into_iter()
        .filter(|s| s.key != public)
        .collect();
    list.push(Stored {
        key: public,
        signature: BASE64.encode(key.sign(&msg).to_bytes()),
    });
    let mut out = wasm[..8].to_vec();
    for (id, range) in sections(wasm)? {
        if id == 0 && custom_payload(wasm, &range, SECTION).is_some() {
            continue;
        }
        out.extend_from_slice(&wasm[range]);
    }
    let json = serde_json::to_vec(&list).map_err(|e| e.to_string())?;
    Ok(crate::sections::append_custom_section(&out, SECTION, &json))
}

/// Checks that every signature matches the content: one that does not means
/// the component changed after it was signed.
pub fn check_unchanged(found: &[Found]) -> Result<(), String> {
    match found.iter().find(|f| !f.valid) {
        Some(bad) => Err(format!(
            "its signature by {} does not match its content: it was changed after signing",
            bad.key
        )),
        None => Ok(()),
    }
}

/// Checks a component against trusted keys: Ok with the trusted signer, or
/// why it is refused. Any invalid signature refuses the component (it was
/// changed after signing), trusted signer or not.
pub fn check_trusted(found: &[Found], trusted: &[String]) -> Result<String, String> {
    check_unchanged(found)?;
    if let Some(ok) = found.iter().find(|f| trusted.contains(&f.key)) {
        return Ok(ok.key.clone());
    }
    Err(if found.is_empty() {
        "it is not signed, and the config requires a signature by a trusted key".to_owned()
    } else {
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        format!(
            "it is signed only by keys the config does not trust ({})",
            keys.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPONENT: &[u8] = b"\0asm\x0d\x00\x01\x00";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn signatures_verify_survive_other_signers_and_break_on_any_change() {
        let a = key(1);
        let b = key(2);
        let signed = sign(COMPONENT, &a).unwrap();
        let both = sign(&signed, &b).unwrap();
        let found = signatures(&both).unwrap();
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|f| f.valid));
        // Re-signing with the same key replaces its signature.
        assert_eq!(signatures(&sign(&both, &a).unwrap()).unwrap().len(), 2);
        // Any other change (here: a new custom section) breaks them.
        let changed = crate::sections::append_custom_section(&both, "x", b"y");
        assert!(signatures(&changed).unwrap().iter().all(|f| !f.valid));
        let trusted = vec![public_key_text(&a.verifying_key())];
        assert!(check_trusted(&found, &trusted).is_ok());
        assert!(
            check_trusted(&signatures(&changed).unwrap(), &trusted)
                .unwrap_err()
                .contains("changed after signing")
        );
        assert!(
            check_trusted(&[], &trusted)
                .unwrap_err()
                .contains("not signed")
        );
        let only_b = signatures(&sign(COMPONENT, &b).unwrap()).unwrap();
        assert!(
            check_trusted(&only_b, &trusted)
                .unwrap_err()
                .contains("does not trust")
        );
    }

    #[test]
    fn keys_round_trip_through_pem_and_text() {
        let (pem, public) = generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        std::fs::write(&path, pem).unwrap();
        let secret = read_secret_key(&path).unwrap();
        assert_eq!(public_key_text(&secret.verifying_key()), public);
        assert_eq!(parse_public_key(&public).unwrap(), secret.verifying_key());
        assert!(parse_public_key("ed25519:abc").is_err());
        assert!(parse_public_key("rsa:AAAA").is_err());
        std::fs::write(&path, "not a key").unwrap();
        assert!(read_secret_key(&path).is_err());
    }
}
