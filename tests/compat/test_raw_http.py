"""The wire protocol without any SDK code: requests signed by this suite's own implementation of
RPC v1 (HMAC-SHA1) and ACS3-HMAC-SHA256 (reference §2.2, §3.3, §4, §5), sent with `requests`.

Covers replayed nonces, stale/future timestamps, wrong Version, unknown Action, missing
signatures, GET as well as POST, and the error/response envelope."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
import requests

from kwtest import (
    acs3_request, acs3_sign, api_time, assert_error_body, assert_ok_body,
    make_client, rpc_v1_call, rpc_v1_params, rpc_v1_sign, rpc_v1_string_to_sign, rpc_v1_url,
    send, unique, utc_now,
)

# --------------------------------------------------------------------------------------------
# The suite's signers reproduce the published vectors (so failures below are the server's)
# --------------------------------------------------------------------------------------------


def test_rpc_v1_signer_matches_documented_vector():
    params = {"AccessKeyId": "testid", "Action": "CreateKey", "Format": "json",
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0",
              "Timestamp": "2016-03-28T03:13:08Z", "Version": "2016-01-20"}
    sts = rpc_v1_string_to_sign("GET", params)
    assert sts == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateKey%26Format%3Djson%26SignatureMethod"
        "%3DHMAC-SHA1%26SignatureVersion%3D1.0%26Timestamp%3D2016-03-28T03%253A13%253A08Z"
        "%26Version%3D2016-01-20")
    assert rpc_v1_sign("testsecret", sts) == "41wk2SSX1GJh7fwnc5eqOfiJPFg="


def test_acs3_signer_matches_captured_vector():
    headers = {
        "accept": "application/json",
        "host": "127.0.0.1:18080",
        "user-agent": "AlibabaCloud (Linux; x86_64) Python/3.11.7 Core/0.4.3 TeaDSL/2",
        "x-acs-action": "Encrypt",
        "x-acs-content-sha256": hashlib.sha256(b"").hexdigest(),
        "x-acs-credentials-provider": "static_ak",
        "x-acs-date": "2026-11-22T08:50:14Z",
        "x-acs-signature-nonce": "2a381ce6e8f20f6392e740247a4862a2",
        "x-acs-version": "2016-01-20",
    }
    query = {"EncryptionContext": '{"k":"v"}', "KeyId": "1234abcd-12ab-34cd-56ef-12345678****",
             "Plaintext": "hello world +/= ü"}
    _, sig, canonical = acs3_sign("POST", query, headers, headers["x-acs-content-sha256"],
                                  "TestAccessKeySecret123")
    assert hashlib.sha256(canonical.encode()).hexdigest() == \
        "3d08bd548f32947e0ed97a593f53d8e34676267f2eff68b0435c5a9c84c2ba05"
    assert sig == "f005b3128e2081043e648ab472251213e6a831d253247a93d89290d6c91eb5ea"


# --------------------------------------------------------------------------------------------
# Plain successes over raw HTTP
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_rpc_v1_raw_success(server, method):
    body = assert_ok_body(rpc_v1_call(server, "CreateKey",
                                      {"Description": "raw ü +*~"}, method=method))
    md = body["KeyMetadata"]
    assert md["Description"] == "raw ü +*~"
    enc = assert_ok_body(rpc_v1_call(server, "Encrypt", {"KeyId": md["KeyId"],
                                                         "Plaintext": "raw text"}, method=method))
    dec = assert_ok_body(rpc_v1_call(server, "Decrypt",
                                     {"CiphertextBlob": enc["CiphertextBlob"]}, method=method))
    assert dec["Plaintext"] == "raw text"
    lst = assert_ok_body(rpc_v1_call(server, "ListKeys", {"PageSize": 3}, method=method))
    # JSON types on the wire (the new SDK would not notice strings here).
    assert type(lst["TotalCount"]) is int and type(lst["PageNumber"]) is int \
        and type(lst["PageSize"]) is int, lst


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_acs3_raw_success(server, method):
    resp = send(server, acs3_request(server, "GenerateDataKey", method=method,
                                     query={"KeyId": _key(server), "NumberOfBytes": 16,
                                            "EncryptionContext": '{"a":"b c"}'}))
    body = assert_ok_body(resp)
    assert len(body["Plaintext"]) == 24


def test_form_body_parameters_are_signed_and_read(server):
    """Parameters may arrive in an x-www-form-urlencoded body (how the new SDK sends
    `Recipient.*`); ACS3 signs the body hash."""
    key = _key(server)
    body = f"KeyId={key}&Plaintext=from+the+body".encode()
    p = acs3_request(server, "Encrypt", body=body)
    p.headers["Content-Type"] = "application/x-www-form-urlencoded"
    # Content-Type was added after signing, and it is not in SignedHeaders: still valid.
    enc = assert_ok_body(send(server, p))
    dec = assert_ok_body(rpc_v1_call(server, "Decrypt", {"CiphertextBlob": enc["CiphertextBlob"]}))
    assert dec["Plaintext"] == "from the body"


def test_health(server):
    r = server.health()
    assert r.status_code == 200


# --------------------------------------------------------------------------------------------
# Replay, clock skew, version, action, signature
# --------------------------------------------------------------------------------------------


def test_rpc_v1_nonce_reuse(server):
    p = rpc_v1_params("DescribeRegions", server.ak)
    url = rpc_v1_url(server, p, server.secret)
    assert_ok_body(requests.post(url, verify=server.verify, timeout=10))
    # Byte-identical replay.
    assert_error_body(requests.post(url, verify=server.verify, timeout=10), 400,
                      "SignatureNonceUsed")
    # Same nonce, fresh signature over different parameters: still a reused nonce.
    p2 = rpc_v1_params("ListKeys", server.ak, {"PageSize": 2}, nonce=p["SignatureNonce"])
    assert_error_body(requests.post(rpc_v1_url(server, p2, server.secret), verify=server.verify,
                                    timeout=10), 400, "SignatureNonceUsed")


def test_replay_does_not_repeat_a_write(server):
    key = _key(server)
    alias = f"alias/{unique('replay')}"
    p = rpc_v1_params("CreateAlias", server.ak, {"AliasName": alias, "KeyId": key})
    url = rpc_v1_url(server, p, server.secret)
    assert_ok_body(requests.post(url, verify=server.verify, timeout=10))
    assert_ok_body(rpc_v1_call(server, "DeleteAlias", {"AliasName": alias}))
    assert_error_body(requests.post(url, verify=server.verify, timeout=10), 400,
                      "SignatureNonceUsed")
    assert_error_body(rpc_v1_call(server, "DescribeKey", {"KeyId": alias}), 404,
                      "Forbidden.AliasNotFound")


def test_acs3_nonce_reuse(server):
    prepared = acs3_request(server, "DescribeRegions")
    assert_ok_body(send(server, prepared))
    assert_error_body(send(server, prepared), 400, "SignatureNonceUsed")


def test_bad_signature_does_not_burn_the_nonce(server):
    """A forged request must not be able to use up someone else's nonce (auth before nonce)."""
    nonce = uuid.uuid4().hex
    forged = rpc_v1_params("DescribeRegions", server.ak, nonce=nonce)
    assert_error_body(requests.post(rpc_v1_url(server, forged, "wrong-secret"),
                                    verify=server.verify, timeout=10), 400,
                      "SignatureDoesNotMatch")
    genuine = rpc_v1_params("DescribeRegions", server.ak, nonce=nonce)
    assert_ok_body(requests.post(rpc_v1_url(server, genuine, server.secret),
                                 verify=server.verify, timeout=10))


@pytest.mark.parametrize("skew_minutes", [-16, 16, -60 * 24, 60 * 24 * 365])
def test_rpc_v1_expired_timestamp(server, skew_minutes):
    ts = api_time(utc_now() + timedelta(minutes=skew_minutes))
    assert_error_body(rpc_v1_call(server, "DescribeRegions", timestamp=ts), 400,
                      "InvalidTimeStamp.Expired")


@pytest.mark.parametrize("skew_minutes", [-16, 16])
def test_acs3_expired_date(server, skew_minutes):
    date = api_time(utc_now() + timedelta(minutes=skew_minutes))
    assert_error_body(send(server, acs3_request(server, "DescribeRegions", date=date)), 400,
                      "InvalidTimeStamp.Expired")


@pytest.mark.parametrize("skew_minutes", [-14, 14])
def test_timestamp_inside_window_is_accepted(server, skew_minutes):
    ts = api_time(utc_now() + timedelta(minutes=skew_minutes))
    assert_ok_body(rpc_v1_call(server, "DescribeRegions", timestamp=ts))
    assert_ok_body(send(server, acs3_request(server, "DescribeRegions", date=ts)))


def test_wrong_version(server):
    for v in ("2014-05-26", "2016-01-21", "latest"):
        assert_error_body(rpc_v1_call(server, "DescribeRegions", version=v), 400, "InvalidVersion")
        assert_error_body(send(server, acs3_request(server, "DescribeRegions", version=v)), 400,
                          "InvalidVersion")


def test_unknown_action(server):
    for action in ("NoSuchAction", "ListKmsInstances", "describekey", "Describe Key", ""):
        assert_error_body(rpc_v1_call(server, action, {"KeyId": "x"}), 404,
                          "InvalidAction.NotFound")
        assert_error_body(send(server, acs3_request(server, action, {"KeyId": "x"})), 404,
                          "InvalidAction.NotFound")


def test_missing_signature(server):
    p = rpc_v1_params("DescribeRegions", server.ak)
    r = requests.post(rpc_v1_url(server, p, None), verify=server.verify, timeout=10)
    body = assert_error_body(r, 400, "IncompleteSignature")
    # ...and no business parameters at all (a bare POST /).
    r = requests.post(server.url + "/", verify=server.verify, timeout=10)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["Code"] and r.json()["RequestId"], r.text
    assert body["Message"]


def test_signature_mismatch_message_carries_string_to_sign(server):
    """Tampering after signing → SignatureDoesNotMatch whose Message ends with the server's
    string-to-sign, exactly as the client computed it (what the old SDK keys its rewrite on)."""
    p = rpc_v1_params("CreateKey", server.ak, {"Description": "original"})
    sig = rpc_v1_sign(server.secret, rpc_v1_string_to_sign("POST", p))
    tampered = dict(p, Description="tampered")
    url = rpc_v1_url(server, tampered, None) + "&Signature=" + requests.utils.quote(sig, safe="")
    body = assert_error_body(requests.post(url, verify=server.verify, timeout=10), 400,
                             "SignatureDoesNotMatch")
    prefix = "Specified signature is not matched with our calculation. server string to sign is:"
    assert body["Message"] == prefix + rpc_v1_string_to_sign("POST", tampered), body["Message"]


def test_signed_for_post_sent_as_get(server):
    p = rpc_v1_params("DescribeRegions", server.ak)
    url = rpc_v1_url(server, p, server.secret, method="POST")
    assert_error_body(requests.get(url, verify=server.verify, timeout=10), 400,
                      "SignatureDoesNotMatch")


def test_wrong_secret_raw(server):
    assert_error_body(rpc_v1_call(server, "DescribeRegions", secret="not-the-secret"), 400,
                      "SignatureDoesNotMatch")
    assert_error_body(send(server, acs3_request(server, "DescribeRegions", secret="nope")), 400,
                      "SignatureDoesNotMatch")


def test_unknown_access_key_raw(server):
    assert_error_body(rpc_v1_call(server, "DescribeRegions", ak="LTAI5tNoSuchKey0000"), 404,
                      "InvalidAccessKeyId.NotFound")
    assert_error_body(send(server, acs3_request(server, "DescribeRegions", ak="LTAI5tNoSuchKey")),
                      404, "InvalidAccessKeyId.NotFound")


def test_body_hash_mismatch_is_rejected(server):
    p = acs3_request(server, "DescribeRegions", body=b"")
    p.prepare_body(b"Extra=1", None)
    p.headers["Content-Type"] = "application/x-www-form-urlencoded"
    r = send(server, p)
    assert r.status_code == 400, r.text
    assert r.json()["Code"] in ("IncompleteSignature", "SignatureDoesNotMatch"), r.text


def test_error_envelope_on_every_error_kind(server):
    """Every error (auth, routing, business) has the full body and headers."""
    cases = [
        (rpc_v1_call(server, "DescribeKey", {"KeyId": "missing"}), 404, "Forbidden.KeyNotFound"),
        (rpc_v1_call(server, "DescribeKey"), 400, "MissingParameter"),
        (rpc_v1_call(server, "NoSuchAction"), 404, "InvalidAction.NotFound"),
        (rpc_v1_call(server, "DescribeRegions", version="1999-01-01"), 400, "InvalidVersion"),
        (rpc_v1_call(server, "DescribeRegions", secret="x"), 400, "SignatureDoesNotMatch"),
    ]
    for resp, status, code in cases:
        assert_error_body(resp, status, code)


def test_unicode_and_reserved_characters_in_parameters(server):
    """Values needing percent-encoding (space, +, *, ~, /, =, non-ASCII) survive both schemes."""
    text = "a b+c*d~e/f=g&h%i ü 中 😀"
    key = _key(server)
    enc = assert_ok_body(rpc_v1_call(server, "Encrypt", {"KeyId": key, "Plaintext": text}))
    dec = assert_ok_body(send(server, acs3_request(server, "Decrypt",
                                                   {"CiphertextBlob": enc["CiphertextBlob"]})))
    assert dec["Plaintext"] == text


def _key(server) -> str:
    return make_client(server, "new-v3").call("CreateKey")["KeyMetadata"]["KeyId"]


def test_nonce_reuse_after_restart(start_server):
    """A captured request must not become replayable just because the server restarted within
    the 15-minute window (the nonce window is state; shared/DESIGN.md puts it in the store)."""
    srv = start_server()
    p = rpc_v1_params("DescribeRegions", srv.ak)
    query = rpc_v1_url(srv, p, srv.secret).split("/?", 1)[1]
    assert_ok_body(requests.post(f"{srv.url}/?{query}", verify=srv.verify, timeout=10))
    assert srv.stop() == 0
    again = start_server(srv.data_dir)
    # RPC v1 does not sign the host, so the captured query replays as-is on the new port.
    assert_error_body(requests.post(f"{again.url}/?{query}", verify=again.verify, timeout=10),
                      400, "SignatureNonceUsed")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_unsupported_http_method_gets_the_error_envelope(server, method):
    """Only GET and POST carry the API; other methods still get the JSON error shape
    (403 UnsupportedHTTPMethod, reference §5.2) with a RequestId."""
    p = rpc_v1_params("DescribeRegions", server.ak)
    url = rpc_v1_url(server, p, server.secret, method=method)
    assert_error_body(requests.request(method, url, verify=server.verify, timeout=10), 403,
                      "UnsupportedHTTPMethod")


def test_oversized_body_gets_the_error_envelope(server):
    """A body over the server's limit is refused with the JSON error shape, not plain text."""
    p = acs3_request(server, "DescribeRegions", body=b"Padding=" + b"x" * 70_000)
    p.headers["Content-Type"] = "application/x-www-form-urlencoded"
    r = send(server, p)
    assert 400 <= r.status_code < 500, r.status_code
    assert r.headers.get("Content-Type", "").replace(" ", "").lower() == \
        "application/json;charset=utf-8", (r.headers, r.text)
    body = r.json()
    assert body.get("Code") and body.get("RequestId"), body
    assert r.headers.get("x-acs-request-id") == body["RequestId"]


def test_unknown_path_gets_the_error_envelope(server):
    r = requests.get(server.url + "/no/such/path", verify=server.verify, timeout=10)
    assert 400 <= r.status_code < 500
    body = r.json()
    assert body["Code"] and body["RequestId"] == r.headers.get("x-acs-request-id"), body
