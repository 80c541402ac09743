//! `ACS3-HMAC-SHA256`, the new SDK's default:
//!
//! ```text
//! StringToSign = "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))
//! Signature    = hex(HMAC-SHA256(secret, StringToSign))
//! ```
//! The canonical request is [`super::canonical_request`] over the headers named in
//! `SignedHeaders` (the SDK signs all of them, `accept` and `user-agent` included).

use super::{MissingHeader, SignedRequest, hmac_sha256};

/// The algorithm name in the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// The string-to-sign of `req` over `signed_headers` (lower-case, sorted).
pub fn string_to_sign(
    req: &SignedRequest<'_>,
    signed_headers: &[String],
) -> Result<String, MissingHeader> {
    super::header_string_to_sign(ALGORITHM, req, signed_headers)
}

/// The hex signature of `string_to_sign` under `secret`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), string_to_sign.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::super::percent::decode_form;
    use super::super::sha256_hex;
    use super::*;

    fn headers(text: &str) -> Vec<(String, String)> {
        text.lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect()
    }

    fn check(query: &str, head: &str, body: &[u8], signed: &str, expected: &str) {
        let params = decode_form(query).unwrap();
        let headers = headers(head);
        let body_sha = sha256_hex(body);
        let params: Vec<(&str, &str)> = crate::sign::pairs(&params).collect();
        let req = SignedRequest {
            method: "POST",
            params: &params,
            headers: &headers,
            body_sha256: &body_sha,
        };
        let signed: Vec<String> = signed.split(';').map(str::to_owned).collect();
        let sts = string_to_sign(&req, &signed).unwrap();
        assert_eq!(sign("TestAccessKeySecret123", &sts), expected);
    }

    #[test]
    fn captured_encrypt() {
        check(
            "EncryptionContext=%7B%22k%22%3A%22v%22%7D&KeyId=1234abcd-12ab-34cd-56ef-12345678%2A%2A%2A%2A&Plaintext=hello+world+%2B%2F%3D+%C3%BC",
            "Accept-Encoding: identity\nhost: 127.0.0.1:18080\nx-acs-version: 2016-01-20\nx-acs-action: Encrypt\nuser-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2\nx-acs-date: 2026-11-22T08:50:14Z\nx-acs-signature-nonce: 2a381ce6e8f20f6392e740247a4862a2\naccept: application/json\nx-acs-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\nx-acs-credentials-provider: static_ak",
            b"",
            "accept;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version",
            "f005b3128e2081043e648ab472251213e6a831d253247a93d89290d6c91eb5ea",
        );
    }

    #[test]
    fn captured_decrypt_with_form_body() {
        check(
            "CiphertextBlob=Y2lwaGVy%2B%2F%3D%3D",
            "host: 127.0.0.1:18080\nx-acs-version: 2016-01-20\nx-acs-action: Decrypt\nuser-agent: AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2\nx-acs-date: 2026-11-22T08:50:14Z\nx-acs-signature-nonce: 09688b9b50c2f74f33a6aa69f2074f25\naccept: application/json\ncontent-type: application/x-www-form-urlencoded\nx-acs-content-sha256: 64e316ce8c1fdde6a446f90e22dd37de6b853e6fe457ab787e4ddf16f0ba969b\nx-acs-credentials-provider: static_ak",
            b"Recipient.AttestationDocument=abc&Recipient.KeyEncryptionAlgorithm=RSAES_OAEP_SHA_256",
            "accept;content-type;host;user-agent;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version",
            "738a926f5f12400a228dee00cd0829c7e7f9cc38a5263021a97aeebb09c6a263",
        );
    }
}
