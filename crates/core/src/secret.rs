//! Zeroizing containers for secrets. None of them implements `Debug`, `Display`, `Clone` or
//! `Serialize`; the bytes are reachable only through an explicit `expose_secret()`.

use zeroize::{Zeroize, Zeroizing};

/// Secret bytes of any length (data keys, CMK material, access-key secrets) that are wiped on drop.
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are wiped when the value is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// `len` bytes from the system CSPRNG.
    pub fn random(len: usize) -> Result<Self, aws_lc_rs::error::Unspecified> {
        let mut buf = Zeroizing::new(vec![0u8; len]);
        aws_lc_rs::rand::fill(&mut buf)?;
        Ok(Self(buf))
    }

    /// The secret bytes. Call sites of this method are where secrets are used; keep them few.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A secret string (an access-key secret, a base64 data key) that is wiped on drop.
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Takes ownership of `s`; it is wiped when the value is dropped.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// The secret text.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

/// Wipes a buffer that held a secret and is about to be reused or dropped.
pub fn wipe(buf: &mut [u8]) {
    buf.zeroize();
}
