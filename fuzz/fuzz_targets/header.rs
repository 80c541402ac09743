//! Parses arbitrary bytes as a KENV header; whatever parses must re-serialize to exactly the
//! bytes it was parsed from (the encoding is canonical), and the streaming reader must agree.

use keywarden_envelope::{Header, read_header};

pub fn run(data: &[u8]) {
    if let Ok(header) = Header::parse(data) {
        let len = header.header_len() as usize;
        assert_eq!(header.as_bytes(), &data[..len]);
        assert_eq!(header.to_bytes(), &data[..len]);
        let streamed = read_header(data).expect("read_header disagrees with Header::parse");
        assert_eq!(streamed, header);
    }
}
