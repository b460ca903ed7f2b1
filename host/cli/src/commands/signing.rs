//! `caliper keygen`, `caliper sign`, `caliper verify`: package signatures.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use caliper_package::signing;
use caliper_types::atomic_file;
use clap::Args;

use crate::common::Exit;

/// Create a team signing key (Ed25519).
///
/// Writes the secret key as PKCS#8 PEM (mode 0600; keep it out of the
/// repository, e.g. in the CI secret store) and prints the public key to
/// list under [trust] keys in caliper.toml. Keys made with
/// `openssl genpkey -algorithm ed25519` work too.
///
/// Example:  caliper keygen -o ~/.config/caliper/brand-team.pem
#[derive(Args)]
pub struct KeygenCommand {
    /// Where to write the secret key.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

impl KeygenCommand {
    pub fn execute(self) -> Result<Exit> {
        if self.output.exists() {
            bail!("{} exists; not overwriting a key", self.output.display());
        }
        let (pem, public) = signing::generate().map_err(|e| anyhow!(e))?;
        write_secret(&self.output, &pem)?;
        println!("secret key: {}", self.output.display());
        println!("public key: {public}");
        println!(
            "\nTrust it in caliper.toml:\n\n  [trust]\n  keys = [\"{public}\"]\n  require_signature = true"
        );
        Ok(Exit::Success)
    }
}

fn write_secret(path: &Path, pem: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(pem.as_bytes())?;
    Ok(())
}

/// Sign a metric package with a team key.
///
/// The signature goes into the component (custom section
/// `caliper:signature`) and covers everything else in it, code and package
/// manifest included; signatures by other keys are kept, so several teams
/// can sign. Sign after `caliper pack`: packing again changes the content.
///
/// Example:  caliper sign refund-policy-1.0.0.wasm --key brand-team.pem
#[derive(Args)]
pub struct SignCommand {
    /// The component (.wasm); signed in place unless -o is given.
    #[arg(value_name = "FILE.wasm")]
    file: PathBuf,
    /// Secret key (PKCS#8 PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Write the signed component here instead.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

impl SignCommand {
    pub fn execute(self) -> Result<Exit> {
        let key = signing::read_secret_key(&self.key).map_err(|e| anyhow!(e))?;
        let bytes = caliper_engine::plugin::read_component_file(&self.file)?;
        let signed =
            signing::sign(&bytes, &key).map_err(|e| anyhow!("{}: {e}", self.file.display()))?;
        let output = self.output.unwrap_or(self.file);
        atomic_file::write(&output, &signed)
            .with_context(|| format!("writing {}", output.display()))?;
        println!(
            "signed {} by {}",
            output.display(),
            signing::public_key_text(&key.verifying_key())
        );
        println!("digest: {}", caliper_engine::plugin::digest_of(&signed));
        Ok(Exit::Success)
    }
}

/// Check a package's signatures.
///
/// Lists every signature and whether it matches the content. With --key
/// (repeatable), exit 0 only when one of those keys signed it validly;
/// exit 1 otherwise. Any signature that does not match means the file
/// changed after signing: exit 1.
///
/// Example:  caliper verify refund-policy-1.0.0.wasm --key ed25519:3q2+7w...
#[derive(Args)]
pub struct VerifyCommand {
    /// The component (.wasm).
    #[arg(value_name = "FILE.wasm")]
    file: PathBuf,
    /// A trusted public key (`ed25519:BASE64`).
    #[arg(long = "key", value_name = "KEY")]
    keys: Vec<String>,
}

impl VerifyCommand {
    pub fn execute(self) -> Result<Exit> {
        for key in &self.keys {
            signing::parse_public_key(key).map_err(|e| anyhow!(e))?;
        }
        let bytes = caliper_engine::plugin::read_component_file(&self.file)?;
        let found =
            signing::signatures(&bytes).map_err(|e| anyhow!("{}: {e}", self.file.display()))?;
        if found.is_empty() {
            println!("{}: not signed", self.file.display());
        }
        for f in &found {
            let state = if f.valid {
                "valid"
            } else {
                "DOES NOT MATCH THE CONTENT"
            };
            println!("{}: signed by {} ({state})", self.file.display(), f.key);
        }
        let verdict = if self.keys.is_empty() {
            signing::check_unchanged(&found)
        } else {
            signing::check_trusted(&found, &self.keys).map(|_| ())
        };
        match verdict {
            Ok(_) => Ok(Exit::Success),
            Err(why) => {
                eprintln!("not verified: {why}");
                Ok(Exit::GateFailed)
            }
        }
    }
}
