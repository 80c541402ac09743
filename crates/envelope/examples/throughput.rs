//! Quick throughput check: encrypts N GiB of zeros from memory to `io::sink`, then decrypts an
//! in-memory envelope to `io::sink`, and prints GB/s (10^9 bytes/s).
//!
//! ```text
//! cargo run --release -p keywarden-envelope --features testing --example throughput -- [GiB] [segment bytes] [enc]
//! ```
//! With `enc`, only the streaming encryption runs (to read its peak RSS with `/usr/bin/time -v`).

use std::error::Error;
use std::io::{self, Read};
use std::time::Instant;

use keywarden_envelope::testing::LocalWrapper;
use keywarden_envelope::{EncryptOptions, EncryptionContext, EnvelopeKey, decrypt, seed};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let gib: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4);
    let mut options = EncryptOptions::default();
    if let Some(seg) = args.next() {
        options.segment_size = seg.parse()?;
    }
    let encrypt_only = args.next().as_deref() == Some("enc");
    let wrapper = LocalWrapper::new().with_random_key("bench");
    let key = EnvelopeKey::generate(&wrapper, &["bench"], &EncryptionContext::new())?;
    let total = gib << 30;

    let start = Instant::now();
    let summary = key.encrypt(io::repeat(0).take(total), io::sink(), &options)?;
    report("encrypt zeros -> sink", summary.plaintext_len, start);
    if encrypt_only {
        return Ok(());
    }

    // One GiB of ciphertext in memory, decrypted `gib` times.
    let mut envelope = Vec::with_capacity((1 << 30) + (1 << 20));
    key.encrypt(io::repeat(0).take(1 << 30), &mut envelope, &options)?;
    let start = Instant::now();
    let mut plain = 0;
    for _ in 0..gib {
        plain += decrypt(&wrapper, &envelope[..], io::sink())?.plaintext_len;
    }
    report("decrypt memory -> sink", plain, start);

    let seed_len = 256 << 20;
    let seed_key = seed::SeedKey::new(&[7; 32])?;
    let start = Instant::now();
    seed::encrypt(b"blob", &seed_key, io::repeat(0).take(seed_len), io::sink())?;
    report("seed encrypt zeros -> sink", seed_len, start);
    Ok(())
}

fn report(what: &str, bytes: u64, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{what:<28} {:>6.2} GiB in {secs:>6.3} s = {:>6.2} GB/s",
        bytes as f64 / (1u64 << 30) as f64,
        bytes as f64 / secs / 1e9
    );
}
