//! `keywarden bench range`: random-access reads from a KENV file, timed inside one process after
//! the data key is unwrapped once (what a service reading byte ranges of stored objects does).
//! The figures go in docs/PERFORMANCE.md.

use std::time::Instant;

use keywarden_client::wrapper::KmsWrapper;
use keywarden_envelope::RangeReader;

use crate::cli::ClientArgs;

/// Runs `bench range`.
pub fn run(
    client_args: &ClientArgs,
    file: &std::path::Path,
    reads: u32,
    size: u64,
) -> anyhow::Result<()> {
    let client = crate::kms::client(client_args)?;
    let wrapper = KmsWrapper::new(&client);
    let opened = Instant::now();
    let mut reader = RangeReader::open(&wrapper, std::fs::File::open(file)?)?;
    let open_ms = opened.elapsed().as_secs_f64() * 1e3;
    let total = reader.plaintext_len();
    let span = total.saturating_sub(size).max(1);
    let mut state = 0x2545_F491_4F6C_DD1D_u64 ^ total;
    let mut times = Vec::with_capacity(reads as usize);
    let mut sink = Vec::with_capacity(size as usize);
    for _ in 0..reads {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let offset = state % span;
        sink.clear();
        let t = Instant::now();
        let n = reader.read_range(offset, size, &mut sink)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(n == size.min(total - offset), "short read at {offset}");
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{}",
        serde_json::json!({
            "File": file.display().to_string(),
            "PlaintextLength": total,
            "ReadSize": size,
            "Reads": reads,
            "OpenMs": open_ms,
            "MedianMs": pct(0.5),
            "P99Ms": pct(0.99),
            "MaxMs": pct(1.0),
        })
    );
    Ok(())
}
