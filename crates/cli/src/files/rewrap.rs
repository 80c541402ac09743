//! `keywarden rewrap`: replaces a file's wrapped data keys with new ones (other CMKs, or the
//! current primary version of the same CMK) without touching the body.
//!
//! When the new header has the old length (the usual case: headers are padded to 4 KiB) it is
//! rewritten in place: the old header goes to a journal file first (fsynced), then one `pwrite`
//! and an fsync, then the journal is removed. A torn write can only make the header fail its
//! MAC, never yield wrong plaintext, and the journal restores it. Otherwise the file is rewritten
//! to a temporary file and renamed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use keywarden_client::wrapper::KmsWrapper;
use keywarden_envelope::{read_header, rewrap_header};

use super::output::AtomicFile;
use crate::cli::{ClientArgs, RewrapArgs};
use crate::exit::{USAGE, fail};

/// Runs the command.
pub fn run(client_args: &ClientArgs, args: RewrapArgs) -> anyhow::Result<()> {
    let journal = journal_path(&args.file);
    if journal.exists() {
        return Err(fail(
            USAGE,
            format!(
                "{} exists: an earlier rewrap was interrupted; it holds the file's previous header (copy it over the first bytes of the file to restore, then delete it)",
                journal.display()
            ),
        ));
    }
    let client = crate::kms::client(client_args)?;
    let wrapper = KmsWrapper::new(&client);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&args.file)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", args.file.display())))?;
    let header = read_header(&mut file)?;
    let new = rewrap_header(&wrapper, &header, &args.key_ids)?;
    if new.len() == header.as_bytes().len() {
        in_place(&mut file, header.as_bytes(), &new, &journal)
    } else {
        by_copy(&mut file, u64::from(header.header_len()), &new, &args.file)
    }
}

fn journal_path(file: &Path) -> PathBuf {
    let mut name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".keywarden-journal");
    file.with_file_name(name)
}

fn in_place(file: &mut File, old: &[u8], new: &[u8], journal: &Path) -> anyhow::Result<()> {
    let mut j = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(journal)?;
    j.write_all(old)?;
    j.sync_all()?;
    drop(j);
    super::output::sync_parent(journal)?;
    file.write_all_at(new, 0)?;
    file.sync_all()?;
    std::fs::remove_file(journal)?;
    Ok(())
}

fn by_copy(file: &mut File, body_start: u64, new: &[u8], path: &Path) -> anyhow::Result<()> {
    let mut out = AtomicFile::create(path, true, 0o644)?;
    out.file()?.write_all(new)?;
    file.seek(SeekFrom::Start(body_start))?;
    std::io::copy(&mut file.take(u64::MAX), out.file()?)?;
    out.commit()?;
    Ok(())
}
