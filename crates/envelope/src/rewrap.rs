//! Rewrapping: a new header with a new set of wrapped keys for the same data key, without
//! touching the body (`docs/FORMAT.md` §7).
//!
//! The body key depends on the data key, salt, parameters and context, but not on the wrapped
//! keys or `header_len`; only the header MAC changes. When the new wrapped keys fit in the old
//! header's padding (the writer pads to 4 KiB by default), the new header has exactly the old
//! length and a caller can overwrite the header in place; otherwise it is longer and the caller
//! must write it followed by the unchanged body to a new file.

use crate::decrypt::unlock;
use crate::encrypt::{align_up, sign_header};
use crate::error::{Error, Result};
use crate::header::{self, DEFAULT_HEADER_ALIGN, Header, MAX_HEADER_LEN};
use crate::keys::KeyWrapper;

/// Unwraps `header`'s data key (verifying the header MAC), wraps it under each of
/// `new_key_ids` (which replace the old list; include an old id to keep it, with a fresh blob)
/// and returns the new header bytes. Same salt, parameters and context, so the body is
/// unchanged and stays valid.
///
/// The result has the old header's length whenever the new fields fit, else the smallest
/// multiple of 4096 that holds them; compare lengths to choose in-place or copy.
///
/// # Rewriting the file (for the CLI)
///
/// 1. Open the file read-write, [`read_header`](crate::read_header), call `rewrap_header`.
/// 2. If the new header has the old length: copy the old header to a journal file next to the
///    target and `fsync` it; `pwrite` the new header at offset 0 in one call and `fsync` the
///    file; delete the journal. With the default 4 KiB alignment the header is one page-aligned
///    4 KiB block, which Linux file systems write as one page and most SSDs write atomically.
///    If a crash still tears it, the MAC fails (the file reads as [`Error::Tampered`], never as
///    wrong data) and the journal restores the old header. Cost: one 4 KiB write and two
///    fsyncs, whatever the file size.
/// 3. Otherwise write the new header and then the body (`io::copy` from offset `old_len`) to a
///    temporary file in the same directory, `fsync`, `rename` over the original.
///
/// Readers racing with step 2 may see a mixed header and fail with `Tampered`; retry.
pub fn rewrap_header(
    wrapper: &(impl KeyWrapper + ?Sized),
    header: &Header,
    new_key_ids: &[impl AsRef<str>],
) -> Result<Vec<u8>> {
    header::check_key_ids(new_key_ids.iter().map(AsRef::as_ref))?;
    let unlocked = unlock(wrapper, header)?;
    let wrapped = new_key_ids
        .iter()
        .map(|id| wrapper.wrap_data_key(id.as_ref(), &unlocked.data_key, header.context()))
        .collect::<Result<Vec<_>, _>>()?;
    header::check_wrapped_keys(&wrapped)?;
    let needed = header::min_header_len(header.context_bytes(), &wrapped);
    let old_len = header.header_len() as usize;
    let header_len = if needed <= old_len {
        old_len
    } else {
        align_up(needed, DEFAULT_HEADER_ALIGN as usize)
    };
    if header_len > MAX_HEADER_LEN as usize {
        return Err(Error::InvalidArgument("header would exceed 1 MiB".into()));
    }
    let mut raw = header::encode_unsigned(
        header.seg_log2(),
        header.salt(),
        header.context_bytes(),
        &wrapped,
        header_len,
    );
    sign_header(&unlocked.keys, &mut raw);
    Ok(raw)
}
