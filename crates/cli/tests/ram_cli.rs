//! End-to-end: `keywarden ram` manages users, access keys and policies, and a RAM user's own
//! access key (given by flags) is limited by its policies in `keywarden kms`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use common::{Server, field};

#[test]
fn ram_users_keys_and_policies_from_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let server = Server::start(home.path(), &[]);
    let ram = |args: &[&str]| {
        let mut all = vec!["ram"];
        all.extend_from_slice(args);
        let out = server.cli(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let user = ram(&["CreateUser", "--UserName", "app"]);
    assert_eq!(field(&user, "User.UserName"), "app");
    ram(&[
        "AttachPolicyToUser",
        "--UserName",
        "app",
        "--PolicyType",
        "System",
        "--PolicyName",
        "AliyunKMSCryptoUserAccess",
    ]);
    let ak = ram(&["CreateAccessKey", "--UserName", "app"]);
    let (id, secret) = (
        field(&ak, "AccessKey.AccessKeyId"),
        field(&ak, "AccessKey.AccessKeySecret"),
    );
    let key_id = field(&server.kms("CreateKey", &[]), "KeyMetadata.KeyId");

    let as_app = |args: &[&str]| {
        let mut all = vec!["--access-key-id", &id, "--access-key-secret", &secret];
        all.extend_from_slice(args);
        server.cli(&all)
    };
    let out = as_app(&["kms", "GenerateDataKey", "--KeyId", &key_id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_app(&["kms", "CreateKey"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Forbidden.NoPermission"), "{stderr}");
    let out = as_app(&["ram", "ListUsers"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Forbidden.NoPermission"));

    let out = server.cli(&["ram", "GetUser", "--UserName", "nobody"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("EntityNotExist.User"));
}
