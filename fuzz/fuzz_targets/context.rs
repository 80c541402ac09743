//! The `EncryptionContext` parser (`core::context`) on arbitrary text, and the server's
//! `context` accessor on the same text as a query string (the JSON form and the flattened
//! `Name.k=v` / `Name.N.Key`/`Name.N.Value` forms). Whatever parses must have a canonical form
//! (the AAD) that parses back to the same context: a blob sealed under it opens again.

use keywarden_core::context::EncryptionContext;
use keywarden_server::request::ApiRequest;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(context) = EncryptionContext::parse(Some(text)) {
        fixed_point(&context);
    }
    let Ok(req) = ApiRequest::parse("POST", Some(text), Vec::new(), b"", None) else {
        return;
    };
    if let Ok(context) = req.context("EncryptionContext") {
        fixed_point(&context);
    }
}

/// The canonical form parses back to `context`, and is empty exactly for the empty context.
fn fixed_point(context: &EncryptionContext) {
    let canonical = context.canonical();
    assert_eq!(canonical.is_empty(), context.is_empty());
    let text = std::str::from_utf8(&canonical).expect("the canonical form is UTF-8");
    let again = EncryptionContext::parse(Some(text)).expect("the canonical form parses");
    assert_eq!(&again, context);
}
