"""Key lifecycle through the official SDKs (issue 4): key states and the state matrix,
scheduled deletion and deletion protection, key versions and rotation policy, ReEncrypt,
tags (single and batch APIs with flattened lists), ListKeys Filters, DryRun, and schedules
that survive a server restart.

Time cannot move inside a real server, so the destruction of a key at the end of its window
and scheduled rotations are tested in Rust with a manual clock
(crates/server/tests/{deletion,rotation,restart}.rs); here the SDKs see the schedules being
recorded, shown and kept.

Every test that takes `kms` runs through the old SDK and the new SDK in its three signing
modes. Where the SDKs name a parameter differently (the old request classes have
`set_ResourceIds`, `set_Tags`, `set_TagKeys` for the flattened lists; the new SDK takes dicts
for encryption contexts), the local helpers below translate.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from kwtest import DATE_RE, UUID_RE, KmsError, make_client, unique

# --------------------------------------------------------------------------------------------
# Local helpers
# --------------------------------------------------------------------------------------------


def new_key(kms, **params) -> str:
    return kms.call("CreateKey", **params)["KeyMetadata"]["KeyId"]


def describe(kms, key_id: str) -> dict:
    return kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]


def expect_error(status: int, code: str, fn, *args, **kwargs) -> KmsError:
    with pytest.raises(KmsError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert (err.status, err.code) == (status, code), err
    return err


def context(kms, pairs: dict) -> object:
    """An encryption-context parameter as each SDK takes it: a JSON string for the old request
    classes, a dict for the new SDK (which serialises it itself)."""
    return json.dumps(pairs) if kms.flavor == "old" else pairs


def batch(kms, action: str, *, ids=None, tags=None, tag_keys=None, **params) -> dict:
    """A batch tag call; the lists go out flattened (`ResourceId.N`, `Tag.N.Key`, `TagKey.N`)."""
    old = kms.flavor == "old"
    if ids is not None:
        params["ResourceIds" if old else "ResourceId"] = ids
    if tags is not None:
        params["Tags" if old else "Tag"] = [{"Key": k, "Value": v} for k, v in tags]
    if tag_keys is not None:
        params["TagKeys" if old else "TagKey"] = tag_keys
    if not old:
        params.setdefault("RegionId", "cn-hangzhou")
    return kms.call(action, ResourceType="key", **params)


def parse_date(s: str) -> datetime:
    assert DATE_RE.match(s), s
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def near(a: datetime, b: datetime, seconds: int = 300) -> bool:
    return abs((a - b).total_seconds()) <= seconds


def tags_of(kms, key_id: str) -> dict:
    body = kms.call("ListResourceTags", KeyId=key_id)
    items = body["Tags"]["Tag"]
    for t in items:
        assert t["KeyId"] == key_id and set(t) == {"KeyId", "TagKey", "TagValue"}, t
    return {t["TagKey"]: t["TagValue"] for t in items}


def tag_rows(body: dict) -> list[tuple[str, str, str]]:
    assert isinstance(body["NextToken"], str), body
    rows = body["TagResources"]["TagResource"]
    for r in rows:
        assert set(r) == {"ResourceId", "ResourceType", "TagKey", "TagValue"}, r
        assert r["ResourceType"] == "key", r
    return [(r["ResourceId"], r["TagKey"], r["TagValue"]) for r in rows]


def list_keys(kms, filters: list, **params) -> tuple[list[str], int]:
    body = kms.call("ListKeys", Filters=json.dumps(filters), PageSize=100, **params)
    assert isinstance(body["TotalCount"], int), body
    return [k["KeyId"] for k in body["Keys"]["Key"]], body["TotalCount"]


# --------------------------------------------------------------------------------------------
# States
# --------------------------------------------------------------------------------------------


def test_enable_and_disable(kms):
    key = new_key(kms)
    assert kms.call("DisableKey", KeyId=key)["RequestId"]
    assert describe(kms, key)["KeyState"] == "Disabled"
    err = expect_error(409, "Rejected.Disabled", kms.call, "Encrypt", KeyId=key, Plaintext="x")
    assert "Disabled" in err.message
    kms.call("DisableKey", KeyId=key)  # idempotent
    kms.call("EnableKey", KeyId=key)
    kms.call("EnableKey", KeyId=key)
    assert describe(kms, key)["KeyState"] == "Enabled"
    assert kms.call("Encrypt", KeyId=key, Plaintext="x")["CiphertextBlob"]
    expect_error(404, "Forbidden.KeyNotFound", kms.call, "EnableKey", KeyId=unique("absent"))


def test_schedule_and_cancel_deletion(kms):
    key = new_key(kms)
    alias = f"alias/{unique('del')}"
    kms.call("CreateAlias", KeyId=key, AliasName=alias)
    blob = kms.call("Encrypt", KeyId=key, Plaintext="keep me")["CiphertextBlob"]
    before = datetime.now(timezone.utc)
    kms.call("ScheduleKeyDeletion", KeyId=alias, PendingWindowInDays=7)
    md = describe(kms, key)
    assert md["KeyState"] == "PendingDeletion"
    assert near(parse_date(md["DeleteDate"]), before + timedelta(days=7)), md["DeleteDate"]

    expect_error(409, "Rejected.PendingDeletion", kms.call, "Encrypt", KeyId=key, Plaintext="x")
    expect_error(409, "Rejected.PendingDeletion", kms.call, "Decrypt", CiphertextBlob=blob)
    expect_error(409, "Rejected.StateModifiedFailed", kms.call, "EnableKey", KeyId=key)
    expect_error(409, "Rejected.StateModifiedFailed", kms.call, "ScheduleKeyDeletion",
                 KeyId=key, PendingWindowInDays=30)
    assert describe(kms, alias)["KeyId"] == key, "aliases still resolve while pending"

    kms.call("CancelKeyDeletion", KeyId=key)
    md = describe(kms, key)
    assert (md["KeyState"], md["DeleteDate"]) == ("Enabled", "")
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == "keep me"
    expect_error(409, "Rejected.StateModifiedFailed", kms.call, "CancelKeyDeletion", KeyId=key)

    for days in (6, 367):
        expect_error(400, "InvalidParameter", kms.call, "ScheduleKeyDeletion", KeyId=key,
                     PendingWindowInDays=days)
    kms.call("DisableKey", KeyId=key)
    kms.call("ScheduleKeyDeletion", KeyId=key, PendingWindowInDays=366)
    md = describe(kms, key)
    assert near(parse_date(md["DeleteDate"]), before + timedelta(days=366)), md
    kms.call("CancelKeyDeletion", KeyId=key)
    assert describe(kms, key)["KeyState"] == "Enabled", "cancel always returns to Enabled"


def test_update_key_description(kms):
    key = new_key(kms, Description="before")
    text = f"after ü 中文 {kms.flavor}"
    kms.call("UpdateKeyDescription", KeyId=key, Description=text)
    assert describe(kms, key)["Description"] == text
    expect_error(400, "InvalidParameter", kms.call, "UpdateKeyDescription", KeyId=key,
                 Description="x" * 8193)
    kms.call("ScheduleKeyDeletion", KeyId=key, PendingWindowInDays=7)
    expect_error(409, "Rejected.PendingDeletion", kms.call, "UpdateKeyDescription", KeyId=key,
                 Description="frozen")
    kms.call("CancelKeyDeletion", KeyId=key)


def test_deletion_protection(kms):
    key = new_key(kms)
    arn = describe(kms, key)["Arn"]
    kms.call("SetDeletionProtection", ProtectedResourceArn=arn, EnableDeletionProtection=True,
             DeletionProtectionDescription="used by billing")
    md = describe(kms, key)
    assert (md["DeletionProtection"], md["DeletionProtectionDescription"]) == (
        "Enabled", "used by billing")
    expect_error(409, "Rejected.DeletionProtection", kms.call, "ScheduleKeyDeletion", KeyId=key,
                 PendingWindowInDays=7)
    assert describe(kms, key)["KeyState"] == "Enabled"
    kms.call("SetDeletionProtection", ProtectedResourceArn=arn, EnableDeletionProtection=False)
    md = describe(kms, key)
    assert (md["DeletionProtection"], md["DeletionProtectionDescription"]) == ("Disabled", "")
    kms.call("ScheduleKeyDeletion", KeyId=key, PendingWindowInDays=7)
    expect_error(409, "Rejected.PendingDeletion", kms.call, "SetDeletionProtection",
                 ProtectedResourceArn=arn, EnableDeletionProtection=True)
    kms.call("CancelKeyDeletion", KeyId=key)


# The state matrix through one SDK of each family: per action, the outcome in each state.
OK, SMF, R_D, R_PD = "OK", "Rejected.StateModifiedFailed", "Rejected.Disabled", "Rejected.PendingDeletion"
MATRIX = [
    ("DescribeKey", lambda k: {"KeyId": k}, (OK, OK, OK)),
    ("EnableKey", lambda k: {"KeyId": k}, (OK, OK, SMF)),
    ("DisableKey", lambda k: {"KeyId": k}, (OK, OK, SMF)),
    ("ScheduleKeyDeletion", lambda k: {"KeyId": k, "PendingWindowInDays": 7}, (OK, OK, SMF)),
    ("CancelKeyDeletion", lambda k: {"KeyId": k}, (SMF, SMF, OK)),
    ("Encrypt", lambda k: {"KeyId": k, "Plaintext": "p"}, (OK, R_D, R_PD)),
    ("GenerateDataKey", lambda k: {"KeyId": k}, (OK, R_D, R_PD)),
    ("GenerateDataKeyWithoutPlaintext", lambda k: {"KeyId": k}, (OK, R_D, R_PD)),
    ("CreateKeyVersion", lambda k: {"KeyId": k}, (OK, R_D, R_PD)),
    ("ListKeyVersions", lambda k: {"KeyId": k}, (OK, OK, OK)),
    ("UpdateKeyDescription", lambda k: {"KeyId": k, "Description": "d"}, (OK, OK, R_PD)),
    ("UpdateRotationPolicy",
     lambda k: {"KeyId": k, "EnableAutomaticRotation": True, "RotationInterval": "30d"},
     (OK, OK, R_PD)),
    ("TagResource", lambda k: {"KeyId": k, "Tags": '[{"TagKey":"m","TagValue":"1"}]'},
     (OK, OK, R_PD)),
    ("ListResourceTags", lambda k: {"KeyId": k}, (OK, OK, OK)),
    ("CreateAlias", lambda k: {"KeyId": k, "AliasName": f"alias/{unique('m')}"}, (OK, OK, SMF)),
]


@pytest.mark.parametrize("flavor_name", ["old", "new-v3"])
@pytest.mark.parametrize("action,params,expected", MATRIX, ids=[m[0] for m in MATRIX])
def test_state_matrix(server, flavor_name, action, params, expected):
    kms = make_client(server, flavor_name)
    for state, want in zip(("Enabled", "Disabled", "PendingDeletion"), expected):
        key = new_key(kms)
        if state == "Disabled":
            kms.call("DisableKey", KeyId=key)
        elif state == "PendingDeletion":
            kms.call("ScheduleKeyDeletion", KeyId=key, PendingWindowInDays=7)
        try:
            kms.call(action, **params(key))
            got = OK
        except KmsError as e:
            assert e.status == 409, e
            got = e.code
        assert got == want, f"{action} on a {state} key"


# --------------------------------------------------------------------------------------------
# Versions and rotation
# --------------------------------------------------------------------------------------------


def test_key_versions(kms):
    key = new_key(kms)
    md = describe(kms, key)
    first = md["PrimaryKeyVersion"]
    old_blob = kms.call("Encrypt", KeyId=key, Plaintext="v1 data")["CiphertextBlob"]

    created = kms.call("CreateKeyVersion", KeyId=key)["KeyVersion"]
    assert set(created) == {"KeyId", "KeyVersionId", "CreationDate"}, created
    assert created["KeyId"] == key and UUID_RE.match(created["KeyVersionId"])
    assert near(parse_date(created["CreationDate"]), datetime.now(timezone.utc))
    second = created["KeyVersionId"]
    md = describe(kms, key)
    assert md["PrimaryKeyVersion"] == second
    assert md["LastRotationDate"] == created["CreationDate"]

    enc = kms.call("Encrypt", KeyId=key, Plaintext="v2 data")
    assert enc["KeyVersionId"] == second, "Encrypt uses the current primary version"
    assert kms.call("GenerateDataKey", KeyId=key)["KeyVersionId"] == second
    dec = kms.call("Decrypt", CiphertextBlob=old_blob)
    assert (dec["KeyVersionId"], dec["Plaintext"]) == (first, "v1 data")
    assert kms.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])["KeyVersionId"] == second

    third = kms.call("CreateKeyVersion", KeyId=key)["KeyVersion"]["KeyVersionId"]
    body = kms.call("ListKeyVersions", KeyId=key, PageNumber=1, PageSize=2)
    assert (body["TotalCount"], body["PageNumber"], body["PageSize"]) == (3, 1, 2)
    assert all(isinstance(body[f], int) for f in ("TotalCount", "PageNumber", "PageSize"))
    page1 = [v["KeyVersionId"] for v in body["KeyVersions"]["KeyVersion"]]
    body = kms.call("ListKeyVersions", KeyId=key, PageNumber=2, PageSize=2)
    page2 = [v["KeyVersionId"] for v in body["KeyVersions"]["KeyVersion"]]
    assert page1 + page2 == [first, second, third], "oldest first, in pages"

    described = kms.call("DescribeKeyVersion", KeyId=key, KeyVersionId=first)["KeyVersion"]
    assert described == {"KeyId": key, "KeyVersionId": first, "CreationDate": md["CreationDate"]}
    other_version = describe(kms, new_key(kms))["PrimaryKeyVersion"]
    expect_error(404, "Forbidden.KeyVersionNotFound", kms.call, "DescribeKeyVersion", KeyId=key,
                 KeyVersionId=other_version)


def test_rotation_policy(kms):
    key = new_key(kms)
    kms.call("UpdateRotationPolicy", KeyId=key, EnableAutomaticRotation=True,
             RotationInterval="7d")
    md = describe(kms, key)
    assert (md["AutomaticRotation"], md["RotationInterval"]) == ("Enabled", "604800s"), md
    assert parse_date(md["NextRotationDate"]) == parse_date(md["LastRotationDate"]) + timedelta(
        days=7)

    kms.call("UpdateRotationPolicy", KeyId=key, EnableAutomaticRotation=True,
             RotationInterval="8760h")
    md = describe(kms, key)
    assert md["RotationInterval"] == "31536000s", md
    kms.call("CreateKeyVersion", KeyId=key)
    md = describe(kms, key)
    assert parse_date(md["NextRotationDate"]) == parse_date(md["LastRotationDate"]) + timedelta(
        days=365), "an on-demand rotation restarts the interval"

    kms.call("UpdateRotationPolicy", KeyId=key, EnableAutomaticRotation=False)
    md = describe(kms, key)
    assert md["AutomaticRotation"] == "Disabled"
    assert not md.get("RotationInterval") and not md.get("NextRotationDate"), md

    expect_error(400, "MissingParameter", kms.call, "UpdateRotationPolicy", KeyId=key,
                 EnableAutomaticRotation=True)
    for bad in ("6d", "731d", "7w", "d"):
        expect_error(400, "InvalidParameter", kms.call, "UpdateRotationPolicy", KeyId=key,
                     EnableAutomaticRotation=True, RotationInterval=bad)

    created = kms.call("CreateKey", EnableAutomaticRotation=True, RotationInterval="30d")
    assert created["KeyMetadata"]["RotationInterval"] == "2592000s"


# --------------------------------------------------------------------------------------------
# ReEncrypt and DryRun
# --------------------------------------------------------------------------------------------


def test_re_encrypt(kms):
    source, dest = new_key(kms), new_key(kms)
    dest_version = describe(kms, dest)["PrimaryKeyVersion"]
    src_ctx, dst_ctx = {"app": "a", "n": "1"}, {"app": "b"}
    blob = kms.call("Encrypt", KeyId=source, Plaintext="moving data",
                    EncryptionContext=context(kms, src_ctx))["CiphertextBlob"]

    body = kms.call("ReEncrypt", CiphertextBlob=blob, DestinationKeyId=dest,
                    SourceEncryptionContext=context(kms, src_ctx),
                    DestinationEncryptionContext=context(kms, dst_ctx))
    assert (body["KeyId"], body["KeyVersionId"]) == (dest, dest_version), body
    moved = body["CiphertextBlob"]
    dec = kms.call("Decrypt", CiphertextBlob=moved, EncryptionContext=context(kms, dst_ctx))
    assert (dec["KeyId"], dec["Plaintext"]) == (dest, "moving data")
    expect_error(400, "InvalidParameter", kms.call, "Decrypt", CiphertextBlob=moved,
                 EncryptionContext=context(kms, src_ctx))

    # Same key, new context; the source found from the blob, checked against SourceKeyId.
    again = kms.call("ReEncrypt", CiphertextBlob=blob, DestinationKeyId=source,
                     SourceKeyId=source, SourceEncryptionContext=context(kms, src_ctx))
    assert kms.call("Decrypt", CiphertextBlob=again["CiphertextBlob"])["Plaintext"] == "moving data"

    expect_error(400, "InvalidParameter", kms.call, "ReEncrypt", CiphertextBlob=blob,
                 DestinationKeyId=dest, SourceEncryptionContext=context(kms, {"app": "x"}))
    expect_error(400, "InvalidParameter", kms.call, "ReEncrypt", CiphertextBlob=blob,
                 DestinationKeyId=dest, SourceKeyId=dest,
                 SourceEncryptionContext=context(kms, src_ctx))
    expect_error(404, "Forbidden.KeyNotFound", kms.call, "ReEncrypt", CiphertextBlob=blob,
                 DestinationKeyId=unique("absent"), SourceEncryptionContext=context(kms, src_ctx))
    expect_error(400, "MissingParameter", kms.call, "ReEncrypt", CiphertextBlob=blob)
    expect_error(400, "DryRunOperationError", kms.call, "ReEncrypt", CiphertextBlob=blob,
                 DestinationKeyId=dest, SourceEncryptionContext=context(kms, src_ctx),
                 DryRun="true")
    kms.call("DisableKey", KeyId=dest)
    expect_error(409, "Rejected.Disabled", kms.call, "ReEncrypt", CiphertextBlob=blob,
                 DestinationKeyId=dest, SourceEncryptionContext=context(kms, src_ctx))


def test_dry_run_validates_and_does_nothing(kms):
    key = new_key(kms)
    blob = kms.call("Encrypt", KeyId=key, Plaintext="p")["CiphertextBlob"]
    versions_before = kms.call("ListKeyVersions", KeyId=key)["TotalCount"]
    calls = [
        ("Encrypt", {"KeyId": key, "Plaintext": "p"}),
        ("Decrypt", {"CiphertextBlob": blob}),
        ("GenerateDataKey", {"KeyId": key}),
        ("GenerateDataKeyWithoutPlaintext", {"KeyId": key}),
        ("ReEncrypt", {"CiphertextBlob": blob, "DestinationKeyId": key}),
    ]
    for action, params in calls:
        err = expect_error(400, "DryRunOperationError", kms.call, action, DryRun="true", **params)
        assert err.request_id, err
    # Validation still happens: a bad parameter or a refused state wins over DryRun.
    expect_error(400, "InvalidParameter", kms.call, "GenerateDataKey", KeyId=key,
                 NumberOfBytes=2000, DryRun="true")
    expect_error(400, "InvalidParameter", kms.call, "Decrypt", CiphertextBlob="bm90IGEgYmxvYg==",
                 DryRun="true")
    kms.call("DisableKey", KeyId=key)
    expect_error(409, "Rejected.Disabled", kms.call, "Encrypt", KeyId=key, Plaintext="p",
                 DryRun="true")
    assert kms.call("ListKeyVersions", KeyId=key)["TotalCount"] == versions_before


# --------------------------------------------------------------------------------------------
# Tags
# --------------------------------------------------------------------------------------------


def test_tag_untag_list_one_key(kms):
    key = new_key(kms)
    kms.call("TagResource", KeyId=key,
             Tags=json.dumps([{"TagKey": "env", "TagValue": "prod"},
                              {"TagKey": "team", "TagValue": "a b/c=d"}]))
    assert tags_of(kms, key) == {"env": "prod", "team": "a b/c=d"}
    kms.call("TagResource", KeyId=key, Tags='[{"TagKey":"env","TagValue":"dev"}]')
    assert tags_of(kms, key) == {"env": "dev", "team": "a b/c=d"}
    kms.call("UntagResource", KeyId=key, TagKeys='["team", "absent"]')
    assert tags_of(kms, key) == {"env": "dev"}

    expect_error(400, "InvalidParameter", kms.call, "TagResource", KeyId=key,
                 Tags='[{"TagKey":"aliyun:x","TagValue":"1"}]')
    expect_error(400, "InvalidParameter", kms.call, "TagResource", KeyId=key, Tags="not json")
    expect_error(400, "InvalidParameter", kms.call, "TagResource", SecretName="s",
                 Tags='[{"TagKey":"k","TagValue":"v"}]')
    expect_error(400, "MissingParameter", kms.call, "UntagResource", KeyId=key)
    expect_error(404, "Forbidden.KeyNotFound", kms.call, "ListResourceTags",
                 KeyId=unique("absent"))
    too_many = json.dumps([{"TagKey": f"k{i}", "TagValue": "v"} for i in range(21)])
    expect_error(400, "InvalidParameter", kms.call, "TagResource", KeyId=key, Tags=too_many)


def test_batch_tags(kms):
    k1, k2, k3 = new_key(kms), new_key(kms), new_key(kms)
    marker = unique("batch")
    batch(kms, "TagResources", ids=[k1, k2], tags=[(marker, "x"), ("env", "prod")])
    batch(kms, "TagResources", ids=[k3], tags=[(marker, "y")])
    assert tags_of(kms, k1) == {marker: "x", "env": "prod"}
    assert tags_of(kms, k2) == {marker: "x", "env": "prod"}

    listed = tag_rows(batch(kms, "ListTagResources", ids=[k2, k1]))
    assert sorted(listed) == sorted([(k1, marker, "x"), (k1, "env", "prod"),
                                     (k2, marker, "x"), (k2, "env", "prod")])
    by_tag = tag_rows(batch(kms, "ListTagResources", tags=[(marker, "x")]))
    assert sorted(by_tag) == sorted([(k1, marker, "x"), (k2, marker, "x")])
    # A tag without a value matches any value (the new SDK sends only Tag.N.Key).
    if kms.flavor != "old":
        any_value = tag_rows(kms.call("ListTagResources", ResourceType="key",
                                      RegionId="cn-hangzhou", Tag=[{"Key": marker}]))
        assert {r[0] for r in any_value} == {k1, k2, k3}

    batch(kms, "UntagResources", ids=[k1, k2], tag_keys=["env"])
    assert tags_of(kms, k1) == {marker: "x"}
    batch(kms, "UntagResources", ids=[k1, k3], All=True)
    assert tags_of(kms, k1) == {} and tags_of(kms, k3) == {}
    assert tags_of(kms, k2) == {marker: "x"}

    expect_error(400, "MissingParameter", batch, kms, "TagResources", ids=[k1])
    expect_error(400, "MissingParameter", batch, kms, "UntagResources", ids=[k1])
    expect_error(404, "Forbidden.KeyNotFound", batch, kms, "TagResources",
                 ids=[k1, unique("absent")], tags=[("a", "b")])
    assert tags_of(kms, k1) == {}, "a refused batch writes nothing"
    with pytest.raises(KmsError) as info:
        kms.call("TagResources", ResourceType="secret",
                 **({"ResourceIds": [k1], "Tags": [{"Key": "a", "Value": "b"}]}
                    if kms.flavor == "old" else
                    {"ResourceId": [k1], "Tag": [{"Key": "a", "Value": "b"}],
                     "RegionId": "cn-hangzhou"}))
    assert (info.value.status, info.value.code) == (400, "InvalidParameter")


def test_list_tag_resources_pages(kms):
    keys = [new_key(kms) for _ in range(11)]
    tags = [(f"t{i:02}", f"v{i}") for i in range(20)]
    batch(kms, "TagResources", ids=keys, tags=tags)
    expected = sorted((k, t, v) for k in keys for t, v in tags)

    first = batch(kms, "ListTagResources", ids=keys)
    rows = tag_rows(first)
    assert len(rows) == 200 and first["NextToken"], "200 rows a page, then a token"
    second = batch(kms, "ListTagResources", ids=keys, NextToken=first["NextToken"])
    rows += tag_rows(second)
    assert second["NextToken"] == "", "the last page has an empty token"
    assert sorted(rows) == expected and len(set(rows)) == len(rows) == 220
    expect_error(400, "InvalidParameter", batch, kms, "ListTagResources", ids=keys,
                 NextToken="garbage!")


# --------------------------------------------------------------------------------------------
# ListKeys filters
# --------------------------------------------------------------------------------------------


def test_list_keys_filters(kms):
    marker = unique("flt")
    a, b, c = new_key(kms), new_key(kms), new_key(kms)
    for key, value in ((a, "red"), (b, "red"), (c, "blue")):
        kms.call("TagResource", KeyId=key, Tags=json.dumps([{"TagKey": marker, "TagValue": value}]))
    kms.call("DisableKey", KeyId=b)

    mine = {"Key": "TagKey", "Values": [marker]}
    ids, total = list_keys(kms, [mine])
    assert set(ids) == {a, b, c} and total == 3
    assert set(list_keys(kms, [mine, {"Key": "KeyState", "Values": ["Enabled"]}])[0]) == {a, c}
    two_entries = [mine, {"Key": "KeyState", "Values": ["Disabled"]},
                   {"Key": "KeyState", "Values": ["PendingDeletion"]}]
    assert list_keys(kms, two_entries) == ([b], 1), "values of repeated keys are OR-ed"
    assert set(list_keys(kms, [mine, {"Key": "TagValue", "Values": ["red"]}])[0]) == {a, b}
    assert list_keys(kms, [mine, {"Key": "KeySpec", "Values": ["Aliyun_AES_128"]}]) == ([], 0)
    spec_usage = [mine, {"Key": "KeySpec", "Values": ["Aliyun_AES_256"]},
                  {"Key": "KeyUsage", "Values": ["ENCRYPT/DECRYPT"]},
                  {"Key": "ProtectionLevel", "Values": ["SOFTWARE"]},
                  {"Key": "CreatorType", "Values": ["User"]}]
    assert set(list_keys(kms, spec_usage)[0]) == {a, b, c}
    assert list_keys(kms, [{"Key": "keyId", "Values": [c]}]) == ([c], 1)

    body = kms.call("ListKeys", Filters=json.dumps([mine]), PageSize=2, PageNumber=2)
    assert (body["TotalCount"], len(body["Keys"]["Key"])) == (3, 1), "pages within the filter"

    for bad in ("not json", '{"Key":"KeyState"}', '[{"Key":"Color","Values":["red"]}]',
                '[{"Key":"KeyState","Values":["enabled"]}]'):
        expect_error(400, "InvalidParameter", kms.call, "ListKeys", Filters=bad)


# --------------------------------------------------------------------------------------------
# Restart
# --------------------------------------------------------------------------------------------


def test_schedules_survive_restart(start_server, tmp_path):
    data = tmp_path / "restart-data"
    first = start_server(data, tls=False)
    kms = make_client(first, "new-v3")
    doomed, rotating = new_key(kms), new_key(kms)
    kms.call("ScheduleKeyDeletion", KeyId=doomed, PendingWindowInDays=10)
    kms.call("UpdateRotationPolicy", KeyId=rotating, EnableAutomaticRotation=True,
             RotationInterval="14d")
    kms.call("TagResource", KeyId=rotating, Tags='[{"TagKey":"kept","TagValue":"yes"}]')
    before = (describe(kms, doomed), describe(kms, rotating))
    assert first.stop() == 0

    second = start_server(data, tls=False)
    for flavor in ("old", "new-v4"):
        kms = make_client(second, flavor)
        after = (describe(kms, doomed), describe(kms, rotating))
        assert after == before
        assert after[0]["KeyState"] == "PendingDeletion" and after[0]["DeleteDate"]
        assert after[1]["NextRotationDate"] and after[1]["RotationInterval"] == "1209600s"
        assert tags_of(kms, rotating) == {"kept": "yes"}
    kms.call("CancelKeyDeletion", KeyId=doomed)
    assert describe(kms, doomed)["KeyState"] == "Enabled"
