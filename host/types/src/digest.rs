//! Content digests: how components, datasets and packages are named by what
//! they contain.

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of some bytes.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Whether `digest` is `sha256:` and 64 lowercase hex digits (the only
/// digest Caliper accepts, and so a safe file name).
pub fn valid_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_of_anything_is_valid_and_nothing_else_is() {
        let d = digest_of(b"abc");
        assert_eq!(
            d,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(valid_digest(&d));
        for bad in [
            "",
            "sha256:",
            "sha256:ABC",
            "md5:00",
            &d.to_uppercase(),
            &d[..70],
        ] {
            assert!(!valid_digest(bad), "{bad}");
        }
    }
}
