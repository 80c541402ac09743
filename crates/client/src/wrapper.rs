//! The envelope KeyWrapper over the KMS (pending the envelope crate API).
