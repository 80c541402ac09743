//! Built-in system policies (`PolicyType` `System`), named after Alibaba Cloud's so that scripts
//! written for RAM attach the same names. Their documents are ordinary policy text, returned by
//! `GetPolicy` and parsed like any custom policy.
//!
//! Deliberate differences from Alibaba Cloud, where keywarden's scope is narrower:
//!
//! - `AliyunKMSReadOnlyAccess` allows `kms:Describe*`, `kms:List*` and `kms:GetPublicKey`, not
//!   `kms:Get*`: `GetSecretValue` returns secrets and `GetParametersForImport` starts an import,
//!   neither of which is reading metadata.
//! - `AliyunKMSCryptoUserAccess` allows the cryptographic operations plus `Describe*`/`List*`
//!   (so SDKs can resolve keys and aliases), and nothing that creates, changes or deletes a key.

use super::Policy;

/// A built-in policy: its name, description and document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemPolicy {
    /// `PolicyName`.
    pub name: &'static str,
    /// `Description`.
    pub description: &'static str,
    /// `PolicyDocument`.
    pub document: &'static str,
}

impl SystemPolicy {
    /// The parsed policy. The documents are constants checked by the tests; should one ever fail
    /// to parse, the result is a policy that allows nothing (fail closed).
    pub fn policy(&self) -> Policy {
        Policy::parse(self.document).unwrap_or_else(|_| Policy::deny_all())
    }
}

/// Everything, on every product and resource. The bootstrap admin key has this policy.
pub const ADMINISTRATOR_ACCESS: SystemPolicy = SystemPolicy {
    name: "AdministratorAccess",
    description: "Full access to all keywarden resources (KMS and RAM)",
    document: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
};

/// Every KMS action on every key and alias.
pub const ALIYUN_KMS_FULL_ACCESS: SystemPolicy = SystemPolicy {
    name: "AliyunKMSFullAccess",
    description: "Full access to Key Management Service (KMS)",
    document: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
};

/// Reading KMS metadata: describe and list keys, versions and aliases.
pub const ALIYUN_KMS_READ_ONLY_ACCESS: SystemPolicy = SystemPolicy {
    name: "AliyunKMSReadOnlyAccess",
    description: "Read-only access to Key Management Service (KMS) metadata",
    document: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:Describe*","kms:List*","kms:GetPublicKey"],"Resource":"*"}]}"#,
};

/// Using keys for cryptography, without managing them.
pub const ALIYUN_KMS_CRYPTO_USER_ACCESS: SystemPolicy = SystemPolicy {
    name: "AliyunKMSCryptoUserAccess",
    description: "Use Key Management Service (KMS) keys for cryptographic operations",
    document: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["kms:Describe*","kms:List*","kms:Encrypt","kms:Decrypt","kms:ReEncrypt","kms:GenerateDataKey","kms:GenerateDataKeyWithoutPlaintext","kms:GenerateAndExportDataKey","kms:ExportDataKey","kms:AsymmetricEncrypt","kms:AsymmetricDecrypt","kms:AsymmetricSign","kms:AsymmetricVerify","kms:GetPublicKey"],"Resource":"*"}]}"#,
};

/// Every RAM action: users, access keys and policies.
pub const ALIYUN_RAM_FULL_ACCESS: SystemPolicy = SystemPolicy {
    name: "AliyunRAMFullAccess",
    description: "Full access to Resource Access Management (RAM)",
    document: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*"}]}"#,
};

/// Reading RAM: get and list users, access keys (never their secrets) and policies.
pub const ALIYUN_RAM_READ_ONLY_ACCESS: SystemPolicy = SystemPolicy {
    name: "AliyunRAMReadOnlyAccess",
    description: "Read-only access to Resource Access Management (RAM)",
    document: r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:Get*","ram:List*"],"Resource":"*"}]}"#,
};

/// Every built-in policy, for `ListPolicies` with `PolicyType=System`.
pub const SYSTEM_POLICIES: &[SystemPolicy] = &[
    ADMINISTRATOR_ACCESS,
    ALIYUN_KMS_FULL_ACCESS,
    ALIYUN_KMS_READ_ONLY_ACCESS,
    ALIYUN_KMS_CRYPTO_USER_ACCESS,
    ALIYUN_RAM_FULL_ACCESS,
    ALIYUN_RAM_READ_ONLY_ACCESS,
];

/// The built-in policy called `name` (exact spelling).
pub fn system_policy(name: &str) -> Option<&'static SystemPolicy> {
    SYSTEM_POLICIES.iter().find(|p| p.name == name)
}
