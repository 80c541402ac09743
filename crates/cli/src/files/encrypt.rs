//! `keywarden encrypt`: one input (file or stdin) to one envelope, or a directory tree to a
//! mirror tree with `-r`.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use keywarden_client::wrapper::KmsWrapper;
use keywarden_envelope::seed::{self, SeedKey};
use keywarden_envelope::{EncryptOptions, EncryptionContext, EnvelopeKey, KeyWrapper};

use super::output::Output;
use super::progress::{Counting, bar};
use super::{KENV_SUFFIX, SEED_SUFFIX, open_input, tree};
use crate::cli::{ClientArgs, EncryptArgs, FileFormat};
use crate::exit::{USAGE, fail};

/// How long one data key may seal files of a tree, and how many.
const SHARED_KEY_MAX_AGE: Duration = Duration::from_secs(300);
const SHARED_KEY_MAX_USES: u32 = 10_000;

/// Runs the command.
pub fn run(client_args: &ClientArgs, args: EncryptArgs) -> anyhow::Result<()> {
    check_args(&args)?;
    let client = crate::kms::client(client_args)?;
    let wrapper = KmsWrapper::new(&client);
    let context: EncryptionContext = args.context.iter().cloned().collect();
    let job = Job {
        wrapper: &wrapper,
        args: &args,
        context,
        shared: Mutex::new(None),
    };
    if args.recursive {
        let suffix = match args.format {
            FileFormat::Kenv => KENV_SUFFIX,
            FileFormat::Seed => SEED_SUFFIX,
        };
        tree::mirror(
            &args.input,
            &args.output,
            args.force,
            |rel| tree::add_suffix(rel, suffix),
            |src, dst| job.file(src, dst),
        )
    } else {
        job.file(&args.input, &args.output)
    }
}

fn check_args(args: &EncryptArgs) -> anyhow::Result<()> {
    if args.format == FileFormat::Seed {
        if args.key_ids.len() != 1 {
            return Err(fail(
                USAGE,
                "--format seed takes exactly one --key-id (the 4-line format holds one wrapped key)",
            ));
        }
        if !args.context.is_empty() {
            return Err(fail(
                USAGE,
                "--format seed cannot carry --context (the 4-line format has no place for it)",
            ));
        }
    }
    if args.recursive && (args.input == Path::new("-") || args.output == Path::new("-")) {
        return Err(fail(USAGE, "-r needs a directory input and output, not -"));
    }
    Ok(())
}

struct Job<'a> {
    wrapper: &'a KmsWrapper<'a>,
    args: &'a EncryptArgs,
    context: EncryptionContext,
    /// The data key shared by the files of one run, with its birth and use count.
    shared: Mutex<Option<(std::sync::Arc<EnvelopeKey>, Instant, u32)>>,
}

impl Job<'_> {
    fn file(&self, src: &Path, dst: &Path) -> anyhow::Result<()> {
        let (input, len) = open_input(src)?;
        let bar = bar(len, "encrypting");
        let input = Counting::new(input, bar.clone());
        let mut out = Output::open(dst, self.args.force, 0o644)?;
        match self.args.format {
            FileFormat::Kenv => {
                let key = self.envelope_key()?;
                let mut opts = EncryptOptions::default();
                opts.segment_size = self.args.segment_size;
                key.encrypt(input, &mut out, &opts)?;
            }
            FileFormat::Seed => self.seed(input, &mut out)?,
        }
        out.commit()?;
        bar.finish_and_clear();
        Ok(())
    }

    /// The shared data key, renewed when too old or too used.
    fn envelope_key(&self) -> anyhow::Result<std::sync::Arc<EnvelopeKey>> {
        let mut slot = self
            .shared
            .lock()
            .map_err(|_| anyhow::anyhow!("key cache poisoned"))?;
        if let Some((key, born, uses)) = slot.as_mut() {
            if born.elapsed() < SHARED_KEY_MAX_AGE && *uses < SHARED_KEY_MAX_USES {
                *uses += 1;
                return Ok(std::sync::Arc::clone(key));
            }
        }
        let key = std::sync::Arc::new(EnvelopeKey::generate(
            self.wrapper,
            &self.args.key_ids,
            &self.context,
        )?);
        *slot = Some((std::sync::Arc::clone(&key), Instant::now(), 1));
        Ok(key)
    }

    fn seed(&self, input: impl Read, out: &mut impl Write) -> anyhow::Result<()> {
        let key_id = self
            .args
            .key_ids
            .first()
            .map(String::as_str)
            .unwrap_or_default();
        let (data_key, wrapped) = self
            .wrapper
            .generate_data_key(key_id, &EncryptionContext::new())?;
        seed::encrypt(&wrapped.blob, &SeedKey::from(&data_key), input, out)?;
        Ok(())
    }
}
