//! Small I/O helpers over `Read`.

use std::io::{self, Read};

/// Reads until `buf` is full or the input ends; returns the number of bytes read. Unlike
/// `read_exact`, a short count is not an error: it is how the final segment is found.
pub(crate) fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match input.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns at most 3 bytes per call and an `Interrupted` error every other call.
    struct Dribble<'a>(&'a [u8], bool);

    impl Read for Dribble<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.1 = !self.1;
            if self.1 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(3).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn fills_across_short_reads_and_stops_at_eof() {
        let data: Vec<u8> = (0..10).collect();
        let mut buf = [0u8; 8];
        assert_eq!(read_full(&mut Dribble(&data, false), &mut buf).unwrap(), 8);
        assert_eq!(&buf, &data[..8]);
        let mut big = [0u8; 16];
        assert_eq!(read_full(&mut Dribble(&data, false), &mut big).unwrap(), 10);
        assert_eq!(read_full(&mut Dribble(&[], false), &mut big).unwrap(), 0);
    }
}
