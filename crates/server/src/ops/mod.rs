//! The KMS actions: one file per action, named after it, each an [`Operation`] (typed
//! parameters, resolution, resources, run); [`ACTIONS`] is the table routing, authorization,
//! DryRun, the audit record and `keywarden kms --help` read. Adding an action is one file here
//! and one line in [`ACTIONS`].
//!
//! Helpers shared by several actions: [`metadata`] (the `KeyMetadata` object), `tagging` (tag
//! parameters) and `shared` (bodies, the one-key shape, Encrypt-like keys, opening a blob).

mod cancel_key_deletion;
mod create_alias;
mod create_key;
mod create_key_version;
mod decrypt;
mod delete_alias;
mod describe_key;
mod describe_key_version;
mod describe_regions;
mod disable_key;
mod enable_key;
mod encrypt;
mod generate_data_key;
mod generate_data_key_without_plaintext;
mod get_key_policy;
mod list_aliases;
mod list_aliases_by_key_id;
mod list_key_versions;
mod list_keys;
mod list_resource_tags;
mod list_tag_resources;
pub mod metadata;
mod re_encrypt;
mod schedule_key_deletion;
mod set_deletion_protection;
mod set_key_policy;
mod shared;
mod tag_resource;
mod tag_resources;
mod tagging;
mod untag_resource;
mod untag_resources;
mod update_alias;
mod update_key_description;
mod update_rotation_policy;
mod visible;

use crate::action::Action;

pub use shared::{Body, b64, body};

/// The KMS API version keywarden speaks.
pub const KMS_VERSION: &str = "2016-01-20";

/// Every KMS action keywarden implements, in the order of the API reference.
pub static ACTIONS: &[Action] = &[
    Action::of::<create_key::CreateKey>(),
    Action::of::<describe_key::DescribeKey>(),
    Action::of::<list_keys::ListKeys>(),
    Action::of::<enable_key::EnableKey>(),
    Action::of::<disable_key::DisableKey>(),
    Action::of::<schedule_key_deletion::ScheduleKeyDeletion>(),
    Action::of::<cancel_key_deletion::CancelKeyDeletion>(),
    Action::of::<update_key_description::UpdateKeyDescription>(),
    Action::of::<create_alias::CreateAlias>(),
    Action::of::<update_alias::UpdateAlias>(),
    Action::of::<delete_alias::DeleteAlias>(),
    Action::of::<list_aliases::ListAliases>(),
    Action::of::<list_aliases_by_key_id::ListAliasesByKeyId>(),
    Action::of::<encrypt::Encrypt>(),
    Action::of::<decrypt::Decrypt>(),
    Action::of::<generate_data_key::GenerateDataKey>(),
    Action::of::<generate_data_key_without_plaintext::GenerateDataKeyWithoutPlaintext>(),
    Action::of::<re_encrypt::ReEncrypt>(),
    Action::of::<create_key_version::CreateKeyVersion>(),
    Action::of::<list_key_versions::ListKeyVersions>(),
    Action::of::<describe_key_version::DescribeKeyVersion>(),
    Action::of::<update_rotation_policy::UpdateRotationPolicy>(),
    Action::of::<tag_resource::TagResource>(),
    Action::of::<untag_resource::UntagResource>(),
    Action::of::<list_resource_tags::ListResourceTags>(),
    Action::of::<describe_regions::DescribeRegions>(),
    Action::of::<tag_resources::TagResources>(),
    Action::of::<untag_resources::UntagResources>(),
    Action::of::<list_tag_resources::ListTagResources>(),
    Action::of::<set_deletion_protection::SetDeletionProtection>(),
    Action::of::<get_key_policy::GetKeyPolicy>(),
    Action::of::<set_key_policy::SetKeyPolicy>(),
];
