//! GenerateDataKeyWithoutPlaintext: GenerateDataKey that answers only the sealed data key
//! (for a party that will decrypt it later); the operation is
//! [`DataKey`](super::generate_data_key::DataKey).

use super::generate_data_key::DataKey;

/// GenerateDataKeyWithoutPlaintext.
pub type GenerateDataKeyWithoutPlaintext = DataKey<false>;
