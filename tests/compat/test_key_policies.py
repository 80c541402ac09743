"""Key policies through the official KMS SDKs (old RPC v1 and new ACS3): `CreateKey` with a
`Policy` that denies is enforced, `GetKeyPolicy` returns what `SetKeyPolicy` set (and the
default policy for a key created without one), a policy locking its author out is refused,
lists leave out a key the caller is denied, and control characters in stored free text
(descriptions, tags) are refused with 400 `InvalidParameter`."""

from __future__ import annotations

import json

import pytest

from kwtest import KmsError, make_client, unique
from test_ram import expect, new_user_with_key, ram_client

FLAVORS = ("old", "new-v3")


@pytest.fixture(params=FLAVORS)
def kms(request, server):
    return make_client(server, request.param)


def account_of(kms) -> str:
    arn = kms.call("CreateKey")["KeyMetadata"]["Arn"]  # acs:kms:<region>:<account>:key/<id>
    return arn.split(":")[3]


def key_policy(effect: str, principals: list[str], actions, not_action: bool = False) -> str:
    st = {"Sid": "s", "Effect": effect, "Principal": {"RAM": principals},
          ("NotAction" if not_action else "Action"): actions, "Resource": ["*"]}
    return json.dumps({"Version": "1", "Statement": [st]})


def user_client(server, kms, *policies):
    admin = ram_client(server, "new-v3")
    name, ak, secret = new_user_with_key(admin, *policies)
    return name, make_client(server, kms.flavor, ak=ak, secret=secret)


def test_create_key_with_a_deny_policy_denies(kms, server):
    account = account_of(kms)
    name, alice = user_client(server, kms, ("System", "AliyunKMSFullAccess"))
    deny_alice = key_policy("Deny", [f"acs:ram::{account}:user/{name}"], ["kms:*"])
    key = kms.call("CreateKey", Policy=deny_alice)["KeyMetadata"]["KeyId"]
    expect(alice, 403, "Forbidden.NoPermission", "Encrypt", KeyId=key, Plaintext="aGk=")
    expect(alice, 403, "Forbidden.NoPermission", "DescribeKey", KeyId=key)
    assert kms.call("Encrypt", KeyId=key, Plaintext="aGk=")["KeyId"] == key
    # Lists leave the key out for her, not for the admin.
    mine = [k["KeyId"] for k in alice.call("ListKeys", PageSize=100)["Keys"]["Key"]]
    assert key not in mine
    tagged = alice.call("ListTagResources", ResourceType="key")
    assert all(r["ResourceId"] != key for r in tagged["TagResources"]["TagResource"])

    # Everything but managing the policy, denied to the whole account: the admin too.
    everyone = key_policy("Deny", [f"acs:ram::{account}:*"],
                          ["kms:SetKeyPolicy", "kms:GetKeyPolicy"], not_action=True)
    locked = kms.call("CreateKey", Policy=everyone)["KeyMetadata"]["KeyId"]
    expect(kms, 403, "Forbidden.NoPermission", "Encrypt", KeyId=locked, Plaintext="aGk=")
    expect(kms, 403, "Forbidden.NoPermission", "ScheduleKeyDeletion", KeyId=locked,
           PendingWindowInDays=7)
    # A policy that would deny its author SetKeyPolicy too is refused, not ignored.
    deny_all = key_policy("Deny", ["*"], ["kms:*"])
    expect(kms, 400, "InvalidParameter", "CreateKey", Policy=deny_all)
    expect(kms, 400, "InvalidParameter", "CreateKey", Policy="{not json")
    expect(kms, 400, "InvalidParameter", "CreateKey",
           Policy=json.dumps({"Version": "1", "Statement": [
               {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}]}))


def test_get_key_policy_returns_what_set_key_policy_set(kms):
    account = account_of(kms)
    key = kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    default = json.loads(kms.call("GetKeyPolicy", KeyId=key, PolicyName="default")["Policy"])
    assert default["Version"] == "1"
    assert default["Statement"][0]["Principal"] == {"RAM": [f"acs:ram::{account}:*"]}
    assert default["Statement"][0]["Action"] == ["kms:*"]

    doc = key_policy("Allow", [f"acs:ram::{account}:*"], ["kms:*"])
    pretty = json.dumps(json.loads(doc), indent=2)  # stored verbatim, whitespace included
    for policy in (doc, pretty):
        kms.call("SetKeyPolicy", KeyId=key, PolicyName="default", Policy=policy)
        assert kms.call("GetKeyPolicy", KeyId=key)["Policy"] == policy
    expect(kms, 400, "InvalidParameter", "SetKeyPolicy", KeyId=key, PolicyName="other",
           Policy=doc)
    expect(kms, 400, "InvalidParameter", "SetKeyPolicy", KeyId=key,
           Policy=key_policy("Deny", ["*"], ["kms:*"]))
    assert kms.call("GetKeyPolicy", KeyId=key)["Policy"] == pretty, "refused calls change nothing"
    expect(kms, 404, "Forbidden.KeyNotFound", "GetKeyPolicy",
           KeyId="00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize("bad", ["evil\u202etxt", "two\r\nlines", "nul\x00", "\u2066x", "tab\t"])
def test_control_characters_are_refused(kms, bad):
    e = expect(kms, 400, "InvalidParameter", "CreateKey", Description=bad)
    assert "Description" in e.message
    key = kms.call("CreateKey", Description="plain ünïcode ✓")["KeyMetadata"]["KeyId"]
    expect(kms, 400, "InvalidParameter", "UpdateKeyDescription", KeyId=key, Description=bad)
    tags = json.dumps([{"TagKey": unique("k"), "TagValue": bad}])
    expect(kms, 400, "InvalidParameter", "TagResource", KeyId=key, Tags=tags)
    tags = json.dumps([{"TagKey": bad, "TagValue": "v"}])
    expect(kms, 400, "InvalidParameter", "CreateKey", Tags=tags)
    meta = kms.call("DescribeKey", KeyId=key)["KeyMetadata"]
    assert meta["Description"] == "plain ünïcode ✓"
    assert kms.call("ListResourceTags", KeyId=key)["Tags"]["Tag"] == []
