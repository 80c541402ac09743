//! Random access: [`RangeReader`] opens only the segments a byte range touches
//! (`docs/FORMAT.md` §6).
//!
//! Segment `i` starts at `header_len + i * (S + 16)`, so any plaintext range maps to a run of
//! whole segments. Opening also authenticates the final segment (as age requires before
//! seeking relative to the end), so [`plaintext_len`](RangeReader::plaintext_len) is
//! authenticated and a truncated or extended file is refused up front.

use std::io::{Read, Seek, SeekFrom, Write};

use rayon::prelude::*;

use crate::decrypt::unlock;
use crate::error::{Error, Result, read_error};
use crate::header::{Header, read_header};
use crate::keys::KeyWrapper;
use crate::pipeline;
use crate::schedule::{FileKeys, MAX_SEGMENTS, TAG_LEN, open_segment};

/// An unlocked envelope on a seekable input, ready for range reads.
pub struct RangeReader<R> {
    input: R,
    /// Offset of the envelope's first byte in `input`.
    base: u64,
    header: Header,
    keys: FileKeys,
    segments: u64,
    last_slot_len: usize,
    plaintext_len: u64,
    buf: Vec<u8>,
}

impl<R: Read + Seek> RangeReader<R> {
    /// Reads the header at the current position of `input` (the envelope runs from there to
    /// the end of `input`), unwraps the data key, measures the input and verifies the final
    /// segment.
    pub fn open(wrapper: &(impl KeyWrapper + ?Sized), mut input: R) -> Result<Self> {
        let base = input.stream_position()?;
        let header = read_header(&mut input)?;
        let keys = unlock(wrapper, &header)?.keys;
        let total = input.seek(SeekFrom::End(0))?;
        let body_len = total
            .checked_sub(base + u64::from(header.header_len()))
            .ok_or(Error::Truncated)?;
        let segment_size = u64::from(header.segment_size());
        let slot_len = segment_size + TAG_LEN as u64;
        let segments = body_len / slot_len + 1;
        let last_slot_len = body_len % slot_len;
        if last_slot_len < TAG_LEN as u64 {
            return Err(Error::Truncated);
        }
        if segments > MAX_SEGMENTS {
            return Err(Error::TooLarge);
        }
        let mut reader = Self {
            input,
            base,
            header,
            keys,
            segments,
            last_slot_len: usize::try_from(last_slot_len).map_err(|_| Error::TooLarge)?,
            plaintext_len: (segments - 1) * segment_size + last_slot_len - TAG_LEN as u64,
            buf: Vec::new(),
        };
        reader.open_segments(segments - 1, 1, |_| Ok(()))?;
        Ok(reader)
    }

    /// The authenticated plaintext length.
    pub fn plaintext_len(&self) -> u64 {
        self.plaintext_len
    }

    /// The (authenticated) header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Writes plaintext bytes `offset .. offset + len`, clipped to the plaintext length, to
    /// `output`, and returns how many were written. Only the segments the range touches are
    /// read; each is verified before any of its bytes are written.
    pub fn read_range<W: Write>(&mut self, offset: u64, len: u64, mut output: W) -> Result<u64> {
        let end = offset.saturating_add(len).min(self.plaintext_len);
        if offset >= end {
            return Ok(0);
        }
        let segment_size = u64::from(self.header.segment_size());
        let first = offset / segment_size;
        let last = (end - 1) / segment_size;
        let mut written = 0u64;
        self.open_segments(first, last - first + 1, |(index, plain)| {
            let seg_start = index * segment_size;
            let from = offset.saturating_sub(seg_start);
            let to = (end - seg_start).min(plain.len() as u64);
            let part = usize::try_from(from).ok().zip(usize::try_from(to).ok());
            let bytes = part.and_then(|(f, t)| plain.get(f..t)).unwrap_or_default();
            output.write_all(bytes)?;
            written += bytes.len() as u64;
            Ok(())
        })?;
        Ok(written)
    }

    /// Reads, verifies and hands out segments `first .. first + count` in order, a batch at a
    /// time, opening each batch in parallel.
    fn open_segments(
        &mut self,
        first: u64,
        count: u64,
        mut sink: impl FnMut((u64, &[u8])) -> Result<()>,
    ) -> Result<()> {
        let segment_size = self.header.segment_size() as usize;
        let slot_len = segment_size + TAG_LEN;
        let per_batch = pipeline::segments_per_batch(segment_size) as u64;
        let per_task = pipeline::segments_per_task(segment_size);
        let body_start = self.base + u64::from(self.header.header_len());
        let mut next = first;
        while next < first + count {
            let n = per_batch.min(first + count - next);
            let has_final = next + n == self.segments;
            let tail = if has_final {
                self.last_slot_len
            } else {
                slot_len
            };
            let bytes = (n as usize - 1) * slot_len + tail;
            self.buf.resize(bytes, 0);
            self.input
                .seek(SeekFrom::Start(body_start + next * slot_len as u64))?;
            self.input.read_exact(&mut self.buf).map_err(read_error)?;
            let key = self.keys.body();
            self.buf
                .par_chunks_mut(slot_len)
                .with_min_len(per_task)
                .enumerate()
                .try_for_each(|(j, chunk)| {
                    let index = next + j as u64;
                    open_segment(key, index, index + 1 == self.segments, chunk).map(drop)
                })?;
            for (j, chunk) in self.buf.chunks(slot_len).enumerate() {
                let plain = chunk
                    .get(..chunk.len().saturating_sub(TAG_LEN))
                    .unwrap_or_default();
                sink((next + j as u64, plain))?;
            }
            next += n;
        }
        Ok(())
    }
}

/// Opens the envelope at the current position of `input` and writes plaintext bytes
/// `offset .. offset + len` (clipped to the plaintext length) to `output`; returns the number
/// written. Use [`RangeReader`] to read several ranges with one unwrap.
pub fn read_range<R: Read + Seek, W: Write>(
    wrapper: &(impl KeyWrapper + ?Sized),
    input: R,
    offset: u64,
    len: u64,
    output: W,
) -> Result<u64> {
    RangeReader::open(wrapper, input)?.read_range(offset, len, output)
}
