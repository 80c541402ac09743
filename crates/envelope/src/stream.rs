//! The segmented body: sealing a plaintext stream and opening a ciphertext stream through the
//! [`pipeline`](crate::pipeline) (`docs/FORMAT.md` §4 and §5, rules 16–19).

use std::io::{Read, Write};

use aws_lc_rs::aead::LessSafeKey;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::io_util::read_full;
use crate::pipeline::{self, Batch};
use crate::schedule::{MAX_SEGMENTS, TAG_LEN, open_segment, seal_segment};

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
            let slot = batch.slot(j, slot_len);
            let plain = batch.buf.get_mut(slot.start..slot.start + segment_size).unwrap_or_default();
            let got = read_full(&mut input, plain)?;
            batch.count += 1;
            batch.last_len = got;
            next_index += 1;
            if got < segment_size {
                batch.has_final = true;
                break;
            }
        }
        Ok(())
    };
    let process = |batch: &mut Batch| -> Result<()> {
        let (first, count, last_len, has_final) = (batch.first, batch.count, batch.last_len, batch.has_final);
        let used = batch.buf.get_mut(..count * slot_len).unwrap_or_default();
        used.par_chunks_mut(slot_len).with_min_len(per_task).enumerate().try_for_each(|(j, slot)| {
            let last = j + 1 == count;
            let len = if last { last_len } else { segment_size };
            seal_segment(key, first + j as u64, last && has_final, slot, len)
        })
    };
    let drain = |batch: &Batch| -> Result<()> {
        let len = (batch.count - 1) * slot_len + batch.last_len + TAG_LEN;
        output.write_all(batch.buf.get(..len).unwrap_or_default())?;
        stats.segments += batch.count as u64;
        stats.plaintext_len += ((batch.count - 1) * segment_size + batch.last_len) as u64;
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
            let slot = batch.slot(j, slot_len);
            let got = read_full(&mut input, batch.buf.get_mut(slot).unwrap_or_default())?;
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
        let (first, count, last_len, has_final) = (batch.first, batch.count, batch.last_len, batch.has_final);
        let used = batch.buf.get_mut(..count * slot_len).unwrap_or_default();
        used.par_chunks_mut(slot_len).with_min_len(per_task).enumerate().try_for_each(|(j, slot)| {
            let last = j + 1 == count;
            let len = if last { last_len } else { slot_len };
            let chunk = slot.get_mut(..len).ok_or(Error::Truncated)?;
            open_segment(key, first + j as u64, last && has_final, chunk).map(drop)
        })
    };
    let drain = |batch: &Batch| -> Result<()> {
        for j in 0..batch.count {
            let len = if j + 1 == batch.count { batch.last_len } else { slot_len };
            let start = j * slot_len;
            let plain = batch.buf.get(start..start + len - TAG_LEN).unwrap_or_default();
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
