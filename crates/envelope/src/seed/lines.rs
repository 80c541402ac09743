//! The text side of the seed format: bounded line reads and an incremental base64 decoder for
//! the (possibly multi-GiB) third line.

use std::io::{BufRead, Read};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, Result};

/// Standard alphabet, padding optional, non-zero trailing bits accepted: a superset of what
/// Python's `base64.b64decode` accepts on a well-formed line.
pub(super) const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Base64 text decoded per step of line 3 (a multiple of 4).
const TEXT_CHUNK: usize = 1 << 20;

/// Reads one line of at most `max` bytes (excluding the newline). Returns the line without its
/// line ending, and whether a newline ended it (false at end of input).
pub(super) fn read_line<R: BufRead>(input: &mut R, max: usize) -> Result<(Vec<u8>, bool)> {
    let mut line = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(2);
    input.by_ref().take(limit).read_until(b'\n', &mut line)?;
    let ended = line.last() == Some(&b'\n');
    if ended {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > max {
        return Err(Error::Malformed("seed line too long"));
    }
    Ok((line, ended))
}

/// Decodes a short base64 line, trimming ASCII whitespace around it.
pub(super) fn decode_line(line: &[u8], what: &'static str) -> Result<Vec<u8>> {
    LENIENT
        .decode(line.trim_ascii())
        .map_err(|_| Error::Malformed(what))
}

/// Decodes base64 line 3 from `input` incrementally, through its newline, handing each decoded
/// piece (at most 768 KiB) to `sink`. Returns the number of decoded bytes.
pub(super) fn stream_line<R: BufRead>(
    input: &mut R,
    mut sink: impl FnMut(&mut [u8]) -> Result<()>,
) -> Result<u64> {
    let mut text = Vec::with_capacity(TEXT_CHUNK);
    let mut decoded = vec![0u8; TEXT_CHUNK / 4 * 3 + 3];
    let mut total = 0u64;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Err(Error::Truncated);
        }
        let newline = buf.iter().position(|&b| b == b'\n');
        let data = buf.get(..newline.unwrap_or(buf.len())).unwrap_or_default();
        let take = data.len().min(TEXT_CHUNK - text.len());
        text.extend_from_slice(data.get(..take).unwrap_or_default());
        let at_end = newline.is_some() && take == data.len();
        input.consume(take + usize::from(at_end));
        if at_end {
            if text.last() == Some(&b'\r') {
                text.pop();
            }
            total += decode_piece(&text, &mut decoded, &mut sink)?;
            return Ok(total);
        }
        if text.len() == TEXT_CHUNK {
            // Keep the last quantum back: the line may end right after it, with padding.
            let body = text.get(..TEXT_CHUNK - 4).unwrap_or_default();
            if body.contains(&b'=') {
                return Err(Error::Malformed(
                    "base64 padding inside the ciphertext line",
                ));
            }
            total += decode_piece(body, &mut decoded, &mut sink)?;
            text.drain(..TEXT_CHUNK - 4);
        }
    }
}

fn decode_piece(
    text: &[u8],
    out: &mut [u8],
    sink: &mut impl FnMut(&mut [u8]) -> Result<()>,
) -> Result<u64> {
    let n = LENIENT
        .decode_slice(text, out)
        .map_err(|_| Error::Malformed("ciphertext line is not base64"))?;
    let piece = out.get_mut(..n).unwrap_or_default();
    sink(piece)?;
    Ok(n as u64)
}

/// Consumes the rest of the input; anything but ASCII whitespace is [`Error::TrailingData`].
pub(super) fn expect_end<R: BufRead>(input: &mut R) -> Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if !buf.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::TrailingData);
        }
        let n = buf.len();
        input.consume(n);
    }
}
