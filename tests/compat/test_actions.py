"""Every implemented action through the old SDK and the new SDK in its three signing modes,
checking response fields, JSON types and shapes (reference §8, §9)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone

import pytest

from kwtest import DATE_RE, FLAVORS, UUID_RE, KmsError, b64decode_strict, make_client, unique

KEY_METADATA_FIELDS = (
    "KeyId", "Arn", "KeyState", "KeySpec", "KeyUsage", "Origin", "ProtectionLevel",
    "CreationDate", "PrimaryKeyVersion", "LastRotationDate", "AutomaticRotation", "DeleteDate",
    "Creator", "Description", "MaterialExpireTime",
)
ARN_RE = re.compile(r"^acs:kms:(?P<region>[A-Za-z0-9-]+):(?P<account>[0-9A-Za-z]+):key/(?P<id>.+)$")
ALIAS_ARN_RE = re.compile(
    r"^acs:kms:(?P<region>[A-Za-z0-9-]+):(?P<account>[0-9A-Za-z]+):(?P<alias>alias/.+)$"
)
# A plaintext that stresses the signature encodings of every scheme: spaces (+ vs %20),
# reserved characters, '*', '~', non-ASCII, newlines.
AWKWARD_TEXT = "hello world +/=*~&%20 ü € 中文 😀\n\ttab 'quote' \"dq\" <a>"
# Stored free text (descriptions, tags) may not hold control characters (test_key_policies.py).
AWKWARD_STORED_TEXT = AWKWARD_TEXT.replace("\n", " ").replace("\t", " ")


def assert_request_id(body: dict) -> None:
    assert isinstance(body.get("RequestId"), str) and body["RequestId"].strip(), body


def assert_key_metadata(md: dict, *, description: str = "", spec: str = "Aliyun_AES_256") -> None:
    for f in KEY_METADATA_FIELDS:
        assert f in md, f"KeyMetadata lacks {f}: {md}"
        assert isinstance(md[f], str), f"KeyMetadata.{f} is {type(md[f]).__name__}: {md}"
    assert UUID_RE.match(md["KeyId"]), md["KeyId"]
    m = ARN_RE.match(md["Arn"])
    assert m and m.group("id") == md["KeyId"], md["Arn"]
    assert md["KeyState"] == "Enabled"
    assert md["KeySpec"] == spec
    assert md["KeyUsage"] == "ENCRYPT/DECRYPT"
    assert md["Origin"] == "Aliyun_KMS"
    assert md["ProtectionLevel"] == "SOFTWARE"
    assert DATE_RE.match(md["CreationDate"]), md["CreationDate"]
    created = datetime.strptime(md["CreationDate"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 300, md["CreationDate"]
    assert UUID_RE.match(md["PrimaryKeyVersion"]), md["PrimaryKeyVersion"]
    assert len(md["PrimaryKeyVersion"]) == 36
    assert DATE_RE.match(md["LastRotationDate"]), md["LastRotationDate"]
    assert md["LastRotationDate"] == md["CreationDate"]  # never rotated (reference §10)
    assert md["AutomaticRotation"] == "Disabled"
    assert md["DeleteDate"] == ""
    assert md["Creator"].strip(), md
    assert md["Creator"] == m.group("account"), (md["Creator"], md["Arn"])
    assert md["Description"] == description
    assert md["MaterialExpireTime"] == ""


def blob_parts(blob: str) -> tuple[str, bytes, bytes]:
    raw = b64decode_strict(blob)
    return raw[:36].decode("ascii"), raw[36:48], raw[48:]


def create_key(kms, **params) -> dict:
    body = kms.call("CreateKey", **params)
    assert_request_id(body)
    return body["KeyMetadata"]


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


def test_create_key_defaults(kms):
    desc = f"compat {kms.flavor} {AWKWARD_STORED_TEXT}"
    body = kms.call("CreateKey", Description=desc)
    assert_request_id(body)
    assert set(body) >= {"KeyMetadata", "RequestId"}
    assert_key_metadata(body["KeyMetadata"], description=desc)


@pytest.mark.parametrize("spec", ["Aliyun_AES_256", "Aliyun_AES_192", "Aliyun_AES_128"])
def test_create_key_specs(kms, spec):
    md = create_key(kms, KeySpec=spec, KeyUsage="ENCRYPT/DECRYPT", Origin="Aliyun_KMS",
                    ProtectionLevel="SOFTWARE")
    assert_key_metadata(md, spec=spec)
    # Every spec must actually work for the crypto operations.
    enc = kms.call("Encrypt", KeyId=md["KeyId"], Plaintext="spec check")
    assert kms.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])["Plaintext"] == "spec check"


def test_describe_key_by_id_alias_and_arn(kms):
    md = create_key(kms, Description="describe me")
    alias = f"alias/{unique('describe')}"
    kms.call("CreateAlias", AliasName=alias, KeyId=md["KeyId"])
    for ref in (md["KeyId"], alias, md["Arn"]):
        body = kms.call("DescribeKey", KeyId=ref)
        assert_request_id(body)
        got = body["KeyMetadata"]
        assert_key_metadata(got, description="describe me")
        for f in KEY_METADATA_FIELDS:
            assert got[f] == md[f], (ref, f, got[f], md[f])


def test_request_ids_are_unique(kms):
    ids = {kms.call("DescribeRegions")["RequestId"] for _ in range(5)}
    assert len(ids) == 5, ids


def test_describe_regions(kms):
    body = kms.call("DescribeRegions")
    assert_request_id(body)
    regions = body["Regions"]["Region"]
    assert isinstance(regions, list) and regions, body
    for r in regions:
        assert isinstance(r["RegionId"], str) and r["RegionId"], r
    # The region that ARNs are minted in is one the server reports.
    md = create_key(kms)
    assert ARN_RE.match(md["Arn"]).group("region") in {r["RegionId"] for r in regions}


# --------------------------------------------------------------------------------------------
# Paging (fresh servers so counts are exact)
# --------------------------------------------------------------------------------------------


def _check_page_shape(body: dict, outer: str, inner: str, number: int, size: int, total: int):
    assert_request_id(body)
    for f in ("TotalCount", "PageNumber", "PageSize"):
        assert type(body[f]) is int, f"{f} is {type(body[f]).__name__}: {body}"
    assert body["TotalCount"] == total, body
    assert body["PageNumber"] == number, body
    assert body["PageSize"] == size, body
    assert isinstance(body[outer], dict) and isinstance(body[outer][inner], list), body
    return body[outer][inner]


def test_list_keys_paging(start_server, flavor):
    srv = start_server()
    kms = make_client(srv, flavor)
    created = [create_key(kms)["KeyId"] for _ in range(5)]
    arns = {k: kms.call("DescribeKey", KeyId=k)["KeyMetadata"]["Arn"] for k in created}

    # Defaults: PageNumber 1, PageSize 10.
    default = kms.call("ListKeys")
    entries = _check_page_shape(default, "Keys", "Key", 1, 10, 5)
    assert sorted(e["KeyId"] for e in entries) == sorted(created)

    seen: list[str] = []
    sizes = []
    for page in (1, 2, 3):
        body = kms.call("ListKeys", PageNumber=page, PageSize=2)
        entries = _check_page_shape(body, "Keys", "Key", page, 2, 5)
        sizes.append(len(entries))
        for e in entries:
            assert set(e) >= {"KeyId", "KeyArn"}, e
            assert e["KeyArn"] == arns[e["KeyId"]], e
            seen.append(e["KeyId"])
    assert sizes == [2, 2, 1]
    assert len(seen) == len(set(seen)) == 5, seen
    assert set(seen) == set(created)

    beyond = kms.call("ListKeys", PageNumber=4, PageSize=2)
    assert _check_page_shape(beyond, "Keys", "Key", 4, 2, 5) == []

    everything = kms.call("ListKeys", PageNumber=1, PageSize=100)
    assert len(_check_page_shape(everything, "Keys", "Key", 1, 100, 5)) == 5


def test_list_aliases_paging(start_server, flavor):
    srv = start_server()
    kms = make_client(srv, flavor)
    k1 = create_key(kms)["KeyId"]
    k2 = create_key(kms)["KeyId"]
    names = {f"alias/page-{i}-{unique()}": (k1 if i < 3 else k2) for i in range(5)}
    for name, key in names.items():
        body = kms.call("CreateAlias", AliasName=name, KeyId=key)
        assert_request_id(body)

    seen = []
    for page in (1, 2, 3):
        body = kms.call("ListAliases", PageNumber=page, PageSize=2)
        entries = _check_page_shape(body, "Aliases", "Alias", page, 2, 5)
        assert len(entries) == (1 if page == 3 else 2)
        for e in entries:
            assert set(e) >= {"AliasName", "AliasArn", "KeyId"}, e
            assert e["KeyId"] == names[e["AliasName"]]
            m = ALIAS_ARN_RE.match(e["AliasArn"])
            assert m and m.group("alias") == e["AliasName"], e
            seen.append(e["AliasName"])
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == set(names)

    # ListAliasesByKeyId: only that key's aliases, same shape, paged too.
    by1 = kms.call("ListAliasesByKeyId", KeyId=k1)
    got = _check_page_shape(by1, "Aliases", "Alias", 1, 10, 3)
    assert {e["AliasName"] for e in got} == {n for n, k in names.items() if k == k1}
    assert all(e["KeyId"] == k1 for e in got)
    p2 = kms.call("ListAliasesByKeyId", KeyId=k1, PageNumber=2, PageSize=2)
    assert len(_check_page_shape(p2, "Aliases", "Alias", 2, 2, 3)) == 1
    by2 = kms.call("ListAliasesByKeyId", KeyId=k2)
    assert {e["AliasName"] for e in _check_page_shape(by2, "Aliases", "Alias", 1, 10, 2)} == {
        n for n, k in names.items() if k == k2}
    k3 = create_key(kms)["KeyId"]
    assert _check_page_shape(kms.call("ListAliasesByKeyId", KeyId=k3),
                             "Aliases", "Alias", 1, 10, 0) == []


# --------------------------------------------------------------------------------------------
# Aliases
# --------------------------------------------------------------------------------------------


def test_alias_lifecycle(kms):
    k1 = create_key(kms)["KeyId"]
    k2 = create_key(kms)["KeyId"]
    alias = f"alias/{unique('life')}/Apollo/WorkKey"
    second = f"alias/{unique('second')}"

    body = kms.call("CreateAlias", AliasName=alias, KeyId=k1)
    assert_request_id(body)
    assert set(body) == {"RequestId"}, body
    kms.call("CreateAlias", AliasName=second, KeyId=k1)  # a key may have many aliases

    listed = kms.call("ListAliasesByKeyId", KeyId=k1)["Aliases"]["Alias"]
    assert {e["AliasName"] for e in listed} == {alias, second}
    entry = next(e for e in listed if e["AliasName"] == alias)
    m = ALIAS_ARN_RE.match(entry["AliasArn"])
    assert m and m.group("alias") == alias and entry["KeyId"] == k1
    assert kms.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyId"] == k1

    # Crypto through the alias resolves to the key.
    enc = kms.call("Encrypt", KeyId=alias, Plaintext="via alias")
    assert enc["KeyId"] == k1

    # UpdateAlias rebinds; the other alias is untouched; old blobs still decrypt.
    body = kms.call("UpdateAlias", AliasName=alias, KeyId=k2)
    assert set(body) == {"RequestId"}, body
    assert kms.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyId"] == k2
    assert kms.call("DescribeKey", KeyId=second)["KeyMetadata"]["KeyId"] == k1
    assert {e["AliasName"] for e in kms.call("ListAliasesByKeyId", KeyId=k1)["Aliases"]["Alias"]} \
        == {second}
    assert [e["AliasName"] for e in kms.call("ListAliasesByKeyId", KeyId=k2)["Aliases"]["Alias"]] \
        == [alias]
    assert kms.call("Encrypt", KeyId=alias, Plaintext="x")["KeyId"] == k2
    dec = kms.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])
    assert dec["Plaintext"] == "via alias" and dec["KeyId"] == k1

    # UpdateAlias accepts the key by ARN as well.
    arn1 = kms.call("DescribeKey", KeyId=k1)["KeyMetadata"]["Arn"]
    kms.call("UpdateAlias", AliasName=alias, KeyId=arn1)
    assert kms.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyId"] == k1

    body = kms.call("DeleteAlias", AliasName=alias)
    assert set(body) == {"RequestId"}, body
    with pytest.raises(KmsError) as ei:
        kms.call("DescribeKey", KeyId=alias)
    assert (ei.value.status, ei.value.code) == (404, "Forbidden.AliasNotFound")
    # The key itself and its other alias are unaffected.
    assert kms.call("DescribeKey", KeyId=k1)["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.call("DescribeKey", KeyId=second)["KeyMetadata"]["KeyId"] == k1
    # The name is free again.
    kms.call("CreateAlias", AliasName=alias, KeyId=k2)
    assert kms.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyId"] == k2


def test_list_aliases_contains_new_alias(kms):
    k = create_key(kms)["KeyId"]
    alias = f"alias/{unique('listed')}"
    kms.call("CreateAlias", AliasName=alias, KeyId=k)
    first = kms.call("ListAliases", PageSize=100)
    total = first["TotalCount"]
    assert type(total) is int and total >= 1
    found = []
    for page in range(1, (total + 99) // 100 + 1):
        body = first if page == 1 else kms.call("ListAliases", PageNumber=page, PageSize=100)
        found += [e for e in body["Aliases"]["Alias"] if e["AliasName"] == alias]
    assert len(found) == 1 and found[0]["KeyId"] == k, found


@pytest.mark.parametrize("name_len", [1, 255])
def test_alias_name_length_limits(kms, name_len):
    k = create_key(kms)["KeyId"]
    suffix = unique("n").replace("-", "_")
    tail = (suffix + "x" * 255)[:name_len] if name_len > len(suffix) else None
    if tail is None:  # a 1-character alias must be unique per server: derive it from the flavor
        tail = {"old": "o", "new-v3": "t", "new-v2": "w", "new-v4": "f"}[kms.flavor]
    alias = "alias/" + tail
    assert len(alias) == 6 + name_len
    kms.call("CreateAlias", AliasName=alias, KeyId=k)
    assert kms.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyId"] == k
    kms.call("DeleteAlias", AliasName=alias)


# --------------------------------------------------------------------------------------------
# Encrypt / Decrypt
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("context", [None, {"purpose": "test data", "a*b": "x+y/z~"}],
                         ids=["no-context", "context"])
def test_encrypt_decrypt_roundtrip(kms, context):
    md = create_key(kms)
    alias = f"alias/{unique('enc')}"
    kms.call("CreateAlias", AliasName=alias, KeyId=md["KeyId"])
    extra = {"EncryptionContext": context} if context else {}

    enc = kms.call("Encrypt", KeyId=alias, Plaintext=AWKWARD_TEXT, **extra)
    assert_request_id(enc)
    assert enc["KeyId"] == md["KeyId"]  # the resolved id, not the alias
    assert enc["KeyVersionId"] == md["PrimaryKeyVersion"]
    version, iv, rest = blob_parts(enc["CiphertextBlob"])
    assert version == enc["KeyVersionId"]
    assert len(iv) == 12
    assert len(rest) == len(AWKWARD_TEXT.encode()) + 16  # GCM ciphertext || 16-byte tag
    assert AWKWARD_TEXT.encode() not in b64decode_strict(enc["CiphertextBlob"])

    dec = kms.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"], **extra)
    assert_request_id(dec)
    assert dec["Plaintext"] == AWKWARD_TEXT  # opaque text, returned verbatim
    assert dec["KeyId"] == md["KeyId"]
    assert dec["KeyVersionId"] == md["PrimaryKeyVersion"]

    # Encrypting the same text twice gives different blobs (random IV).
    again = kms.call("Encrypt", KeyId=md["KeyId"], Plaintext=AWKWARD_TEXT, **extra)
    assert again["CiphertextBlob"] != enc["CiphertextBlob"]


def test_encrypt_plaintext_is_opaque_text(kms):
    k = create_key(kms)["KeyId"]
    for text in ["aGVsbG8=", "not base64 at all!", "a", " leading and trailing ", "=" * 7]:
        enc = kms.call("Encrypt", KeyId=k, Plaintext=text)
        assert kms.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])["Plaintext"] == text


def test_dry_run_false_is_a_normal_call(kms):
    k = create_key(kms)["KeyId"]
    enc = kms.call("Encrypt", KeyId=k, Plaintext="dry false", DryRun=False)
    dec = kms.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"], DryRun=False)
    assert dec["Plaintext"] == "dry false"
    gdk = kms.call("GenerateDataKey", KeyId=k, DryRun=False)
    assert len(b64decode_strict(gdk["Plaintext"])) == 32


# --------------------------------------------------------------------------------------------
# Data keys
# --------------------------------------------------------------------------------------------


def test_generate_data_key_default(kms):
    md = create_key(kms)
    body = kms.call("GenerateDataKey", KeyId=md["KeyId"])
    assert_request_id(body)
    assert set(body) >= {"KeyId", "KeyVersionId", "Plaintext", "CiphertextBlob"}
    assert body["KeyId"] == md["KeyId"]
    assert body["KeyVersionId"] == md["PrimaryKeyVersion"]
    dk = b64decode_strict(body["Plaintext"])
    assert len(dk) == 32
    raw = b64decode_strict(body["CiphertextBlob"])
    assert len(raw) == 108, len(raw)  # 36 + 12 + 44 (base64 of 32 bytes) + 16
    assert raw[:36].decode("ascii") == body["KeyVersionId"]
    assert dk not in raw and body["Plaintext"].encode() not in raw

    dec = kms.call("Decrypt", CiphertextBlob=body["CiphertextBlob"])
    assert dec["Plaintext"] == body["Plaintext"]
    assert dec["KeyId"] == md["KeyId"] and dec["KeyVersionId"] == md["PrimaryKeyVersion"]


@pytest.mark.parametrize("params,size", [
    ({"NumberOfBytes": 1}, 1),
    ({"NumberOfBytes": 16}, 16),
    ({"NumberOfBytes": 24}, 24),
    ({"NumberOfBytes": 1024}, 1024),
    ({"KeySpec": "AES_128"}, 16),
    ({"KeySpec": "AES_256"}, 32),
    ({"KeySpec": "AES_128", "NumberOfBytes": 64}, 64),  # NumberOfBytes wins over KeySpec
])
def test_generate_data_key_sizes(kms, params, size):
    k = create_key(kms)["KeyId"]
    ctx = {"file": "sales.csv"}
    body = kms.call("GenerateDataKey", KeyId=k, EncryptionContext=ctx, **params)
    dk = b64decode_strict(body["Plaintext"])
    assert len(dk) == size
    assert len(b64decode_strict(body["CiphertextBlob"])) == 36 + 12 + len(body["Plaintext"]) + 16
    dec = kms.call("Decrypt", CiphertextBlob=body["CiphertextBlob"], EncryptionContext=ctx)
    assert dec["Plaintext"] == body["Plaintext"]


def test_generate_data_keys_are_random(kms):
    k = create_key(kms)["KeyId"]
    keys = {kms.call("GenerateDataKey", KeyId=k)["Plaintext"] for _ in range(4)}
    assert len(keys) == 4


def test_generate_data_key_without_plaintext(kms):
    md = create_key(kms)
    alias = f"alias/{unique('gdkwp')}"
    kms.call("CreateAlias", AliasName=alias, KeyId=md["KeyId"])
    ctx = {"tenant": "acme"}
    body = kms.call("GenerateDataKeyWithoutPlaintext", KeyId=alias, NumberOfBytes=16,
                    EncryptionContext=ctx)
    assert_request_id(body)
    assert "Plaintext" not in body or body["Plaintext"] is None, body
    assert body["KeyId"] == md["KeyId"] and body["KeyVersionId"] == md["PrimaryKeyVersion"]
    raw = b64decode_strict(body["CiphertextBlob"])
    assert raw[:36].decode("ascii") == md["PrimaryKeyVersion"]
    dec = kms.call("Decrypt", CiphertextBlob=body["CiphertextBlob"], EncryptionContext=ctx)
    assert len(b64decode_strict(dec["Plaintext"])) == 16
    assert len(raw) == 36 + 12 + len(dec["Plaintext"]) + 16

    default = kms.call("GenerateDataKeyWithoutPlaintext", KeyId=md["KeyId"])
    assert len(b64decode_strict(default["CiphertextBlob"])) == 108
    dk = kms.call("Decrypt", CiphertextBlob=default["CiphertextBlob"])["Plaintext"]
    assert len(b64decode_strict(dk)) == 32


# --------------------------------------------------------------------------------------------
# Across SDKs and signing modes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("producer", FLAVORS)
def test_blobs_decrypt_across_sdks(server, producer):
    """A blob made by one SDK/signing mode decrypts through every other one, with the context
    rendered the way each SDK renders it (old: `{"a": "1"}` via json.dumps; new: compact)."""
    p = make_client(server, producer)
    k = create_key(p)["KeyId"]
    ctx = {"b": "2", "a": "1 + ü"}
    gdk = p.call("GenerateDataKey", KeyId=k, EncryptionContext=ctx)
    enc = p.call("Encrypt", KeyId=k, Plaintext=AWKWARD_TEXT, EncryptionContext=ctx)
    reordered = {"a": "1 + ü", "b": "2"}
    for consumer in FLAVORS:
        c = make_client(server, consumer)
        assert c.call("Decrypt", CiphertextBlob=gdk["CiphertextBlob"],
                      EncryptionContext=reordered)["Plaintext"] == gdk["Plaintext"], consumer
        assert c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"],
                      EncryptionContext=ctx)["Plaintext"] == AWKWARD_TEXT, consumer


def test_equivalent_context_spellings_decrypt(old):
    """Key order and whitespace do not matter (old SDK passes the JSON string through as-is)."""
    k = create_key(old)["KeyId"]
    enc = old.call("Encrypt", KeyId=k, Plaintext="ctx", EncryptionContext='{"a":"1","b":"2"}')
    for spelling in ['{"b": "2", "a": "1"}', '{ "a" : "1" ,\n "b" : "2" }', '{"b":"2","a":"1"}',
                     json.dumps({"a": "1", "b": "2"}, indent=2)]:
        dec = old.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=spelling)
        assert dec["Plaintext"] == "ctx", spelling


@pytest.mark.parametrize("new_flavor", [f for f in FLAVORS if f != "old"])
def test_new_sdk_response_headers(server, new_flavor):
    # (The old SDK's do_action_with_exception returns only the body; raw-HTTP tests cover it.)
    kms = make_client(server, new_flavor)
    body = kms.call("DescribeRegions")
    resp = kms.last_response
    assert resp.status_code == 200
    headers = {k.lower(): v for k, v in resp.headers.items()}
    assert headers["content-type"] == "application/json;charset=utf-8"
    assert headers["x-acs-request-id"] == body["RequestId"]


def test_old_sdk_deprecated_do_action(server):
    """`do_action` (used by Alibaba's own envelope sample) sends Format unless set; the server
    must answer JSON regardless (reference §2.4)."""
    old = make_client(server, "old")
    req = old.request("DescribeRegions")
    body = json.loads(old.client.do_action(req))
    assert body["Regions"]["Region"], body
    req = old.request("CreateKey", Description="via do_action")
    req.set_accept_format("JSON")
    body = json.loads(old.client.do_action(req))
    assert body["KeyMetadata"]["Description"] == "via do_action"
    # Errors come back as a JSON body too (do_action never raises).
    req = old.request("DescribeKey", KeyId="no-such-key")
    err = json.loads(old.client.do_action(req))
    assert err["Code"] == "Forbidden.KeyNotFound", err


def test_old_sdk_boolean_and_int_rendering(server):
    """The old SDK sends Python's `True`/`32` via str(); the server parses them."""
    old = make_client(server, "old")
    k = create_key(old)["KeyId"]
    with pytest.raises(KmsError) as ei:
        old.call("GenerateDataKey", KeyId=k, NumberOfBytes=32, DryRun=True)
    assert ei.value.code == "DryRunOperationError"
    body = old.call("GenerateDataKey", KeyId=k, NumberOfBytes=32, DryRun=False)
    assert len(base64.b64decode(body["Plaintext"])) == 32


def test_concurrent_clients(server):
    """8 threads (both SDKs, all signing modes) creating, aliasing and using keys at once:
    no errors, no lost writes, no false nonce rejections."""
    import threading

    errors: list[str] = []
    created: list[str] = []
    lock = threading.Lock()
    tag = unique("conc")

    def worker(i: int) -> None:
        c = make_client(server, FLAVORS[i % len(FLAVORS)])
        for j in range(8):
            try:
                k = c.call("CreateKey")["KeyMetadata"]["KeyId"]
                alias = f"alias/{tag}/{i}/{j}"
                c.call("CreateAlias", AliasName=alias, KeyId=k)
                enc = c.call("Encrypt", KeyId=alias, Plaintext=f"{i}-{j}")
                assert c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])["Plaintext"] \
                    == f"{i}-{j}"
                with lock:
                    created.append(alias)
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                with lock:
                    errors.append(f"{c.flavor}: {e!r}"[:300])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:5]
    assert len(created) == 64
    old = make_client(server, "old")
    for alias in created[::7]:
        assert old.call("DescribeKey", KeyId=alias)["KeyMetadata"]["KeyState"] == "Enabled"


def test_old_sdk_with_get_method(server):
    """RPC requests may be sent as GET (the string-to-sign then starts with GET&)."""
    from aliyunsdkcore.http import method_type

    old = make_client(server, "old")
    req = old.request("CreateKey", Description="made with GET")
    req.set_method(method_type.GET)
    md = json.loads(old.client.do_action_with_exception(req))["KeyMetadata"]
    assert md["Description"] == "made with GET"
    req = old.request("GenerateDataKey", KeyId=md["KeyId"], EncryptionContext={"via": "GET"})
    req.set_method(method_type.GET)
    gdk = json.loads(old.client.do_action_with_exception(req))
    assert old.call("Decrypt", CiphertextBlob=gdk["CiphertextBlob"],
                    EncryptionContext={"via": "GET"})["Plaintext"] == gdk["Plaintext"]
