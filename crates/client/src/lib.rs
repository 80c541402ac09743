//! The keywarden client: [`settings`] resolves where and as whom to connect (flags, then
//! environment, then the profile written by `keywarden configure` or `keywarden serve`),
//! [`signer`] signs requests with ACS3-HMAC-SHA256 (or RPC v1), and [`KmsClient`] calls any
//! action and returns its JSON; [`class`] is the one classification of its errors (used by the
//! wrapper and the CLI's exit codes). [`wrapper`] implements the envelope crate's `KeyWrapper` over it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod class;
pub mod client;
pub mod profile;
pub mod settings;
pub mod signer;
pub mod wrapper;

pub use class::{ErrorClass, Refusal};
pub use client::{ClientError, KmsClient};
pub use settings::Settings;
