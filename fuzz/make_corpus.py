#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets under fuzz/corpus/<target>/ (standard library
only; run from anywhere: python3 fuzz/make_corpus.py). Inputs the fuzzer found that failed once
(regressions) are kept beside the seeds as `regress-*` files and are never rewritten here.

- request, sig: real signed requests (RPC v1 HMAC-SHA1, ACS3-HMAC-SHA256, ACS4-HMAC-SHA256, the
  way the Alibaba SDKs sign them) for every action, in the raw form of fuzz_targets/wire.rs,
  signed with the test vectors' secret; plus the requests captured from the Python SDKs that
  crates/core/src/sign/*.rs tests against.
- context: EncryptionContext JSON and flattened query forms.
- policy: RAM policy documents (the system policies, the module docs' example, conditions).
- header, decrypt: the committed KENV1 vectors (header: each file's first 1 KiB).
- seed: the committed pycryptodome seed files.
"""
import base64
import hashlib
import hmac
import json
import os
import pathlib
import re
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
VECTORS = ROOT / "crates" / "envelope" / "tests" / "vectors"
AK, SECRET = "LTAI5tTestAccessKeyId", "TestAccessKeySecret123"
DATE = "2026-12-03T12:00:00Z"
HOST = "127.0.0.1:8443"
KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
ARN = f"acs:kms:cn-hangzhou:1234567890:key/{KEY}"
BLOB = base64.b64encode(b"key-0001-0000-0000-0000-000000000000" + bytes(range(12)) + b"hello" + bytes(16)).decode()
POLICY = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]})
CTX = '{"tenant":"acme","purpose":"backup"}'

KMS = {
    "CreateKey": {"Description": "fuzz seed", "KeySpec": "Aliyun_AES_256", "KeyUsage": "ENCRYPT/DECRYPT",
                  "ProtectionLevel": "SOFTWARE", "EnableAutomaticRotation": "true", "RotationInterval": "604800s",
                  "Origin": "Aliyun_KMS", "Tags": '[{"TagKey":"env","TagValue":"test"}]'},
    "DescribeKey": {"KeyId": KEY},
    "ListKeys": {"PageNumber": "1", "PageSize": "20",
                 "Filters": '[{"Key":"KeyState","Values":["Enabled","Disabled"]}]'},
    "EnableKey": {"KeyId": KEY},
    "DisableKey": {"KeyId": f"alias/app-key"},
    "ScheduleKeyDeletion": {"KeyId": KEY, "PendingWindowInDays": "7"},
    "CancelKeyDeletion": {"KeyId": ARN},
    "UpdateKeyDescription": {"KeyId": KEY, "Description": "new text \u00fc"},
    "CreateAlias": {"AliasName": "alias/app-key", "KeyId": KEY},
    "UpdateAlias": {"AliasName": "alias/app-key", "KeyId": KEY},
    "DeleteAlias": {"AliasName": "alias/app-key"},
    "ListAliases": {"PageNumber": "2", "PageSize": "5"},
    "ListAliasesByKeyId": {"KeyId": KEY, "PageSize": "100"},
    "Encrypt": {"KeyId": "alias/app-key", "Plaintext": "aGVsbG8gd29ybGQ=", "EncryptionContext": CTX},
    "Decrypt": {"CiphertextBlob": BLOB, "EncryptionContext": CTX},
    "GenerateDataKey": {"KeyId": KEY, "KeySpec": "AES_256", "NumberOfBytes": "32", "EncryptionContext": CTX},
    "GenerateDataKeyWithoutPlaintext": {"KeyId": KEY, "KeySpec": "AES_128",
                                        "EncryptionContext.tenant": "acme"},
    "ReEncrypt": {"CiphertextBlob": BLOB, "DestinationKeyId": "alias/other", "SourceEncryptionContext": CTX,
                  "DestinationEncryptionContext": '{"a":"b"}'},
    "CreateKeyVersion": {"KeyId": KEY},
    "ListKeyVersions": {"KeyId": KEY, "PageNumber": "1", "PageSize": "10"},
    "DescribeKeyVersion": {"KeyId": KEY, "KeyVersionId": "2ab1a983-7072-4bbc-a582-584b5bd8abcd"},
    "UpdateRotationPolicy": {"KeyId": KEY, "EnableAutomaticRotation": "true", "RotationInterval": "30d"},
    "TagResource": {"KeyId": KEY, "Tags": '[{"TagKey":"env","TagValue":"prod"},{"TagKey":"team","TagValue":"x"}]'},
    "UntagResource": {"KeyId": KEY, "TagKeys": '["env","team"]'},
    "ListResourceTags": {"KeyId": KEY},
    "DescribeRegions": {},
    "TagResources": {"ResourceType": "key", "RegionId": "cn-hangzhou", "ResourceId.1": KEY,
                     "Tag.1.Key": "env", "Tag.1.Value": "prod"},
    "UntagResources": {"ResourceType": "key", "RegionId": "cn-hangzhou", "ResourceId.1": KEY,
                       "TagKey.1": "env", "All": "false"},
    "ListTagResources": {"ResourceType": "key", "RegionId": "cn-hangzhou", "ResourceId.1": KEY,
                         "Tag.1.Key": "env", "NextToken": "abc"},
    "SetDeletionProtection": {"ProtectedResourceArn": ARN, "EnableDeletionProtection": "true",
                              "DeletionProtectionDescription": "keep"},
}
RAM = {
    "CreateUser": {"UserName": "alice", "DisplayName": "Alice", "Comments": "seed"},
    "GetUser": {"UserName": "alice"},
    "ListUsers": {"MaxItems": "10", "Marker": "bob"},
    "UpdateUser": {"UserName": "alice", "NewUserName": "alice2"},
    "DeleteUser": {"UserName": "alice"},
    "CreateAccessKey": {"UserName": "alice"},
    "ListAccessKeys": {"UserName": "alice"},
    "UpdateAccessKey": {"UserName": "alice", "UserAccessKeyId": AK, "Status": "Inactive"},
    "DeleteAccessKey": {"UserName": "alice", "UserAccessKeyId": AK},
    "CreatePolicy": {"PolicyName": "kms-all", "PolicyDocument": POLICY, "Description": "seed"},
    "GetPolicy": {"PolicyName": "AdministratorAccess", "PolicyType": "System"},
    "ListPolicies": {"PolicyType": "Custom", "MaxItems": "100"},
    "DeletePolicy": {"PolicyName": "kms-all", "CascadingDelete": "true"},
    "CreatePolicyVersion": {"PolicyName": "kms-all", "PolicyDocument": POLICY, "SetAsDefault": "true",
                            "RotateStrategy": "DeleteOldestNonDefaultVersionWhenLimitExceeded"},
    "GetPolicyVersion": {"PolicyName": "kms-all", "PolicyType": "Custom", "VersionId": "v2"},
    "ListPolicyVersions": {"PolicyName": "kms-all", "PolicyType": "Custom"},
    "DeletePolicyVersion": {"PolicyName": "kms-all", "VersionId": "v1"},
    "SetDefaultPolicyVersion": {"PolicyName": "kms-all", "VersionId": "v3"},
    "AttachPolicyToUser": {"PolicyType": "System", "PolicyName": "AliyunKMSFullAccess", "UserName": "alice"},
    "DetachPolicyFromUser": {"PolicyType": "Custom", "PolicyName": "kms-all", "UserName": "alice"},
    "ListPoliciesForUser": {"UserName": "alice"},
}


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def query(params):
    return "&".join(f"{enc(k)}={enc(v)}" for k, v in params)


def wire(method, q, headers, body=b""):
    target = "/" + (f"?{q}" if q else "")
    head = f"{method} {target} HTTP/1.1\n" + "".join(f"{k}: {v}\n" for k, v in headers)
    return head.encode() + b"\n" + body


def rpc_v1(action, version, params, method="POST", form=False, n=0):
    common = {"Action": action, "Version": version, "Format": "JSON", "AccessKeyId": AK,
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": f"{n:032x}",
              "Timestamp": DATE, "RegionId": "cn-hangzhou"}
    body_params = list(params.items()) if form else []
    query_params = list(common.items()) + ([] if form else list(params.items()))
    signed = sorted((enc(k), enc(v)) for k, v in query_params + body_params)
    sts = f"{method}&{enc('/')}&" + enc("&".join(f"{k}={v}" for k, v in signed))
    sig = base64.b64encode(hmac.new((SECRET + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()
    headers = [("host", HOST), ("user-agent", "AlibabaCloud Python/3.11")]
    body = b""
    if form:
        headers.append(("content-type", "application/x-www-form-urlencoded; charset=UTF-8"))
        body = query(body_params).replace("%20", "+").encode()
    return wire(method, query(query_params + [("Signature", sig)]), headers, body)


def header_signed(action, version, params, v4=False, method="POST", form=False, n=0):
    body = query(params.items()).encode() if form else b""
    query_params = [] if form else sorted(params.items())
    headers = {"host": HOST, "x-acs-action": action, "x-acs-version": version, "x-acs-date": DATE,
               "x-acs-signature-nonce": f"{n:032x}", "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
               "accept": "application/json"}
    if form:
        headers["content-type"] = "application/x-www-form-urlencoded"
    names = sorted(headers)
    pairs = sorted((enc(k), enc(v)) for k, v in query_params)
    canonical = f"{method}\n/\n" + "&".join(f"{k}={v}" for k, v in pairs)
    canonical += "\n" + "".join(f"{k}:{headers[k].strip()}\n" for k in names) + "\n" + ";".join(names) + "\n"
    canonical += headers["x-acs-content-sha256"]
    alg = "ACS4-HMAC-SHA256" if v4 else "ACS3-HMAC-SHA256"
    sts = f"{alg}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    if v4:
        product = "Kms" if version == "2016-01-20" else "Ram"
        key = hmac.new(("aliyun_v4" + SECRET).encode(), DATE[:10].replace("-", "").encode(), hashlib.sha256).digest()
        for part in ("cn-hangzhou", product, "aliyun_v4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        credential = f"{AK}/{DATE[:10].replace('-', '')}/cn-hangzhou/{product}/aliyun_v4_request"
    else:
        key, credential = SECRET.encode(), AK
    sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"{alg} Credential={credential},SignedHeaders={';'.join(names)},Signature={sig}"
    return wire(method, query(query_params), list(headers.items()), body)


def captured():
    """The requests the Python SDKs sent, as the tests of crates/core/src/sign keep them."""
    src = (ROOT / "crates/core/src/sign/rpc_v1.rs").read_text()
    out = []
    for q in re.findall(r'let q = "([^"]+)";', src):
        out.append(wire("POST", q, [("host", HOST)]))
    acs3 = (ROOT / "crates/core/src/sign/acs3.rs").read_text()
    for m in re.finditer(r'check\(\s*"([^"]*)",\s*"([^"]*)",\s*b"([^"]*)",\s*"([^"]*)",\s*"([^"]*)"', acs3):
        q, head, body, signed, sig = m.groups()
        headers = [tuple(l.split(": ", 1)) for l in head.split("\\n")]
        headers.append(("Authorization", f"ACS3-HMAC-SHA256 Credential={AK},SignedHeaders={signed},Signature={sig}"))
        out.append(wire("POST", q, headers, body.encode()))
    return out


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def clear(target):
    d = CORPUS / target
    if d.exists():
        for f in d.iterdir():
            if not f.name.startswith("regress-"):
                f.unlink()


def requests():
    actions = [(a, "2016-01-20", p) for a, p in KMS.items()] + [(a, "2015-05-01", p) for a, p in RAM.items()]
    clear("request")
    clear("sig")
    for i, (action, version, params) in enumerate(actions):
        scheme = i % 3
        form = i % 4 == 1
        method = "GET" if i % 5 == 2 and not form else "POST"
        if scheme == 0:
            data = rpc_v1(action, version, params, method, form, i)
        else:
            data = header_signed(action, version, params, scheme == 2, method, form, i)
        write("request", f"{action}-{['rpc', 'acs3', 'acs4'][scheme]}", data)
    for i, data in enumerate(captured()):
        write("sig", f"captured-{i}", data)
        write("request", f"captured-{i}", data)
    for i, (action, version, params) in enumerate(actions[::4]):
        for scheme in range(3):
            form = (i + scheme) % 2 == 1
            if scheme == 0:
                data = rpc_v1(action, version, params, "POST", form, 100 + i)
            else:
                data = header_signed(action, version, params, scheme == 2, "POST", form, 100 + i)
            write("sig", f"{action}-{['rpc', 'acs3', 'acs4'][scheme]}{'-form' if form else ''}", data)


def contexts():
    clear("context")
    seeds = [CTX, '{"a": "1", "b": "2"}', "{}", "", '{"k":"v"}', '{"\\u00e9":"\\ud83d\\ude00"}',
             '{"a*b": "x+y/z~", "purpose": "test data"}', '{"a":"1","a":"2"}', '{"a":1}', '["a"]',
             '{"a":"\\n\\t\\"\\\\"}', '  {"x" : "y" }  ', '{"' + "k" * 40 + '":"' + "v" * 200 + '"}',
             "EncryptionContext=" + enc(CTX), "EncryptionContext.tenant=acme&EncryptionContext.purpose=backup",
             "EncryptionContext.1.Key=tenant&EncryptionContext.1.Value=acme&EncryptionContext.2.Key=b&EncryptionContext.2.Value=c",
             "EncryptionContext=" + enc('{"tenant":"acme"}') + "&EncryptionContext.tenant=acme",
             "EncryptionContext.=x", "EncryptionContext.1.Key=a", "EncryptionContext.0.Key=a&EncryptionContext.0.Value=b",
             "EncryptionContext.a=1&EncryptionContext.1.Key=b&EncryptionContext.1.Value=2",
             "EncryptionContext=%7B%22k%22%3A%22v%22%7D&KeyId=k"]
    for i, s in enumerate(seeds):
        write("context", f"seed-{i:02}", s)


def policies():
    clear("policy")
    system = (ROOT / "crates/core/src/policy/system.rs").read_text()
    docs = re.findall(r'document:\s*r#"(.*?)"#', system, re.S)
    mod = (ROOT / "crates/core/src/policy/mod.rs").read_text()
    example = re.search(r"//! ```json\n(.*?)//! ```", mod, re.S)
    if example:
        docs.append("".join(l[4:] + "\n" for l in example.group(1).splitlines()))
    stmt = lambda **kw: json.dumps({"Version": "1", "Statement": [dict({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}, **kw)]})
    docs += [
        POLICY,
        stmt(Effect="Deny", Action=["kms:Decrypt", "kms:Generate*"], Resource="acs:kms:*:*:key/*"),
        stmt(Resource=["acs:kms:*:*:alias/prod-*", "acs:kms:*:*:key/?bc*"]),
        json.dumps({"Version": "1", "Statement": {"Effect": "Allow", "NotAction": "ram:*", "NotResource": "acs:ram:*"}}),
        stmt(Condition={"StringEquals": {"kms:EncryptionContext.tenant": "acme"}}),
        stmt(Condition={"StringLike": {"kms:EncryptionContext:purpose": ["back*", "?x"]}}),
        stmt(Condition={"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["tenant", "purpose"]}}),
        stmt(Condition={"ForAnyValue:StringNotEqualsIgnoreCase": {"kms:EncryptionContextKeys": "TENANT"}}),
        stmt(Condition={"IpAddress": {"acs:SourceIp": ["10.0.0.0/8", "2001:db8::/32", "192.168.1.1"]}}),
        stmt(Effect="Deny", Condition={"NotIpAddress": {"acs:SourceIp": "::ffff:10.0.0.0/104"}}),
        stmt(Effect="Deny", Condition={"Bool": {"acs:SecureTransport": "false"}}),
        stmt(Condition={"DateLessThan": {"acs:CurrentTime": "2027-01-01T00:00:00Z"},
                        "DateGreaterThanEquals": {"acs:CurrentTime": "1700000000"}}),
        stmt(Condition={"NumericLessThanEquals": {"kms:EncryptionContext.n": "10.5"}}),
        stmt(Condition={"StringEquals": {"acs:MFAPresent": "true"}}),
        stmt(Sid="s1", Effect="Deny", Action="*", Resource="acs:kms:*:*:alias/prod-*"),
        '{"Version":"1","Statement":[]}', '{"Version":"2","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":"*"}]}',
        '{"Version":"1","Version":"1","Statement":[]}',
    ]
    for i, d in enumerate(docs):
        write("policy", f"seed-{i:02}", d)


def envelope():
    clear("header")
    clear("decrypt")
    for f in sorted(VECTORS.glob("*.kenv")):
        data = f.read_bytes()
        if len(data) <= 32 * 1024:  # the corpus stays small: the 74 KB vector only in tests
            write("decrypt", f.stem, data)
        write("header", f.stem, data[:1024])
    clear("seed")
    vectors = json.loads((VECTORS / "seed_eax_pycryptodome.json").read_text())
    for f in vectors["files"]:
        write("seed", f["name"], f["file"])
        write("seed", f["name"] + "-crlf", f["file"].replace("\n", "\r\n"))


if __name__ == "__main__":
    requests()
    contexts()
    policies()
    envelope()
    for d in sorted(CORPUS.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
