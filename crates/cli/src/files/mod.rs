//! `keywarden encrypt`, `decrypt`, `rewrap` and `inspect`: envelope encryption of files,
//! standard streams and directory trees, over the KMS.
//!
//! Nothing is lost or leaked: outputs are written to a temporary file beside the target and
//! renamed into place only when complete (after verification, for decryption); an existing
//! output (a file, or a link, FIFO or device: `output::Output::open`) is replaced or written
//! only with `--force`; nothing unverified reaches stdout, a FIFO or a device (seed files are
//! verified in full first); a directory is built in a temporary directory and renamed at the
//! end, after checking that no two inputs map to one output name.

mod decrypt;
mod encrypt;
mod inspect;
pub mod output;
mod progress;
mod rewrap;
mod tree;

pub use decrypt::run as decrypt;
pub use encrypt::run as encrypt;
pub use inspect::run as inspect;
pub use rewrap::run as rewrap;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

/// Read buffer of file inputs. The envelope engine reads whole segments (64 KiB and up), and
/// `BufReader` passes reads at least this large straight through, so file bytes are copied once.
pub const READ_BUFFER: usize = 64 << 10;

/// Suffix of KENV files written by `encrypt -r`.
pub const KENV_SUFFIX: &str = "kenv";
/// Suffix of seed files written by `encrypt -r --format seed`.
pub const SEED_SUFFIX: &str = "seed";

/// An input: stdin (`-`) or a file, with its size when known.
pub fn open_input(path: &Path) -> io::Result<(Box<dyn Read + Send>, Option<u64>)> {
    if path == Path::new("-") {
        return Ok((Box::new(io::stdin()), None));
    }
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let len = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(READ_BUFFER, file)), len))
}
