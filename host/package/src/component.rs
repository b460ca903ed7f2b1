//! Reading a component file, bounded: a regular file of at most
//! [`MAX_COMPONENT_BYTES`], whatever is swapped in while it is read.

use std::path::{Path, PathBuf};

/// A component file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {error}", path.display())]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// The I/O error (shown in the message, so not also a `source`: an error
    /// chain would print it twice).
    pub error: std::io::Error,
}

/// The largest component file Caliper reads: 256 MiB (a Python component
/// is ~18 MB, a JavaScript one ~12 MB).
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// Reads a component file: it must be a regular file (not a directory, a
/// FIFO, a device or a socket) of at most [`MAX_COMPONENT_BYTES`]. Checked
/// before opening, and again on the opened file (opened non-blocking, so a
/// FIFO swapped in between cannot hang the read); the read itself stops past
/// the cap whatever the file claims.
pub fn read_component_file(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let err = |error: std::io::Error| ReadError {
        path: path.to_owned(),
        error,
    };
    let refuse = |why: String| err(std::io::Error::new(std::io::ErrorKind::InvalidInput, why));
    let check = |meta: &std::fs::Metadata| {
        if !meta.is_file() {
            return Err(refuse(format!(
                "it is {}, not a regular file",
                file_kind(meta)
            )));
        }
        if meta.len() > MAX_COMPONENT_BYTES {
            return Err(refuse(too_large(meta.len())));
        }
        Ok(())
    };
    check(&std::fs::metadata(path).map_err(err)?)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    check(&meta)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_COMPONENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(refuse(format!(
            "it grew past the {} MiB a component may be while it was read",
            MAX_COMPONENT_BYTES >> 20
        )));
    }
    Ok(bytes)
}

fn too_large(len: u64) -> String {
    format!(
        "it is {} MiB, more than the {} MiB a component may be",
        len.div_ceil(1 << 20),
        MAX_COMPONENT_BYTES >> 20
    )
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}
