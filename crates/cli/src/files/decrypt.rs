//! `keywarden decrypt`: a KENV envelope or a 4-line seed file (detected from the first bytes) to
//! its plaintext, or a tree with `-r`. Plaintext files are created 0600 and appear only after
//! every byte verified.

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use base64::Engine;
use keywarden_client::KmsClient;
use keywarden_client::wrapper::{KmsWrapper, unwrap_raw};
use keywarden_envelope::seed::{self, SeedKey};
use keywarden_envelope::{Error as EnvError, Format, RangeReader, detect};

use super::output::Output;
use super::progress::{Counting, bar};
use super::{KENV_SUFFIX, SEED_SUFFIX, tree};
use crate::cli::{ClientArgs, DecryptArgs};

/// Runs the command.
pub fn run(client_args: &ClientArgs, args: DecryptArgs) -> anyhow::Result<()> {
    let client = crate::kms::client(client_args)?;
    let wrapper = KmsWrapper::new(&client);
    let job = Job {
        client: &client,
        wrapper: &wrapper,
        force: args.force,
    };
    if args.offset.is_some() || args.length.is_some() {
        let (offset, length) = (args.offset.unwrap_or(0), args.length.unwrap_or(u64::MAX));
        return job.range(&args.input, &args.output, offset, length);
    }
    if args.recursive {
        tree::mirror(
            &args.input,
            &args.output,
            args.force,
            strip_suffix,
            |src, dst| job.file(src, dst),
        )
    } else {
        job.file(&args.input, &args.output)
    }
}

fn strip_suffix(rel: &Path) -> PathBuf {
    match rel.extension().and_then(|e| e.to_str()) {
        Some(KENV_SUFFIX | SEED_SUFFIX) => rel.with_extension(""),
        _ => rel.to_owned(),
    }
}

struct Job<'a> {
    client: &'a KmsClient,
    wrapper: &'a KmsWrapper<'a>,
    force: bool,
}

impl Job<'_> {
    fn file(&self, src: &Path, dst: &Path) -> anyhow::Result<()> {
        if src == Path::new("-") {
            return self.stream(
                BufReader::with_capacity(super::READ_BUFFER, std::io::stdin()),
                None,
                dst,
            );
        }
        let file = std::fs::File::open(src)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", src.display())))?;
        let len = file.metadata().ok().map(|m| m.len());
        self.stream(BufReader::with_capacity(super::READ_BUFFER, file), len, dst)
    }

    fn stream<R: BufRead + Send>(
        &self,
        mut input: R,
        len: Option<u64>,
        dst: &Path,
    ) -> anyhow::Result<()> {
        let format = detect(input.fill_buf()?).ok_or(EnvError::NotEnvelope)?;
        let bar = bar(len, "decrypting");
        let mut out = Output::open(dst, self.force, 0o600)?;
        let input = Counting::new(input, bar.clone());
        match format {
            Format::Seed if out.is_stream() => self.seed_verified_first(input, &mut out)?,
            Format::Seed => {
                seed::decrypt(BufReader::new(input), &mut out, |blob| self.seed_key(blob))?;
            }
            _ => {
                keywarden_envelope::decrypt(self.wrapper, input, &mut out)?;
            }
        }
        out.commit()?;
        bar.finish_and_clear();
        Ok(())
    }

    /// Decrypts `len` plaintext bytes from `offset` of a KENV file, opening only the segments
    /// the range touches (each verified before it is written).
    fn range(&self, src: &Path, dst: &Path, offset: u64, len: u64) -> anyhow::Result<()> {
        if src == Path::new("-") {
            return Err(crate::exit::fail(
                crate::exit::USAGE,
                "--offset/--length need a file, not stdin",
            ));
        }
        let file = std::fs::File::open(src)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", src.display())))?;
        let mut reader = RangeReader::open(self.wrapper, file)?;
        let mut out = Output::open(dst, self.force, 0o600)?;
        reader.read_range(offset, len, &mut out)?;
        out.commit()?;
        Ok(())
    }

    fn seed_key(&self, blob: &[u8]) -> keywarden_envelope::Result<SeedKey> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
        let raw = unwrap_raw(self.client, &b64)?;
        SeedKey::new(&raw)
    }

    /// A seed file's tag comes after all its ciphertext: for an output that a reader sees as it
    /// is written (stdout, a FIFO, a device), decrypt into an unlinked private temporary file
    /// and copy it out only once the tag verified (docs/FORMAT.md §8). Nothing is released on
    /// failure.
    fn seed_verified_first(&self, input: impl Read, out: &mut Output) -> anyhow::Result<()> {
        let mut tmp = tempfile::tempfile()?;
        seed::decrypt(BufReader::new(input), &mut tmp, |blob| self.seed_key(blob))?;
        tmp.rewind()?;
        std::io::copy(&mut tmp, out)?;
        out.flush()?;
        Ok(())
    }
}
