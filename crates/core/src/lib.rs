//! Pure core of keywarden: everything that decides *what* a KMS answer is, with no I/O.
//!
//! - [`model`]: key specs, states, usages, aliases, ARNs and the rules that validate them.
//! - [`context`]: the canonical form of an `EncryptionContext`, which is the AAD of every blob.
//! - [`lifecycle`]: the key-state machine (the key-state × action matrix) and deletion windows.
//! - [`blob`]: the `CiphertextBlob` layout (`KeyVersionId || IV || AES-GCM ciphertext || tag`).
//! - [`secret`]: zeroizing containers for key material (no `Debug`, no `Clone`).
//! - [`wrap`]: sealing CMK material and access-key secrets under the root key.
//! - [`sign`]: the three request-signature schemes the Alibaba SDKs use (RPC v1, ACS3, ACS4),
//!   shared by the server (verify) and the client (sign).
//! - [`dates`]: the API's `YYYY-MM-DDTHH:MM:SSZ` timestamps.
//! - [`policy`]: RAM-style access policies: parsing, validation, evaluation, system policies.
//! - [`audit`]: the hash-chained audit record and its verification.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod blob;
pub mod context;
pub mod dates;
pub mod lifecycle;
pub mod model;
pub mod policy;
pub mod secret;
pub mod sign;
pub mod wrap;
