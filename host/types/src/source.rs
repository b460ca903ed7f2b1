//! Where the component file of an `oci://` metric comes from: the one seam
//! between resolving a config and the registry client.

use std::path::PathBuf;

/// Where the component file of an `oci://` metric comes from. The registry
/// client implements it (`caliper_oci::RegistrySource`); the resolve
/// step never links one.
pub trait ComponentSource: Send + Sync {
    /// The local file for `reference` (`oci://…`); may ask the registry
    /// (tags move). The error names the reference's problem.
    fn fetch(&self, reference: &str) -> Result<PathBuf, String>;
    /// The local file for `reference` if this machine has it already; never
    /// the network.
    fn cached(&self, reference: &str) -> Option<PathBuf>;
}

/// For callers without a registry: `fetch` fails, nothing is cached.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRegistry;

impl ComponentSource for NoRegistry {
    fn fetch(&self, reference: &str) -> Result<PathBuf, String> {
        Err(format!("{reference}: no registry client in this program"))
    }

    fn cached(&self, _reference: &str) -> Option<PathBuf> {
        None
    }
}
