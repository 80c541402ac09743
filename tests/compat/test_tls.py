"""TLS with the server's generated CA, and plain HTTP with `--no-tls`, through both SDKs and
their documented knobs (reference §2.3, §3.5)."""

from __future__ import annotations

import json
import ssl
import socket

import pytest
import requests

from kwtest import REGION, FLAVORS, make_client, unique


def _old_client(ak, secret, **kw):
    from aliyunsdkcore.client import AcsClient

    return AcsClient(ak, secret, REGION, **kw)


def _old_request(action="DescribeRegions"):
    import importlib

    mod = importlib.import_module(f"aliyunsdkkms.request.v20160120.{action}Request")
    return getattr(mod, f"{action}Request")()


def _new_client(server, mode="v3", **kw):
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi import models as open_api_models

    ak, secret = server.credentials()
    extra = {"v2": {"signature_algorithm": "v2"}, "v4": {"signature_version": "v4"}}.get(mode, {})
    return Client(open_api_models.Config(access_key_id=ak, access_key_secret=secret,
                                         endpoint=kw.pop("endpoint", server.host),
                                         region_id=REGION, **extra, **kw))


# --------------------------------------------------------------------------------------------
# TLS server, trusted CA
# --------------------------------------------------------------------------------------------


def test_old_sdk_verify_ca(server):
    from aliyunsdkcore.http import protocol_type

    ak, secret = server.credentials()
    client = _old_client(ak, secret, verify=server.ca)
    req = _old_request()
    req.set_endpoint(server.host)  # protocol stays the class default: https
    assert req.get_protocol_type() == protocol_type.HTTPS
    body = json.loads(client.do_action_with_exception(req))
    assert body["Regions"]["Region"]


def test_old_sdk_ca_bundle_env(server, monkeypatch):
    ak, secret = server.credentials()
    monkeypatch.setenv("ALIBABA_CLOUD_CA_BUNDLE", server.ca)
    client = _old_client(ak, secret)  # no verify= → ALIBABA_CLOUD_CA_BUNDLE
    req = _old_request()
    req.set_endpoint(server.host)
    assert json.loads(client.do_action_with_exception(req))["Regions"]["Region"]


def test_old_sdk_endpoint_recipes(server):
    """§2.3 (b) scheme in the endpoint, (c) per-client add_endpoint, (d) port= + bare host."""
    ak, secret = server.credentials()
    # (b)
    client = _old_client(ak, secret, verify=server.ca)
    req = _old_request()
    req.set_endpoint(f"https://{server.host}")
    assert json.loads(client.do_action_with_exception(req))["Regions"]["Region"]
    # (c)
    client = _old_client(ak, secret, verify=server.ca)
    client.add_endpoint(REGION, "Kms", server.host)
    req = _old_request("CreateKey")
    req.set_Description("added endpoint")
    md = json.loads(client.do_action_with_exception(req))["KeyMetadata"]
    assert md["Description"] == "added endpoint"
    # (d)
    client = _old_client(ak, secret, verify=server.ca, port=server.port)
    req = _old_request("DescribeKey")
    req.set_KeyId(md["KeyId"])
    req.set_endpoint("127.0.0.1")
    assert json.loads(client.do_action_with_exception(req))["KeyMetadata"]["KeyId"] == md["KeyId"]


@pytest.mark.parametrize("mode", ["v3", "v2", "v4"])
def test_new_sdk_config_ca(server, mode):
    from alibabacloud_kms20160120 import models

    client = _new_client(server, mode, ca=server.ca)
    resp = client.create_key(models.CreateKeyRequest(description=f"tls {mode}"))
    assert resp.status_code == 200
    key_id = resp.body.key_metadata.key_id
    enc = client.encrypt(models.EncryptRequest(key_id=key_id, plaintext="over tls"))
    dec = client.decrypt(models.DecryptRequest(ciphertext_blob=enc.body.ciphertext_blob))
    assert dec.body.plaintext == "over tls"


def test_requests_with_ca_and_localhost_name(server):
    assert requests.get(server.url + "/health", verify=server.ca, timeout=10).status_code == 200
    # The certificate is valid for the name localhost as well.
    assert requests.get(f"https://localhost:{server.port}/health", verify=server.ca,
                        timeout=10).status_code == 200


def test_tls_handshake_details(server):
    ctx = ssl.create_default_context(cafile=server.ca)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3"), tls.version()
    # Old protocol versions are refused.
    old_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old_ctx.load_verify_locations(server.ca)
    try:
        old_ctx.minimum_version = ssl.TLSVersion.TLSv1
        old_ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, AttributeError):  # pragma: no cover - OpenSSL without TLS 1.0/1.1
        return
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        with pytest.raises(ssl.SSLError):
            old_ctx.wrap_socket(sock, server_hostname="127.0.0.1").close()


# --------------------------------------------------------------------------------------------
# TLS server, CA not trusted
# --------------------------------------------------------------------------------------------


def test_old_sdk_without_ca_fails(server):
    from aliyunsdkcore.acs_exception.exceptions import ClientException

    ak, secret = server.credentials()
    client = _old_client(ak, secret)  # default verify=True → certifi bundle
    req = _old_request()
    req.set_endpoint(server.host)
    with pytest.raises(ClientException) as ei:
        client.do_action_with_exception(req)
    assert ei.value.get_error_code() == "SDK.HttpError"
    assert "CERTIFICATE_VERIFY_FAILED" in str(ei.value) or "SSL" in str(ei.value), ei.value


NEW_SDK_NO_CA = r"""
import json, sys
from alibabacloud_kms20160120.client import Client
from alibabacloud_kms20160120 import models
from alibabacloud_tea_openapi import models as open_api_models
host, ak, secret, mode = sys.argv[1:5]
extra = {"v2": {"signature_algorithm": "v2"}, "v4": {"signature_version": "v4"}}.get(mode, {})
client = Client(open_api_models.Config(access_key_id=ak, access_key_secret=secret, endpoint=host,
                                       region_id="cn-hangzhou", **extra))
try:
    client.create_key(models.CreateKeyRequest(description="must not be created"))
except Exception as e:
    print("FAILED:", e)
    sys.exit(3)
print("SUCCEEDED")
"""


@pytest.mark.parametrize("mode", ["v3", "v2", "v4"])
def test_new_sdk_without_ca_fails(server, mode):
    # A fresh process: the new SDK caches HTTP sessions per host:port for the whole process, so
    # in-process a CA-less client could reuse a connection verified earlier by another client.
    import subprocess
    import sys

    ak, secret = server.credentials()
    before = make_client(server, "old").call("ListKeys", PageSize=1)["TotalCount"]
    proc = subprocess.run([sys.executable, "-c", NEW_SDK_NO_CA, server.host, ak, secret, mode],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert "CERTIFICATE_VERIFY_FAILED" in proc.stdout or "SSL" in proc.stdout, proc.stdout
    assert make_client(server, "old").call("ListKeys", PageSize=1)["TotalCount"] == before


def test_client_trusting_another_servers_ca_fails(server, start_server):
    other = start_server()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url + "/health", verify=other.ca, timeout=10)
    from aliyunsdkcore.acs_exception.exceptions import ClientException

    ak, secret = server.credentials()
    client = _old_client(ak, secret, verify=other.ca)
    req = _old_request()
    req.set_endpoint(server.host)
    with pytest.raises(ClientException):
        client.do_action_with_exception(req)


def test_requests_without_ca_fails(server):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url + "/health", timeout=10)


def test_plain_http_to_tls_port_is_not_served(server):
    """No cleartext fallback: an http:// client gets no API answer from the TLS port."""
    try:
        r = requests.get(f"http://{server.host}/health", timeout=10)
    except requests.exceptions.ConnectionError:
        return
    assert r.status_code != 200 and "RequestId" not in r.text, (r.status_code, r.text)


# --------------------------------------------------------------------------------------------
# Plain HTTP server (--no-tls)
# --------------------------------------------------------------------------------------------


def test_plain_http_server_announces_http(http_server):
    assert http_server.url.startswith("http://")
    assert http_server.first_line.strip() == f"keywarden listening on {http_server.url}"
    assert requests.get(http_server.url + "/health", timeout=10).status_code == 200


def test_old_sdk_over_http(http_server):
    from aliyunsdkcore.http import protocol_type

    ak, secret = http_server.credentials()
    client = _old_client(ak, secret)
    req = _old_request("CreateKey")
    req.set_endpoint(http_server.host)
    req.set_protocol_type(protocol_type.HTTP)
    md = json.loads(client.do_action_with_exception(req))["KeyMetadata"]
    # Recipe (b): scheme in the endpoint wins over the class's https.
    req = _old_request("GenerateDataKey")
    req.set_KeyId(md["KeyId"])
    req.set_endpoint(f"http://{http_server.host}")
    gdk = json.loads(client.do_action_with_exception(req))
    assert len(gdk["Plaintext"]) == 44
    # Recipe (c): add_endpoint with the scheme.
    client2 = _old_client(ak, secret)
    client2.add_endpoint(REGION, "Kms", f"http://{http_server.host}")
    req = _old_request("Decrypt")
    req.set_CiphertextBlob(gdk["CiphertextBlob"])
    assert json.loads(client2.do_action_with_exception(req))["Plaintext"] == gdk["Plaintext"]


@pytest.mark.parametrize("mode", ["v3", "v2", "v4"])
def test_new_sdk_over_http(http_server, mode):
    from alibabacloud_kms20160120 import models

    client = _new_client(http_server, mode, protocol="http")
    key_id = client.create_key(models.CreateKeyRequest()).body.key_metadata.key_id
    alias = f"alias/{unique('http')}"
    client.create_alias(models.CreateAliasRequest(alias_name=alias, key_id=key_id))
    gdk = client.generate_data_key(models.GenerateDataKeyRequest(
        key_id=alias, encryption_context={"over": "http"}))
    dec = client.decrypt(models.DecryptRequest(ciphertext_blob=gdk.body.ciphertext_blob,
                                               encryption_context={"over": "http"}))
    assert dec.body.plaintext == gdk.body.plaintext


@pytest.mark.parametrize("flavor", FLAVORS)
def test_every_flavor_over_http(http_server, flavor):
    c = make_client(http_server, flavor)
    assert c.call("DescribeRegions")["Regions"]["Region"]


def test_https_client_to_http_server_fails(http_server):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"https://{http_server.host}/health", verify=False, timeout=10)


def test_sdks_via_localhost_name(server):
    """Endpoint `localhost:PORT` (certificate name localhost; the Host header the V3/V4
    signatures cover is then `localhost:PORT`)."""
    from alibabacloud_kms20160120 import models

    ak, secret = server.credentials()
    host = f"localhost:{server.port}"
    client = _old_client(ak, secret, verify=server.ca)
    req = _old_request()
    req.set_endpoint(host)
    assert json.loads(client.do_action_with_exception(req))["Regions"]["Region"]
    for mode in ("v3", "v2", "v4"):
        c = _new_client(server, mode, ca=server.ca, endpoint=host)
        assert c.describe_regions().body.regions.region, mode
        key_id = c.create_key(models.CreateKeyRequest()).body.key_metadata.key_id
        assert c.describe_key(models.DescribeKeyRequest(key_id=key_id)).status_code == 200


@pytest.mark.parametrize("mode", ["v3", "v2", "v4"])
def test_new_sdk_endpoint_with_scheme(server, http_server, mode):
    """`Config(endpoint="https://127.0.0.1:PORT")` also works (reference §3.5: the SDK then
    sends and signs `host: https://...`); the server must verify against the Host it got."""
    c = _new_client(server, mode, ca=server.ca, endpoint=server.url, protocol="https")
    assert c.describe_regions().status_code == 200
    c = _new_client(http_server, mode, endpoint=http_server.url, protocol="http")
    assert c.describe_regions().status_code == 200
