//! Reading envelopes: [`decrypt`] and the header unlock shared with random access and rewrap
//! (`docs/FORMAT.md` §5).

use std::io::{Read, Write};

use crate::encrypt::Summary;
use crate::error::{Error, Result};
use crate::header::{Header, read_header};
use crate::keys::{DataKey, KeyWrapper};
use crate::schedule::FileKeys;
use crate::stream;

/// A header whose MAC verified under an unwrapped data key.
pub(crate) struct Unlocked {
    pub keys: FileKeys,
    pub data_key: DataKey,
    /// Index of the wrapped key that opened the header.
    pub index: usize,
}

/// Unwraps the header's data keys in header order until one verifies the header MAC.
///
/// Errors: [`Error::Tampered`] if some key unwrapped but none verified the MAC (a modified
/// header, or a wrapped key for another data key); otherwise the first unwrap error.
pub(crate) fn unlock(wrapper: &(impl KeyWrapper + ?Sized), header: &Header) -> Result<Unlocked> {
    let mut first_error = None;
    let mut unwrapped_any = false;
    for (index, wrapped) in header.wrapped_keys().iter().enumerate() {
        match wrapper.unwrap_data_key(wrapped, header.context()) {
            Ok(data_key) => {
                unwrapped_any = true;
                let keys = FileKeys::for_header(&data_key, header)?;
                if keys.verify_header(header) {
                    return Ok(Unlocked {
                        keys,
                        data_key,
                        index,
                    });
                }
            }
            Err(err) => {
                first_error.get_or_insert(err);
            }
        }
    }
    match first_error {
        Some(err) if !unwrapped_any => Err(Error::Wrap(err)),
        _ => Err(Error::Tampered),
    }
}

/// Decrypts one envelope from `input` (read to its end) into `output`.
///
/// The header is parsed strictly, its wrapped keys are unwrapped in order until one verifies
/// the header MAC, then segments are opened in parallel and written in order, each only after
/// it verified. Errors with [`Error::Truncated`] if the input ends without the final segment.
///
/// # Releasing plaintext
///
/// The output never holds forged bytes, but it can end early: if a later segment fails, or the
/// input ends without a final segment, `decrypt` returns an error after having written the
/// verified segments before it. **A caller writing to a file must write to a temporary file in
/// the target directory and rename it into place only after `decrypt` returned `Ok`** (and
/// delete it on error). A caller streaming to stdout must exit non-zero on error.
///
/// To detect the format first, wrap the input in a `BufReader`, peek with `fill_buf`
/// ([`detect`](crate::detect)), then pass the same `BufReader` here.
pub fn decrypt<R: Read, W: Write>(
    wrapper: &(impl KeyWrapper + ?Sized),
    mut input: R,
    output: W,
) -> Result<Summary> {
    let header = read_header(&mut input)?;
    let unlocked = unlock(wrapper, &header)?;
    let segment_size = header.segment_size();
    let body = stream::decrypt_body(unlocked.keys.body(), segment_size as usize, input, output)?;
    Ok(Summary {
        key_id: header
            .wrapped_keys()
            .get(unlocked.index)
            .map(|k| k.key_id.clone())
            .unwrap_or_default(),
        header_len: header.header_len(),
        segment_size,
        segments: body.segments,
        plaintext_len: body.plaintext_len,
        ciphertext_len: u64::from(header.header_len()) + body.body_len,
    })
}
