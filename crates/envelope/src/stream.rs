//! The segmented body: sealing a plaintext stream and opening a ciphertext stream through the
//! [`pipeline`](crate::pipeline) (`docs/FORMAT.md` §4 and §5, rules 13–17).

use std::io::{Read, Write};

use aws_lc_rs::aead::LessSafeKey;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io_util::read_full;
use crate::pipeline::{self, Batch};
use crate::schedule::{MAX_SEGMENTS, TAG_LEN, open_segment, seal_segment};

/// First read size into a fresh buffer; reads double from here up to a whole slot.
const INITIAL_READ: usize = 64 << 10;

/// Totals of one body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BodyStats {
    pub segments: u64,
    pub plaintext_len: u64,
    pub body_len: u64,
}

/// Reads `input` to its end and writes the sealed segments to `output`.
pub(crate) fn encrypt_body<R: Read, W: Write>(
    key: &LessSafeKey,
    segment_size: usize,
    mut input: R,
    mut output: W,
) -> Result<BodyStats> {
    let slot_len = segment_size + TAG_LEN;
    let per_batch = pipeline::segments_per_batch(segment_size);
    let per_task = pipeline::segments_per_task(segment_size);
    let mut stats = BodyStats::default();
    let mut next_index = 0u64;
    let fill = |batch: &mut Batch| -> Result<()> {
        batch.reset(next_index);
        for j in 0..per_batch {
            if next_index >= MAX_SEGMENTS {
                return Err(Error::TooLarge);
            }
            let start = j * slot_len;
            let got = read_growing(&mut input, &mut batch.buf, start, segment_size)?;
            batch.ensure_len(start + got + TAG_LEN);
            batch.count += 1;
            batch.last_len = got;
            next_index += 1;
            // A full segment is never final: the stream always ends with a short one.
            if got < segment_size {
                batch.has_final = true;
                break;
            }
        }
        Ok(())
    };
    let process = |batch: &mut Batch| -> Result<()> {
        let (first, count, last_len) = (batch.first, batch.count, batch.last_len);
        let has_final = batch.has_final;
        let used = batch
            .buf
            .get_mut(..batch_bytes(count, slot_len, last_len + TAG_LEN));
        used.unwrap_or_default()
            .par_chunks_mut(slot_len)
            .with_min_len(per_task)
            .enumerate()
            .try_for_each(|(j, slot)| {
                let last = j + 1 == count;
                let len = if last { last_len } else { segment_size };
                seal_segment(key, first + j as u64, last && has_final, slot, len)
            })
    };
    let drain = |batch: &Batch| -> Result<()> {
        let len = batch_bytes(batch.count, slot_len, batch.last_len + TAG_LEN);
        output.write_all(batch.buf.get(..len).unwrap_or_default())?;
        stats.segments += batch.count as u64;
        stats.plaintext_len += batch_bytes(batch.count, segment_size, batch.last_len) as u64;
        stats.body_len += len as u64;
        Ok(())
    };
    pipeline::run(fill, process, drain)?;
    output.flush()?;
    Ok(stats)
}

/// Reads sealed segments from `input` to its end and writes each segment's plaintext to
/// `output` only after that segment verified. Errors with [`Error::Truncated`] when the input
/// ends without a final segment.
pub(crate) fn decrypt_body<R: Read, W: Write>(
    key: &LessSafeKey,
    segment_size: usize,
    mut input: R,
    mut output: W,
) -> Result<BodyStats> {
    let slot_len = segment_size + TAG_LEN;
    let per_batch = pipeline::segments_per_batch(segment_size);
    let per_task = pipeline::segments_per_task(segment_size);
    let mut stats = BodyStats::default();
    let mut next_index = 0u64;
    let fill = |batch: &mut Batch| -> Result<()> {
        batch.reset(next_index);
        for j in 0..per_batch {
            let got = read_growing(&mut input, &mut batch.buf, j * slot_len, slot_len)?;
            // A full slot is never final; the input must end with a short one (>= one tag).
            if got < TAG_LEN {
                return Err(Error::Truncated);
            }
            if next_index >= MAX_SEGMENTS {
                return Err(Error::TooLarge);
            }
            batch.count += 1;
            batch.last_len = got;
            next_index += 1;
            if got < slot_len {
                batch.has_final = true;
                break;
            }
        }
        Ok(())
    };
    let process = |batch: &mut Batch| -> Result<()> {
        let (first, count, last_len) = (batch.first, batch.count, batch.last_len);
        let has_final = batch.has_final;
        let used = batch.buf.get_mut(..batch_bytes(count, slot_len, last_len));
        used.unwrap_or_default()
            .par_chunks_mut(slot_len)
            .with_min_len(per_task)
            .enumerate()
            .try_for_each(|(j, chunk)| {
                let last = j + 1 == count;
                open_segment(key, first + j as u64, last && has_final, chunk).map(drop)
            })
    };
    let drain = |batch: &Batch| -> Result<()> {
        for j in 0..batch.count {
            let len = if j + 1 == batch.count {
                batch.last_len
            } else {
                slot_len
            };
            let start = j * slot_len;
            let plain = batch
                .buf
                .get(start..start + len - TAG_LEN)
                .unwrap_or_default();
            output.write_all(plain)?;
            stats.plaintext_len += plain.len() as u64;
            stats.body_len += len as u64;
        }
        stats.segments += batch.count as u64;
        Ok(())
    };
    pipeline::run(fill, process, drain)?;
    output.flush()?;
    Ok(stats)
}

/// Bytes of `count` consecutive slots of `slot_len` whose last one holds `last_len` bytes.
fn batch_bytes(count: usize, slot_len: usize, last_len: usize) -> usize {
    count.saturating_sub(1) * slot_len + last_len
}

/// Reads up to `want` bytes into `buf[start..]` and returns how many were read (fewer only at
/// the end of the input). A buffer that does not yet reach `start + want` grows geometrically
/// from [`INITIAL_READ`], so a small input touches little memory; once grown, a slot is filled
/// with one `read_full`.
fn read_growing<R: Read>(
    input: &mut R,
    buf: &mut Vec<u8>,
    start: usize,
    want: usize,
) -> Result<usize> {
    let mut step = if buf.len() >= start + want {
        want
    } else {
        INITIAL_READ.min(want)
    };
    let mut got = 0;
    loop {
        if buf.len() < start + step {
            buf.resize(start + step, 0);
        }
        got += read_full(
            input,
            buf.get_mut(start + got..start + step).unwrap_or_default(),
        )?;
        if got < step || step == want {
            return Ok(got);
        }
        step = (step * 2).min(want);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_growing_grows_only_as_needed() {
        let data: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
        let mut buf = Vec::new();
        assert_eq!(
            read_growing(&mut &data[..100], &mut buf, 0, 1 << 20).unwrap(),
            100
        );
        assert_eq!(buf.len(), INITIAL_READ);
        let mut buf = Vec::new();
        assert_eq!(
            read_growing(&mut &data[..], &mut buf, 16, 1 << 20).unwrap(),
            data.len()
        );
        assert_eq!(&buf[16..16 + data.len()], &data[..]);
        assert_eq!(buf.len(), 16 + (512 << 10));
        let mut full = vec![0u8; 2 << 20];
        assert_eq!(
            read_growing(&mut &data[..], &mut full, 0, 1 << 20).unwrap(),
            data.len()
        );
        assert_eq!(&full[..data.len()], &data[..]);
        assert_eq!(full.len(), 2 << 20);
    }

    #[test]
    fn batch_bytes_counts_full_slots_and_the_last() {
        assert_eq!(batch_bytes(1, 100, 7), 7);
        assert_eq!(batch_bytes(3, 100, 7), 207);
    }
}
