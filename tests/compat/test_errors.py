"""Every documented error through the old SDK and the new SDK (three signing modes): HTTP status
and Code as each SDK surfaces them, and the native exception types the SDKs raise."""

from __future__ import annotations

import base64
import json

import pytest

from kwtest import FLAVORS, KmsError, make_client, unique


def expect_error(kms, status: int, code: str, action: str, **params) -> KmsError:
    with pytest.raises(KmsError) as ei:
        kms.call(action, **params)
    e = ei.value
    assert (e.status, e.code) == (status, code), f"{action} {params}: {e}"
    assert e.request_id, f"no RequestId surfaced: {e}"
    assert e.message, e
    return e


@pytest.fixture
def key(kms):
    return kms.call("CreateKey")["KeyMetadata"]


# --------------------------------------------------------------------------------------------
# How each SDK raises
# --------------------------------------------------------------------------------------------


def test_old_sdk_raises_server_exception(old):
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    req = old.request("DescribeKey", KeyId="00000000-0000-4000-8000-000000000000")
    with pytest.raises(ServerException) as ei:
        old.client.do_action_with_exception(req)
    e = ei.value
    assert e.get_error_code() == "Forbidden.KeyNotFound"
    assert e.get_http_status() == 404
    assert e.get_request_id()
    assert e.get_error_msg() == "The specified Key is not found."


@pytest.mark.parametrize("mode", ["v3", "v2"])
def test_new_sdk_raises_client_exception(server, mode):
    from alibabacloud_kms20160120 import models
    from alibabacloud_tea_openapi.exceptions import ClientException

    c = make_client(server, f"new-{mode}")
    with pytest.raises(ClientException) as ei:
        c.client.describe_key(models.DescribeKeyRequest(key_id="alias/" + unique("missing")))
    e = ei.value
    assert e.code == "Forbidden.AliasNotFound"
    assert e.statusCode == 404
    assert e.request_id
    assert e.data["Message"] == "The specified Alias is not found."


def test_new_sdk_v4_raises_tea_exception(server):
    from alibabacloud_kms20160120 import models
    from Tea.exceptions import TeaException

    c = make_client(server, "new-v4")
    with pytest.raises(TeaException) as ei:
        c.client.describe_key(models.DescribeKeyRequest(key_id="alias/" + unique("missing")))
    e = ei.value
    assert e.code == "Forbidden.AliasNotFound"
    assert e.data["statusCode"] == 404
    assert e.data["RequestId"]


def test_error_body_fields_via_new_sdk(server):
    """Errors carry Code, Message, RequestId, HostId, Recommend (the new SDK keeps the body)."""
    c = make_client(server, "new-v3")
    e = expect_error(c, 404, "Forbidden.KeyNotFound", "DescribeKey", KeyId="nope")
    data = e.native.data
    for f in ("Code", "Message", "RequestId", "HostId", "Recommend"):
        assert isinstance(data.get(f), str) and data[f], (f, data)


# --------------------------------------------------------------------------------------------
# Not found
# --------------------------------------------------------------------------------------------

UNKNOWN_KEY = "8a3b1c2d-0000-4000-8000-0123456789ab"


@pytest.mark.parametrize("ref", [UNKNOWN_KEY, "not-a-key-id",
                                 f"acs:kms:cn-hangzhou:1234567890:key/{UNKNOWN_KEY}"],
                         ids=["uuid", "garbage", "arn"])
def test_unknown_key(kms, ref):
    expect_error(kms, 404, "Forbidden.KeyNotFound", "DescribeKey", KeyId=ref)
    expect_error(kms, 404, "Forbidden.KeyNotFound", "Encrypt", KeyId=ref, Plaintext="x")
    expect_error(kms, 404, "Forbidden.KeyNotFound", "GenerateDataKey", KeyId=ref)
    expect_error(kms, 404, "Forbidden.KeyNotFound", "GenerateDataKeyWithoutPlaintext", KeyId=ref)
    expect_error(kms, 404, "Forbidden.KeyNotFound", "ListAliasesByKeyId", KeyId=ref)
    expect_error(kms, 404, "Forbidden.KeyNotFound", "CreateAlias",
                 AliasName=f"alias/{unique('orphan')}", KeyId=ref)


def test_update_alias_to_unknown_key(kms, key):
    alias = f"alias/{unique('upd')}"
    kms.call("CreateAlias", AliasName=alias, KeyId=key["KeyId"])
    expect_error(kms, 404, "Forbidden.KeyNotFound", "UpdateAlias", AliasName=alias,
                 KeyId=UNKNOWN_KEY)
    # Still bound to the original key.
    assert kms.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_unknown_alias(kms, key):
    alias = f"alias/{unique('nobody')}"
    expect_error(kms, 404, "Forbidden.AliasNotFound", "DescribeKey", KeyId=alias)
    expect_error(kms, 404, "Forbidden.AliasNotFound", "Encrypt", KeyId=alias, Plaintext="x")
    expect_error(kms, 404, "Forbidden.AliasNotFound", "GenerateDataKey", KeyId=alias)
    expect_error(kms, 404, "Forbidden.AliasNotFound", "UpdateAlias", AliasName=alias,
                 KeyId=key["KeyId"])
    expect_error(kms, 404, "Forbidden.AliasNotFound", "DeleteAlias", AliasName=alias)


# --------------------------------------------------------------------------------------------
# Alias rules
# --------------------------------------------------------------------------------------------


def test_duplicate_alias(kms, key):
    other = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    alias = f"alias/{unique('dup')}"
    kms.call("CreateAlias", AliasName=alias, KeyId=key["KeyId"])
    expect_error(kms, 400, "AliasAlreadyExists", "CreateAlias", AliasName=alias,
                 KeyId=key["KeyId"])
    expect_error(kms, 400, "AliasAlreadyExists", "CreateAlias", AliasName=alias, KeyId=other)
    # The existing binding is untouched.
    assert kms.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyId"] == key["KeyId"]


BAD_ALIASES = {
    "no-prefix": "my-alias",
    "wrong-prefix": "aliases/x",
    "prefix-only": "alias/",
    "too-long": "alias/" + "a" * 256,
    "space": "alias/bad name",
    "star": "alias/bad*char",
    "colon": "alias/bad:char",
    "dot": "alias/bad.char",
    "non-ascii": "alias/schlüssel",
    "reserved-acs": "alias/acs",
    "reserved-acs-prefix": "alias/acs-managed",
    "reserved-acs-path": "alias/acs/kms",
}


@pytest.mark.parametrize("name", list(BAD_ALIASES.values()), ids=list(BAD_ALIASES))
def test_bad_alias_name(kms, key, name):
    expect_error(kms, 400, "InvalidParameter", "CreateAlias", AliasName=name, KeyId=key["KeyId"])


# --------------------------------------------------------------------------------------------
# Missing / invalid parameters
# --------------------------------------------------------------------------------------------

MISSING = [
    ("DescribeKey", {}, "KeyId"),
    ("CreateAlias", {"KeyId": "K"}, "AliasName"),
    ("CreateAlias", {"AliasName": "alias/x-missing"}, "KeyId"),
    ("UpdateAlias", {"KeyId": "K"}, "AliasName"),
    ("UpdateAlias", {"AliasName": "alias/x-missing"}, "KeyId"),
    ("DeleteAlias", {}, "AliasName"),
    ("ListAliasesByKeyId", {}, "KeyId"),
    ("Encrypt", {"Plaintext": "x"}, "KeyId"),
    ("Encrypt", {"KeyId": "K"}, "Plaintext"),
    ("Decrypt", {}, "CiphertextBlob"),
    ("GenerateDataKey", {}, "KeyId"),
    ("GenerateDataKeyWithoutPlaintext", {}, "KeyId"),
]


@pytest.mark.parametrize("action,params,missing", MISSING,
                         ids=[f"{a}-{m}" for a, _, m in MISSING])
def test_missing_parameter(kms, key, action, params, missing):
    params = {k: (key["KeyId"] if v == "K" else v) for k, v in params.items()}
    e = expect_error(kms, 400, "MissingParameter", action, **params)
    assert missing in e.message, e.message


@pytest.mark.parametrize("n", [0, -1, 1025, 4096])
def test_number_of_bytes_out_of_range(kms, key, n):
    expect_error(kms, 400, "InvalidParameter", "GenerateDataKey", KeyId=key["KeyId"],
                 NumberOfBytes=n)
    expect_error(kms, 400, "InvalidParameter", "GenerateDataKeyWithoutPlaintext",
                 KeyId=key["KeyId"], NumberOfBytes=n)


def test_encrypt_plaintext_too_large(kms, key):
    kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="p" * 6144)
    expect_error(kms, 400, "InvalidParameter", "Encrypt", KeyId=key["KeyId"], Plaintext="p" * 6145)


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "EC_P256", "EC_P256K", "EC_SM2",
                                  "Aliyun_SM4"])
def test_unsupported_key_spec(kms, spec):
    before = kms.call("ListKeys", PageSize=1)["TotalCount"]
    expect_error(kms, 400, "Rejected.UnsupportedOperation", "CreateKey", KeySpec=spec)
    assert kms.call("ListKeys", PageSize=1)["TotalCount"] == before  # nothing was created


# --------------------------------------------------------------------------------------------
# Ciphertext and EncryptionContext
# --------------------------------------------------------------------------------------------


def _flip(blob: str, index: int) -> str:
    raw = bytearray(base64.b64decode(blob))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize("where,index", [("version-prefix", 5), ("iv", 40), ("ciphertext", 60),
                                         ("tag", -1)])
def test_tampered_blob(kms, key, where, index):
    enc = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="tamper me")
    expect_error(kms, 400, "InvalidParameter", "Decrypt", CiphertextBlob=_flip(enc["CiphertextBlob"], index))
    gdk = kms.call("GenerateDataKey", KeyId=key["KeyId"])
    expect_error(kms, 400, "InvalidParameter", "Decrypt", CiphertextBlob=_flip(gdk["CiphertextBlob"], index))


def test_malformed_blobs(kms, key):
    enc = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="cut me")
    raw = base64.b64decode(enc["CiphertextBlob"])
    for bad in [
        "!!!not base64!!!",
        base64.b64encode(raw[:36]).decode(),           # prefix only
        base64.b64encode(raw[:64]).decode(),           # shorter than prefix + IV + tag
        base64.b64encode(raw[:-1]).decode(),           # one byte short
        base64.b64encode(raw + b"\x00").decode(),      # one byte extra
        base64.b64encode(b"0" * 36 + raw[36:]).decode(),  # prefix that is no version id
        "Y2lwaGVy",                                    # "cipher"
    ]:
        expect_error(kms, 400, "InvalidParameter", "Decrypt", CiphertextBlob=bad)


def test_forged_blob_with_real_version_prefix(kms, key):
    """A blob naming a real key version but with random IV/ciphertext/tag must not open."""
    import os

    enc = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="forge")
    raw = base64.b64decode(enc["CiphertextBlob"])
    forged = raw[:36] + os.urandom(len(raw) - 36)
    expect_error(kms, 400, "InvalidParameter", "Decrypt",
                 CiphertextBlob=base64.b64encode(forged).decode())


def test_foreign_blob_from_another_server(kms, http_server):
    """A blob from another keywarden instance (other root key) is rejected, not crashed on."""
    other = make_client(http_server, "new-v3")
    k = other.call("CreateKey")["KeyMetadata"]["KeyId"]
    foreign = other.call("GenerateDataKey", KeyId=k)["CiphertextBlob"]
    expect_error(kms, 400, "InvalidParameter", "Decrypt", CiphertextBlob=foreign)


def test_wrong_or_missing_encryption_context(kms, key):
    ctx = {"purpose": "tls", "app": "web"}
    enc = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="ctx bound", EncryptionContext=ctx)
    gdk = kms.call("GenerateDataKey", KeyId=key["KeyId"], EncryptionContext=ctx)
    plain = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="no ctx")
    for blob in (enc["CiphertextBlob"], gdk["CiphertextBlob"]):
        expect_error(kms, 400, "InvalidParameter", "Decrypt", CiphertextBlob=blob)  # missing
        for wrong in ({"purpose": "tls", "app": "db"}, {"purpose": "tls"},
                      {"purpose": "tls", "app": "web", "extra": "1"}, {"PURPOSE": "tls", "app": "web"}):
            expect_error(kms, 400, "InvalidParameter", "Decrypt", CiphertextBlob=blob,
                         EncryptionContext=wrong)
    # A context that was not there at encryption time must not be accepted either.
    expect_error(kms, 400, "InvalidParameter", "Decrypt", CiphertextBlob=plain["CiphertextBlob"],
                 EncryptionContext={"a": "b"})
    assert kms.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"],
                    EncryptionContext=ctx)["Plaintext"] == "ctx bound"


NEW_SDK_BAD_CONTEXTS = [{"a": 1}, {"a": {"b": "c"}}, {"a": ["x"]}, {"a": None}, {"a": True}]
OLD_SDK_BAD_CONTEXTS = ["not json", "[]", '["a", "b"]', '"a string"', "42", '{"a": 1}',
                        '{"a": {"b": "c"}}', '{"a": null}', '{"a": "1"', "{'a': '1'}"]


def test_malformed_encryption_context(kms, key):
    bad = OLD_SDK_BAD_CONTEXTS if kms.flavor == "old" else NEW_SDK_BAD_CONTEXTS
    good = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="x")
    for ctx in bad:
        for action, params in (("Encrypt", {"KeyId": key["KeyId"], "Plaintext": "x"}),
                               ("GenerateDataKey", {"KeyId": key["KeyId"]}),
                               ("GenerateDataKeyWithoutPlaintext", {"KeyId": key["KeyId"]}),
                               ("Decrypt", {"CiphertextBlob": good["CiphertextBlob"]})):
            e = expect_error(kms, 400, "InvalidParameter", action, EncryptionContext=ctx, **params)
            assert "EncryptionContext" in e.message, e.message


# --------------------------------------------------------------------------------------------
# DryRun
# --------------------------------------------------------------------------------------------


def test_dry_run(kms, key):
    enc = kms.call("Encrypt", KeyId=key["KeyId"], Plaintext="real")
    for action, params in (("Encrypt", {"KeyId": key["KeyId"], "Plaintext": "dry"}),
                           ("Decrypt", {"CiphertextBlob": enc["CiphertextBlob"]}),
                           ("GenerateDataKey", {"KeyId": key["KeyId"]}),
                           ("GenerateDataKeyWithoutPlaintext", {"KeyId": key["KeyId"]})):
        e = expect_error(kms, 400, "DryRunOperationError", action, DryRun=True, **params)
        if kms.flavor.startswith("new"):
            data = e.native.data
            assert not {"Plaintext", "CiphertextBlob"} & set(data), data


def test_dry_run_does_not_hide_real_errors(kms):
    """DryRunOperationError means 'would have succeeded'; a call that would fail says why."""
    expect_error(kms, 404, "Forbidden.KeyNotFound", "Encrypt", KeyId=UNKNOWN_KEY, Plaintext="x",
                 DryRun=True)


# --------------------------------------------------------------------------------------------
# Credentials and unimplemented actions through the SDKs
# --------------------------------------------------------------------------------------------


def test_wrong_secret(server, flavor):
    ak, secret = server.credentials()
    c = make_client(server, flavor, secret=secret[::-1] + "x")
    if flavor == "old":
        # The old SDK recognises the server's string-to-sign and rewrites the error (§2.2).
        e = expect_error(c, 400, "InvalidAccessKeySecret", "DescribeRegions")
        assert "AccessKeySecret is incorrect" in e.message
    else:
        expect_error(c, 400, "SignatureDoesNotMatch", "DescribeRegions")


def test_unknown_access_key_id(server, flavor):
    c = make_client(server, flavor, ak="LTAI" + unique("nobody").replace("-", ""))
    expect_error(c, 404, "InvalidAccessKeyId.NotFound", "DescribeRegions")


# Real KMS actions (both SDKs have them) that keywarden does not serve: dedicated KMS instances,
# network rules, application access points.
@pytest.mark.parametrize("action,params", [
    ("ListKmsInstances", {"PageNumber": 1, "PageSize": 10}),
    ("ConnectKmsInstance", {"KmsInstanceId": "kst-hzz000000", "VSwitchIds": "vsw-1"}),
    ("CreateNetworkRule", {"Name": "rule", "Type": "Private", "SourcePrivateIp": '["10.0.0.1"]'}),
    ("DescribeApplicationAccessPoint", {"Name": "aap"}),
])
def test_unimplemented_actions_via_sdks(kms, action, params):
    expect_error(kms, 404, "InvalidAction.NotFound", action, **params)


def test_errors_do_not_leak_into_later_calls(kms, key):
    """After a string of errors the same client still works (no poisoned state)."""
    for _ in range(3):
        with pytest.raises(KmsError):
            kms.call("DescribeKey", KeyId="nope")
    assert kms.call("DescribeKey", KeyId=key["KeyId"])["KeyMetadata"]["KeyId"] == key["KeyId"]


def test_all_flavors_agree_on_error_codes(server):
    """The same mistake yields the same Code/status whichever SDK or signature made the call."""
    results = set()
    for f in FLAVORS:
        c = make_client(server, f)
        with pytest.raises(KmsError) as ei:
            c.call("GenerateDataKey", KeyId=json.dumps("x"), NumberOfBytes=2048)
        results.add((ei.value.status, ei.value.code))
    assert len(results) == 1, results


@pytest.mark.parametrize("new_flavor", [f for f in FLAVORS if f != "old"])
def test_recipient_in_form_body_is_rejected_cleanly(server, new_flavor):
    """The new SDK sends `Recipient.*` in an x-www-form-urlencoded body (reference §3.2); ACS3
    and ACS4 sign only the query string plus the body's hash. keywarden does not support
    attested recipients, so the answer must be the same InvalidParameter in every signing
    mode, never a signature failure caused by the form body."""
    c = make_client(server, new_flavor)
    k = c.call("CreateKey")["KeyMetadata"]["KeyId"]
    gdk = c.call("GenerateDataKey", KeyId=k)
    recipient = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": "abc"}
    e = expect_error(c, 400, "InvalidParameter", "Decrypt", CiphertextBlob=gdk["CiphertextBlob"],
                     Recipient=recipient)
    assert "Recipient" in e.message, e.message
    e = expect_error(c, 400, "InvalidParameter", "GenerateDataKey", KeyId=k, Recipient=recipient)
    assert "Recipient" in e.message, e.message
