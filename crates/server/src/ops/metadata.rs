//! The `KeyMetadata` object of CreateKey and DescribeKey.

use keywarden_core::dates::format_unix;
use keywarden_core::model::{AutomaticRotation, Realm};
use keywarden_store::KeyRecord;
use serde_json::{Value, json};

/// `KeyMetadata` for `key`. Optional dates are `""` when unset, as the service answers;
/// `NextRotationDate` and `RotationInterval` appear only when rotation is configured.
pub fn key_metadata(key: &KeyRecord, realm: &Realm) -> Value {
    let mut m = json!({
        "KeyId": key.key_id,
        "Arn": realm.key_arn(&key.key_id),
        "CreationDate": format_unix(key.creation_date),
        "Creator": key.creator,
        "Description": key.description,
        "KeySpec": key.key_spec.as_str(),
        "KeyUsage": key.key_usage.as_str(),
        "KeyState": key.state.as_str(),
        "Origin": key.origin.as_str(),
        "ProtectionLevel": key.protection_level.as_str(),
        "PrimaryKeyVersion": key.primary_version_id,
        "LastRotationDate": format_unix(key.last_rotation_date),
        "AutomaticRotation": key.automatic_rotation.as_str(),
        "DeleteDate": key.delete_date.map(format_unix).unwrap_or_default(),
        "MaterialExpireTime": key.material_expire_time.map(format_unix).unwrap_or_default(),
        "DeletionProtection": if key.deletion_protection { "Enabled" } else { "Disabled" },
        "DeletionProtectionDescription": key.deletion_protection_description,
    });
    if key.automatic_rotation != AutomaticRotation::Disabled {
        if let (Some(obj), Some(interval)) = (m.as_object_mut(), key.rotation_interval) {
            obj.insert(
                "RotationInterval".into(),
                Value::String(format!("{interval}s")),
            );
            obj.insert(
                "NextRotationDate".into(),
                Value::String(key.next_rotation_date.map(format_unix).unwrap_or_default()),
            );
        }
    }
    m
}
