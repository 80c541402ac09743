"""RAM (product Ram, version 2015-05-01) through the official RAM SDKs, unchanged: the old SDK
(aliyun-python-sdk-ram, RPC v1 signatures) and the new one (alibabacloud-ram20150501, ACS3 by
default and RPC v1 with signature_algorithm='v2'). Users, access keys, policies and their
versions, attachments: every action, its response shape and its error codes. Then what the
policies do to KMS calls through both KMS SDKs: crypto-only users, a policy on one key, Deny
precedence, and access keys deactivated or deleted under an open connection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kwtest import DATE_RE, KmsError, Server, _snake, make_client, unique

RAM_FLAVORS = ("old", "new-v3", "new-v2")
KMS_FLAVORS = ("old", "new-v3", "new-v2", "new-v4")

SYSTEM_POLICIES = {
    "AdministratorAccess",
    "AliyunKMSFullAccess",
    "AliyunKMSReadOnlyAccess",
    "AliyunKMSCryptoUserAccess",
    "AliyunRAMFullAccess",
    "AliyunRAMReadOnlyAccess",
}


# --------------------------------------------------------------------------------------------
# RAM clients behind one interface (the recipes of kwtest's KMS clients)
# --------------------------------------------------------------------------------------------


class OldRam:
    """`AcsClient` + `aliyunsdkram` request classes, `req.set_endpoint(host)`."""

    flavor = "old"

    def __init__(self, server: Server, ak: str | None = None, secret: str | None = None):
        from aliyunsdkcore.client import AcsClient

        dak, dsecret = server.credentials()
        self.server = server
        self.client = AcsClient(ak or dak, secret or dsecret, "cn-hangzhou",
                                verify=server.ca if server.tls else None)

    def call(self, action: str, **params: Any) -> dict:
        import importlib

        from aliyunsdkcore.acs_exception.exceptions import ServerException
        from aliyunsdkcore.http import protocol_type

        mod = importlib.import_module(f"aliyunsdkram.request.v20150501.{action}Request")
        req = getattr(mod, f"{action}Request")()
        req.set_endpoint(self.server.host)
        req.set_protocol_type(protocol_type.HTTPS if self.server.tls else protocol_type.HTTP)
        for name, value in params.items():
            getattr(req, f"set_{name}")(value)
        try:
            body = self.client.do_action_with_exception(req)
        except ServerException as e:
            raise KmsError(self.flavor, e.get_error_code(), e.get_http_status(),
                           e.get_error_msg(), e.get_request_id(), e) from None
        return json.loads(body)


class NewRam:
    """`alibabacloud_ram20150501.client.Client` with `Config(endpoint=host, protocol, ca)`."""

    def __init__(self, server: Server, mode: str = "v3", ak: str | None = None,
                 secret: str | None = None):
        from alibabacloud_ram20150501.client import Client
        from alibabacloud_tea_openapi import models as open_api_models

        dak, dsecret = server.credentials()
        self.flavor = f"new-{mode}"
        kw: dict[str, Any] = dict(
            access_key_id=ak or dak, access_key_secret=secret or dsecret,
            endpoint=server.host, protocol="https" if server.tls else "http",
            region_id="cn-hangzhou",
        )
        if server.tls:
            kw["ca"] = server.ca
        if mode == "v2":
            kw["signature_algorithm"] = "v2"
        self.client = Client(open_api_models.Config(**kw))

    def call(self, action: str, **params: Any) -> dict:
        from alibabacloud_ram20150501 import models

        method = getattr(self.client, _snake(action))
        try:
            req = getattr(models, f"{action}Request")().from_map(params)
            resp = method(req)
        except Exception as e:  # noqa: BLE001 - normalised below
            code = getattr(e, "code", None)
            if code is None:
                raise
            data = getattr(e, "data", None) or {}
            status = getattr(e, "statusCode", None) or data.get("statusCode")
            raise KmsError(self.flavor, code, status, data.get("Message") or str(e),
                           getattr(e, "request_id", None) or data.get("RequestId"), e) from None
        return resp.body.to_map()


def ram_client(server: Server, flavor: str, **kw: Any) -> OldRam | NewRam:
    return OldRam(server, **kw) if flavor == "old" else NewRam(server, flavor[4:], **kw)


@pytest.fixture(params=RAM_FLAVORS)
def ram(request, server):
    return ram_client(server, request.param)


@pytest.fixture
def admin_ram(server):
    return ram_client(server, "new-v3")


def expect(client, status: int, code: str, action: str, **params) -> KmsError:
    with pytest.raises(KmsError) as ei:
        client.call(action, **params)
    e = ei.value
    assert (e.status, e.code) == (status, code), f"{action} {params}: {e}"
    assert e.request_id, e
    return e


def doc(effect: str, actions, resources, condition: dict | None = None) -> str:
    st: dict[str, Any] = {"Effect": effect, "Action": actions, "Resource": resources}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "1", "Statement": [st]})


def new_user_with_key(admin, *policies: tuple[str, str]) -> tuple[str, str, str]:
    """A user with these (PolicyType, PolicyName) attached and one access key."""
    name = unique("u")
    admin.call("CreateUser", UserName=name)
    for ptype, pname in policies:
        admin.call("AttachPolicyToUser", UserName=name, PolicyType=ptype, PolicyName=pname)
    ak = admin.call("CreateAccessKey", UserName=name)["AccessKey"]
    return name, ak["AccessKeyId"], ak["AccessKeySecret"]


def custom_policy(admin, document: str) -> str:
    name = unique("p")
    admin.call("CreatePolicy", PolicyName=name, PolicyDocument=document)
    return name


# --------------------------------------------------------------------------------------------
# RAM actions through both SDKs
# --------------------------------------------------------------------------------------------


def test_bootstrap_admin_is_a_ram_user(ram, server):
    user = ram.call("GetUser", UserName="admin")["User"]
    assert user["UserName"] == "admin" and user["UserId"].isdigit()
    attached = ram.call("ListPoliciesForUser", UserName="admin")["Policies"]["Policy"]
    assert [(p["PolicyType"], p["PolicyName"]) for p in attached] == [
        ("System", "AdministratorAccess")]
    keys = ram.call("ListAccessKeys")["AccessKeys"]["AccessKey"]  # UserName: the caller
    assert server.ak in [k["AccessKeyId"] for k in keys]
    assert all("AccessKeySecret" not in k for k in keys)


def test_users(ram):
    name = unique("user")
    created = ram.call("CreateUser", UserName=name, DisplayName="Alice A", Email="a@example.com",
                       MobilePhone="86-18600008888", Comments="first")
    assert created["RequestId"]
    u = created["User"]
    assert {k: u[k] for k in ("UserName", "DisplayName", "Email", "MobilePhone", "Comments")} == {
        "UserName": name, "DisplayName": "Alice A", "Email": "a@example.com",
        "MobilePhone": "86-18600008888", "Comments": "first"}
    assert u["UserId"].isdigit() and len(u["UserId"]) == 16
    assert DATE_RE.match(u["CreateDate"])

    got = ram.call("GetUser", UserName=name)["User"]
    assert got["UserId"] == u["UserId"] and DATE_RE.match(got["UpdateDate"])

    renamed = name + "-b"
    upd = ram.call("UpdateUser", UserName=name, NewUserName=renamed, NewDisplayName="Bee",
                   NewComments="second")["User"]
    assert (upd["UserName"], upd["DisplayName"], upd["Comments"], upd["Email"]) == (
        renamed, "Bee", "second", "a@example.com")
    assert upd["UserId"] == u["UserId"]
    expect(ram, 404, "EntityNotExist.User", "GetUser", UserName=name)

    # Paging: MaxItems and Marker walk every user exactly once.
    seen, marker = [], None
    while True:
        params: dict[str, Any] = {"MaxItems": 2}
        if marker:
            params["Marker"] = marker
        page = ram.call("ListUsers", **params)
        users = page["Users"]["User"]
        assert len(users) <= 2
        seen += [x["UserName"] for x in users]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert renamed in seen and "admin" in seen and len(seen) == len(set(seen))
    assert seen == sorted(seen)

    ram.call("DeleteUser", UserName=renamed)
    expect(ram, 404, "EntityNotExist.User", "DeleteUser", UserName=renamed)


def test_user_errors(ram):
    name = unique("user")
    ram.call("CreateUser", UserName=name)
    expect(ram, 409, "EntityAlreadyExists.User", "CreateUser", UserName=name)
    expect(ram, 400, "InvalidParameter.UserName.InvalidChars", "CreateUser", UserName="a b")
    expect(ram, 400, "InvalidParameter.UserName.Length", "CreateUser", UserName="a" * 65)
    expect(ram, 400, "InvalidParameter.Email.Format", "CreateUser", UserName=unique("u"),
           Email="not-an-email")
    expect(ram, 400, "InvalidParameter.MobilePhone.Format", "CreateUser",
           UserName=unique("u"), MobilePhone="18600008888")
    expect(ram, 400, "InvalidParameter.Comments.Length", "CreateUser", UserName=unique("u"),
           Comments="c" * 129)
    expect(ram, 409, "EntityAlreadyExists.User", "UpdateUser", UserName=name,
           NewUserName="admin")
    expect(ram, 404, "EntityNotExist.User", "UpdateUser", UserName=unique("none"),
           NewDisplayName="x")
    ram.call("DeleteUser", UserName=name)


def test_access_keys(ram, server):
    name = unique("user")
    ram.call("CreateUser", UserName=name)
    first = ram.call("CreateAccessKey", UserName=name)["AccessKey"]
    assert first["Status"] == "Active" and DATE_RE.match(first["CreateDate"])
    assert first["AccessKeyId"].startswith("KW") and len(first["AccessKeySecret"]) == 30
    second = ram.call("CreateAccessKey", UserName=name)["AccessKey"]
    expect(ram, 409, "LimitExceeded.User.AccessKey", "CreateAccessKey", UserName=name)
    listed = ram.call("ListAccessKeys", UserName=name)["AccessKeys"]["AccessKey"]
    assert {k["AccessKeyId"] for k in listed} == {first["AccessKeyId"], second["AccessKeyId"]}
    assert all(set(k) == {"AccessKeyId", "Status", "CreateDate"} for k in listed)

    ram.call("UpdateAccessKey", UserName=name, UserAccessKeyId=first["AccessKeyId"],
             Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"]
                for k in ram.call("ListAccessKeys", UserName=name)["AccessKeys"]["AccessKey"]}
    assert statuses == {first["AccessKeyId"]: "Inactive", second["AccessKeyId"]: "Active"}
    expect(ram, 400, "InvalidParameter.Status.Format", "UpdateAccessKey", UserName=name,
           UserAccessKeyId=first["AccessKeyId"], Status="Disabled")
    # Another user's key, or one that does not exist, is not this user's key.
    expect(ram, 404, "EntityNotExist.User.AccessKey", "UpdateAccessKey", UserName=name,
           UserAccessKeyId=server.ak, Status="Inactive")
    expect(ram, 404, "EntityNotExist.User.AccessKey", "DeleteAccessKey", UserName=name,
           UserAccessKeyId="KWnope")
    expect(ram, 404, "EntityNotExist.User", "CreateAccessKey", UserName=unique("none"))

    expect(ram, 409, "DeleteConflict.User.AccessKey", "DeleteUser", UserName=name)
    for k in (first, second):
        ram.call("DeleteAccessKey", UserName=name, UserAccessKeyId=k["AccessKeyId"])
    assert ram.call("ListAccessKeys", UserName=name)["AccessKeys"]["AccessKey"] == []
    ram.call("AttachPolicyToUser", UserName=name, PolicyType="System",
             PolicyName="AliyunKMSReadOnlyAccess")
    expect(ram, 409, "DeleteConflict.User.Policy", "DeleteUser", UserName=name)
    ram.call("DetachPolicyFromUser", UserName=name, PolicyType="System",
             PolicyName="AliyunKMSReadOnlyAccess")
    ram.call("DeleteUser", UserName=name)


def test_policies_and_versions(ram):
    name = unique("pol")
    d1 = doc("Allow", ["kms:Describe*"], "*")
    created = ram.call("CreatePolicy", PolicyName=name, PolicyDocument=d1,
                       Description="read keys")["Policy"]
    assert {k: created[k] for k in ("PolicyName", "PolicyType", "Description",
                                    "DefaultVersion")} == {
        "PolicyName": name, "PolicyType": "Custom", "Description": "read keys",
        "DefaultVersion": "v1"}
    assert DATE_RE.match(created["CreateDate"])
    expect(ram, 409, "EntityAlreadyExists.Policy", "CreatePolicy", PolicyName=name,
           PolicyDocument=d1)

    got = ram.call("GetPolicy", PolicyName=name, PolicyType="Custom")
    assert got["Policy"]["PolicyDocument"] == d1
    assert got["Policy"]["AttachmentCount"] == 0
    assert got["DefaultPolicyVersion"]["VersionId"] == "v1"
    assert got["DefaultPolicyVersion"]["IsDefaultVersion"] is True
    assert got["DefaultPolicyVersion"]["PolicyDocument"] == d1

    d2 = doc("Allow", ["kms:List*"], "*")
    v2 = ram.call("CreatePolicyVersion", PolicyName=name, PolicyDocument=d2)["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"], v2["PolicyDocument"]) == ("v2", False, d2)
    v3 = ram.call("CreatePolicyVersion", PolicyName=name, PolicyDocument=d2,
                  SetAsDefault=True)["PolicyVersion"]
    assert (v3["VersionId"], v3["IsDefaultVersion"]) == ("v3", True)
    assert ram.call("GetPolicy", PolicyName=name,
                    PolicyType="Custom")["Policy"]["DefaultVersion"] == "v3"
    for _ in range(2):
        ram.call("CreatePolicyVersion", PolicyName=name, PolicyDocument=d1)
    expect(ram, 409, "LimitExceeded.Policy.Version", "CreatePolicyVersion", PolicyName=name,
           PolicyDocument=d1)
    v6 = ram.call("CreatePolicyVersion", PolicyName=name, PolicyDocument=d1,
                  RotateStrategy="DeleteOldestNonDefaultVersionWhenLimitExceeded")["PolicyVersion"]
    assert v6["VersionId"] == "v6"
    versions = ram.call("ListPolicyVersions", PolicyName=name,
                        PolicyType="Custom")["PolicyVersions"]["PolicyVersion"]
    assert [v["VersionId"] for v in versions] == ["v2", "v3", "v4", "v5", "v6"]
    assert [v["IsDefaultVersion"] for v in versions] == [False, True, False, False, False]

    pv = ram.call("GetPolicyVersion", PolicyName=name, PolicyType="Custom",
                  VersionId="v2")["PolicyVersion"]
    assert (pv["VersionId"], pv["IsDefaultVersion"], pv["PolicyDocument"]) == ("v2", False, d2)
    expect(ram, 404, "EntityNotExist.Policy.Version", "GetPolicyVersion", PolicyName=name,
           PolicyType="Custom", VersionId="v1")
    expect(ram, 409, "DeleteConflict.Policy.Version.Default", "DeletePolicyVersion",
           PolicyName=name, VersionId="v3")
    ram.call("SetDefaultPolicyVersion", PolicyName=name, VersionId="v2")
    ram.call("DeletePolicyVersion", PolicyName=name, VersionId="v3")
    expect(ram, 404, "EntityNotExist.Policy.Version", "SetDefaultPolicyVersion",
           PolicyName=name, VersionId="v3")

    expect(ram, 409, "DeleteConflict.Policy.Version", "DeletePolicy", PolicyName=name)
    ram.call("DeletePolicy", PolicyName=name, CascadingDelete=True)
    expect(ram, 404, "EntityNotExist.Policy", "GetPolicy", PolicyName=name, PolicyType="Custom")


def test_policy_errors(ram):
    expect(ram, 400, "MalformedPolicyDocument", "CreatePolicy", PolicyName=unique("p"),
           PolicyDocument='{"Version":"1"}')
    expect(ram, 400, "MalformedPolicyDocument", "CreatePolicy", PolicyName=unique("p"),
           PolicyDocument=doc("Permit", "kms:*", "*"))
    expect(ram, 400, "InvalidParameter.PolicyName.InvalidChars", "CreatePolicy",
           PolicyName="bad_name", PolicyDocument=doc("Allow", "kms:*", "*"))
    expect(ram, 400, "InvalidParameter.PolicyDocument.Length", "CreatePolicy",
           PolicyName=unique("p"), PolicyDocument=" " * 6145)
    expect(ram, 409, "EntityAlreadyExists.Policy", "CreatePolicy",
           PolicyName="AdministratorAccess", PolicyDocument=doc("Allow", "kms:*", "*"))
    expect(ram, 404, "EntityNotExist.Policy", "GetPolicy", PolicyName=unique("none"),
           PolicyType="Custom")
    expect(ram, 404, "EntityNotExist.Policy", "DeletePolicy", PolicyName=unique("none"))
    expect(ram, 404, "EntityNotExist.Policy", "CreatePolicyVersion", PolicyName=unique("none"),
           PolicyDocument=doc("Allow", "kms:*", "*"))


def test_system_policies(ram):
    listed = ram.call("ListPolicies", PolicyType="System")["Policies"]["Policy"]
    assert {p["PolicyName"] for p in listed} == SYSTEM_POLICIES
    assert all(p["PolicyType"] == "System" and p["DefaultVersion"] == "v1" for p in listed)
    admin = next(p for p in listed if p["PolicyName"] == "AdministratorAccess")
    assert admin["AttachmentCount"] >= 1 and DATE_RE.match(admin["UpdateDate"])
    got = ram.call("GetPolicy", PolicyName="AliyunKMSCryptoUserAccess", PolicyType="System")
    statement = json.loads(got["Policy"]["PolicyDocument"])["Statement"][0]
    assert "kms:GenerateDataKey" in statement["Action"]
    assert got["DefaultPolicyVersion"]["IsDefaultVersion"] is True
    versions = ram.call("ListPolicyVersions", PolicyName="AdministratorAccess",
                        PolicyType="System")["PolicyVersions"]["PolicyVersion"]
    assert [v["VersionId"] for v in versions] == ["v1"]
    expect(ram, 404, "EntityNotExist.Policy", "GetPolicy", PolicyName="AliyunOSSFullAccess",
           PolicyType="System")
    expect(ram, 400, "InvalidParameter.PolicyType.Format", "GetPolicy",
           PolicyName="AdministratorAccess", PolicyType="Builtin")


def test_list_policies_pages(ram):
    names = sorted(custom_policy(ram, doc("Allow", "kms:List*", "*")) for _ in range(3))
    seen, marker = [], None
    while True:
        params: dict[str, Any] = {"MaxItems": 4}
        if marker:
            params["Marker"] = marker
        page = ram.call("ListPolicies", **params)
        seen += [(p["PolicyType"], p["PolicyName"]) for p in page["Policies"]["Policy"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert len(seen) == len(set(seen))
    types = [t for t, _ in seen]
    assert types == sorted(types, key=lambda t: t != "System"), "System first, then Custom"
    assert {n for t, n in seen if t == "System"} == SYSTEM_POLICIES
    assert set(names) <= {n for t, n in seen if t == "Custom"}
    custom = [n for t, n in seen if t == "Custom"]
    assert custom == sorted(custom)
    for n in names:
        ram.call("DeletePolicy", PolicyName=n)


def test_attachments(ram):
    user = unique("user")
    ram.call("CreateUser", UserName=user)
    pol = custom_policy(ram, doc("Allow", "kms:Encrypt", "*"))
    ram.call("AttachPolicyToUser", UserName=user, PolicyType="Custom", PolicyName=pol)
    ram.call("AttachPolicyToUser", UserName=user, PolicyType="System",
             PolicyName="AliyunKMSReadOnlyAccess")
    listed = ram.call("ListPoliciesForUser", UserName=user)["Policies"]["Policy"]
    assert [(p["PolicyType"], p["PolicyName"]) for p in listed] == [
        ("Custom", pol), ("System", "AliyunKMSReadOnlyAccess")]
    assert all(DATE_RE.match(p["AttachDate"]) and p["DefaultVersion"] == "v1" for p in listed)
    assert ram.call("GetPolicy", PolicyName=pol,
                    PolicyType="Custom")["Policy"]["AttachmentCount"] == 1
    expect(ram, 409, "EntityAlreadyExists.User.Policy", "AttachPolicyToUser", UserName=user,
           PolicyType="Custom", PolicyName=pol)
    expect(ram, 404, "EntityNotExist.Policy", "AttachPolicyToUser", UserName=user,
           PolicyType="System", PolicyName="NoSuchPolicy")
    expect(ram, 404, "EntityNotExist.User", "AttachPolicyToUser", UserName=unique("none"),
           PolicyType="Custom", PolicyName=pol)
    expect(ram, 409, "DeleteConflict.Policy.User", "DeletePolicy", PolicyName=pol)
    ram.call("DetachPolicyFromUser", UserName=user, PolicyType="Custom", PolicyName=pol)
    expect(ram, 404, "EntityNotExist.User.Policy", "DetachPolicyFromUser", UserName=user,
           PolicyType="Custom", PolicyName=pol)
    ram.call("DeletePolicy", PolicyName=pol)
    ram.call("DetachPolicyFromUser", UserName=user, PolicyType="System",
             PolicyName="AliyunKMSReadOnlyAccess")
    assert ram.call("ListPoliciesForUser", UserName=user)["Policies"]["Policy"] == []
    ram.call("DeleteUser", UserName=user)


# --------------------------------------------------------------------------------------------
# What policies do to KMS (and RAM) calls
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", KMS_FLAVORS)
def test_crypto_user_can_use_but_not_manage_keys(server, admin_ram, flavor):
    key_id = make_client(server, "new-v3").call("CreateKey")["KeyMetadata"]["KeyId"]
    _, ak, secret = new_user_with_key(admin_ram, ("System", "AliyunKMSCryptoUserAccess"))
    kms = make_client(server, flavor, ak=ak, secret=secret)
    dk = kms.call("GenerateDataKey", KeyId=key_id)
    assert kms.call("Decrypt", CiphertextBlob=dk["CiphertextBlob"])["Plaintext"] == dk["Plaintext"]
    assert kms.call("DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    e = expect(kms, 403, "Forbidden.NoPermission", "CreateKey")
    assert e.message
    expect(kms, 403, "Forbidden.NoPermission", "ScheduleKeyDeletion", KeyId=key_id,
           PendingWindowInDays=7)
    assert make_client(server, "new-v3").call("DescribeKey",
                                              KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    expect(ram_client(server, "old", ak=ak, secret=secret), 403, "Forbidden.NoPermission",
           "ListUsers")


@pytest.mark.parametrize("flavor", ["old", "new-v3"])
def test_custom_policy_on_one_key(server, admin_ram, flavor):
    admin_kms = make_client(server, "new-v3")
    mine = admin_kms.call("CreateKey")["KeyMetadata"]
    other = admin_kms.call("CreateKey")["KeyMetadata"]
    alias = "alias/" + unique("app")
    admin_kms.call("CreateAlias", AliasName=alias, KeyId=mine["KeyId"])
    pol = custom_policy(admin_ram, doc("Allow", ["kms:Encrypt", "kms:Decrypt"],
                                       f"acs:kms:*:*:key/{mine['KeyId']}"))
    _, ak, secret = new_user_with_key(admin_ram, ("Custom", pol))
    kms = make_client(server, flavor, ak=ak, secret=secret)
    blob = kms.call("Encrypt", KeyId=mine["KeyId"], Plaintext="hi")["CiphertextBlob"]
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == "hi"
    assert kms.call("Encrypt", KeyId=alias, Plaintext="hi")["KeyId"] == mine["KeyId"]
    assert kms.call("Encrypt", KeyId=mine["Arn"], Plaintext="hi")["KeyId"] == mine["KeyId"]
    expect(kms, 403, "Forbidden.NoPermission", "Encrypt", KeyId=other["KeyId"], Plaintext="hi")
    other_blob = admin_kms.call("Encrypt", KeyId=other["KeyId"], Plaintext="x")["CiphertextBlob"]
    expect(kms, 403, "Forbidden.NoPermission", "Decrypt", CiphertextBlob=other_blob)
    expect(kms, 403, "Forbidden.NoPermission", "DescribeKey", KeyId=mine["KeyId"])
    # Unknown keys: no permission, no information.
    expect(kms, 403, "Forbidden.NoPermission", "Encrypt",
           KeyId="00000000-0000-4000-8000-000000000000", Plaintext="hi")
    expect(kms, 403, "Forbidden.NoPermission", "Encrypt", KeyId="alias/" + unique("none"),
           Plaintext="hi")


@pytest.mark.parametrize("flavor", ["old", "new-v3"])
def test_encryption_context_condition(server, admin_ram, flavor):
    key_id = make_client(server, "new-v3").call("CreateKey")["KeyMetadata"]["KeyId"]
    pol = custom_policy(admin_ram, doc(
        "Allow", ["kms:Encrypt", "kms:Decrypt"], "*",
        {"StringEquals": {"kms:EncryptionContext.tenant": "acme"}}))
    _, ak, secret = new_user_with_key(admin_ram, ("Custom", pol))
    kms = make_client(server, flavor, ak=ak, secret=secret)
    blob = kms.call("Encrypt", KeyId=key_id, Plaintext="hi",
                    EncryptionContext={"tenant": "acme"})["CiphertextBlob"]
    assert kms.call("Decrypt", CiphertextBlob=blob,
                    EncryptionContext={"tenant": "acme"})["Plaintext"] == "hi"
    expect(kms, 403, "Forbidden.NoPermission", "Encrypt", KeyId=key_id, Plaintext="hi",
           EncryptionContext={"tenant": "other"})
    expect(kms, 403, "Forbidden.NoPermission", "Encrypt", KeyId=key_id, Plaintext="hi")


def test_deny_wins(server, admin_ram):
    admin_kms = make_client(server, "new-v3")
    key_id = admin_kms.call("CreateKey")["KeyMetadata"]["KeyId"]
    pol = custom_policy(admin_ram, doc("Deny", "kms:Decrypt", f"acs:kms:*:*:key/{key_id}"))
    user, ak, secret = new_user_with_key(admin_ram, ("System", "AliyunKMSFullAccess"),
                                         ("Custom", pol))
    for flavor in ("old", "new-v3"):
        kms = make_client(server, flavor, ak=ak, secret=secret)
        blob = kms.call("Encrypt", KeyId=key_id, Plaintext="hi")["CiphertextBlob"]
        expect(kms, 403, "Forbidden.NoPermission", "Decrypt", CiphertextBlob=blob)
    # Removing the Deny applies on the next call.
    admin_ram.call("DetachPolicyFromUser", UserName=user, PolicyType="Custom", PolicyName=pol)
    assert kms.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == "hi"


def test_ram_permissions(server, admin_ram):
    _, ak, secret = new_user_with_key(admin_ram, ("System", "AliyunRAMReadOnlyAccess"))
    for flavor in RAM_FLAVORS:
        ro = ram_client(server, flavor, ak=ak, secret=secret)
        assert any(u["UserName"] == "admin" for u in ro.call("ListUsers")["Users"]["User"])
        ro.call("GetPolicy", PolicyName="AdministratorAccess", PolicyType="System")
        expect(ro, 403, "Forbidden.NoPermission", "CreateUser", UserName=unique("u"))
        expect(ro, 403, "Forbidden.NoPermission", "AttachPolicyToUser", UserName="admin",
               PolicyType="System", PolicyName="AliyunKMSFullAccess")
        # Managing one's own keys needs a permission too.
        expect(ro, 403, "Forbidden.NoPermission", "CreateAccessKey")
        expect(make_client(server, "new-v3", ak=ak, secret=secret), 403,
               "Forbidden.NoPermission", "ListKeys")


@pytest.mark.parametrize("flavor", KMS_FLAVORS)
def test_deactivated_and_deleted_keys_on_an_open_connection(server, admin_ram, flavor):
    user, ak, secret = new_user_with_key(admin_ram, ("System", "AliyunKMSReadOnlyAccess"))
    kms = make_client(server, flavor, ak=ak, secret=secret)
    kms.call("ListKeys")
    admin_ram.call("UpdateAccessKey", UserName=user, UserAccessKeyId=ak, Status="Inactive")
    expect(kms, 403, "Forbidden.AccessKey", "ListKeys")
    admin_ram.call("UpdateAccessKey", UserName=user, UserAccessKeyId=ak, Status="Active")
    kms.call("ListKeys")
    admin_ram.call("DeleteAccessKey", UserName=user, UserAccessKeyId=ak)
    expect(kms, 404, "InvalidAccessKeyId.NotFound", "ListKeys")
    admin_ram.call("DetachPolicyFromUser", UserName=user, PolicyType="System",
                   PolicyName="AliyunKMSReadOnlyAccess")
    admin_ram.call("DeleteUser", UserName=user)


def test_deleted_bootstrap_key_stays_deleted(start_server):
    s = start_server(tls=False)
    admin = ram_client(s, "new-v3")
    _, ak, secret = new_user_with_key(admin, ("System", "AdministratorAccess"))
    other = ram_client(s, "new-v3", ak=ak, secret=secret)
    other.call("DeleteAccessKey", UserName="admin", UserAccessKeyId=s.ak)
    expect(admin, 404, "InvalidAccessKeyId.NotFound", "ListUsers")
    s.stop()
    s.start()
    expect(ram_client(s, "new-v3"), 404, "InvalidAccessKeyId.NotFound", "ListUsers")
    assert ram_client(s, "old", ak=ak, secret=secret).call("GetUser", UserName="admin")
