"""Audit trail, request limits and operator TLS through the official SDKs.

* Rate limit: the new SDK raises `ThrottlingException` (with `retry_after` from
  `x-acs-retry-after`), the old SDK a `ServerException` with code `Throttling`.
* TLS with the operator's certificate (`--tls-cert/--tls-key`, made here with `cryptography`):
  both SDKs trust it through their CA knobs; SIGHUP reloads a replaced certificate; required
  client certificates; no TLS below 1.2.
* Audit: every SDK call (four clients, successes and failures, a forged signature) is in
  `keywarden audit --verify` output once, with access key, user, action, key id, version,
  context and outcome; nothing secret is in the trail, the data dir or the server log.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
import requests

from kwtest import FLAVORS, KmsError, keywarden_bin, make_client, unique, wait_until


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def run_audit(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(keywarden_bin()), "audit", "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


def audit_records(data_dir: Path) -> list[dict]:
    out = run_audit(data_dir, "--verify")
    assert out.returncode == 0, out.stderr
    assert "audit trail verified" in out.stderr, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def _needles(secret: bytes) -> dict[str, bytes]:
    out = {"raw": secret}
    if len(secret) >= 8:
        out["hex"] = binascii.hexlify(secret)
        out["b64"] = base64.b64encode(secret)
    return out


def scan(blobs: dict[str, bytes], secrets: dict[str, bytes]) -> list[str]:
    return [f"{name} ({how}) in {where}"
            for where, content in blobs.items()
            for name, secret in secrets.items()
            for how, needle in _needles(secret).items()
            if needle in content]


def data_dir_files(d: Path) -> dict[str, bytes]:
    """Every file of the data dir except the two that hold a secret by design."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and p.name not in ("root.key", "credentials.json")}


class Pki:
    """A CA made with `cryptography`, issuing server and client certificates as PEM files."""

    def __init__(self, directory: Path, name: str):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.dir = directory
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()),
                           critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_path = directory / f"{name}-ca.pem"
        self.ca_path.write_bytes(self.pem(self.cert))

    @staticmethod
    def pem(cert) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding

        return cert.public_bytes(Encoding.PEM)

    def issue(self, cn: str, *, client: bool = False) -> tuple[Path, Path, bytes]:
        """A leaf for localhost / 127.0.0.1: (cert path, key path (0600), DER)."""
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        cert_path = self.dir / f"{cn}.pem"
        key_path = self.dir / f"{cn}.key"
        # Write the key first and replace atomically, as an operator's tooling would.
        tmp = key_path.with_suffix(".tmp")
        tmp.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        os.chmod(tmp, 0o600)
        os.replace(tmp, key_path)
        cert_path.write_bytes(self.pem(cert))
        return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


def served_cert_der(port: int) -> bytes:
    """The certificate a new connection is served (not verified)."""
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))


def install(pair: tuple[Path, Path, bytes], cert: Path, key: Path) -> None:
    """Copies a leaf over the files the server was started with (key first)."""
    os.replace(pair[1], key)
    os.replace(pair[0], cert)


# --------------------------------------------------------------------------------------------
# Rate limit
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavor", ["new-v3", "new-v2"])
def test_new_sdk_raises_throttling_exception(start_server, flavor):
    from alibabacloud_tea_openapi.exceptions import ThrottlingException

    srv = start_server(extra_args=["--rate-limit", "1", "--rate-burst", "3"])
    c = make_client(srv, flavor)
    ok, refused = 0, []
    for _ in range(6):
        try:
            c.call("DescribeRegions")
            ok += 1
        except KmsError as e:
            refused.append(e)
    assert ok in (3, 4), ok  # the burst, plus at most one token refilled meanwhile
    assert refused
    for e in refused:
        assert isinstance(e.native, ThrottlingException), type(e.native)
        assert e.code == "Throttling" and e.status == 400
        assert 1 <= e.native.retry_after <= 1000, e.native.retry_after
        assert e.request_id
    # The bucket refills: after a pause a call passes again.
    assert wait_until(lambda: _passes(c), timeout=5, interval=0.3)


def _passes(c) -> bool:
    try:
        c.call("DescribeRegions")
        return True
    except KmsError as e:
        assert e.code == "Throttling"
        return False


def test_old_sdk_and_v4_see_the_throttling_code(start_server):
    srv = start_server(extra_args=["--rate-limit", "1", "--rate-burst", "2"])
    for flavor in ("old", "new-v4"):
        c = make_client(srv, flavor)
        codes = []
        for _ in range(5):
            try:
                c.call("DescribeRegions")
                codes.append("ok")
            except KmsError as e:
                codes.append(e.code)
                if e.status is not None:
                    assert int(e.status) == 400, e.status
        assert "Throttling" in codes, (flavor, codes)
        assert set(codes) <= {"ok", "Throttling"}, codes
        assert wait_until(lambda: _passes(c), timeout=5, interval=0.3)
    # Throttled calls are audited like any other.
    assert srv.stop() == 0
    throttled = [r for r in audit_records(srv.data_dir) if r["outcome_code"] == "Throttling"]
    assert throttled and all(r["http_status"] == 400 and r["access_key_id"] == srv.ak
                             for r in throttled)


# --------------------------------------------------------------------------------------------
# TLS with the operator's certificate
# --------------------------------------------------------------------------------------------


@pytest.fixture
def operator_tls(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    ca = Pki(d, "operator")
    cert, key, der = ca.issue("server")
    return ca, cert, key, der


def test_both_sdks_trust_the_operator_certificate(start_server, operator_tls, tmp_path):
    ca, cert, key, der = operator_tls
    srv = start_server(tmp_path / "data", extra_args=["--tls-cert", str(cert), "--tls-key", str(key)])
    assert not (srv.data_dir / "tls" / "server.pem").exists(), "nothing generated"
    assert served_cert_der(srv.port) == der
    # Old SDK: AcsClient(verify=<CA>); new SDK: Config(ca=<CA>), in all signing modes.
    for flavor in FLAVORS:
        kw = {"verify": str(ca.ca_path)} if flavor == "old" else {"ca": str(ca.ca_path)}
        c = make_client(srv, flavor, **kw)
        k = c.call("CreateKey", Description=f"operator tls {flavor}")["KeyMetadata"]["KeyId"]
        blob = c.call("Encrypt", KeyId=k, Plaintext="over operator TLS")["CiphertextBlob"]
        assert c.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == "over operator TLS"
    # A client trusting another CA fails verification.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(srv.url + "/health", verify=str(Pki(tmp_path / "pki", "other").ca_path),
                     timeout=10)


def test_sighup_reloads_a_replaced_certificate(start_server, operator_tls, tmp_path):
    ca, cert, key, der = operator_tls
    srv = start_server(tmp_path / "data", extra_args=["--tls-cert", str(cert), "--tls-key", str(key)])
    assert served_cert_der(srv.port) == der
    next_ca = Pki(tmp_path / "pki", "next")
    new = next_ca.issue("server-next")
    install(new, cert, key)
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: served_cert_der(srv.port) == new[2], timeout=10)
    assert "SIGHUP: reloading" in srv.stderr_text()
    with requests.Session() as s:
        assert s.get(srv.url + "/health", verify=str(next_ca.ca_path), timeout=10).status_code == 200
    # A broken certificate file is refused and the current one kept; the server stays up.
    cert.write_text("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "TLS reload failed" in srv.stderr_text(), timeout=10)
    assert served_cert_der(srv.port) == new[2]
    assert srv.alive()
    assert srv.stop() == 0


def test_client_certificates_can_be_required(start_server, operator_tls, tmp_path):
    ca, cert, key, _ = operator_tls
    clients = Pki(tmp_path / "pki", "clients")
    client_cert, client_key, _ = clients.issue("app", client=True)
    srv = start_server(tmp_path / "data", extra_args=[
        "--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(clients.ca_path)])
    with requests.Session() as s:
        r = s.get(srv.url + "/health", verify=str(ca.ca_path),
                  cert=(str(client_cert), str(client_key)), timeout=10)
        assert r.status_code == 200
    with requests.Session() as s, pytest.raises(requests.exceptions.RequestException):
        s.get(srv.url + "/health", verify=str(ca.ca_path), timeout=10)
    stranger_cert, stranger_key, _ = Pki(tmp_path / "pki", "strangers").issue("x", client=True)
    with requests.Session() as s, pytest.raises(requests.exceptions.RequestException):
        s.get(srv.url + "/health", verify=str(ca.ca_path),
              cert=(str(stranger_cert), str(stranger_key)), timeout=10)


def test_no_tls_below_1_2(server):
    """A TLS 1.1 or 1.0 client is refused by the server (an alert, not a local refusal)."""
    for version in ("TLSv1_1", "TLSv1"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = getattr(ssl.TLSVersion, version)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with pytest.raises(ssl.SSLError) as err:
                ctx.wrap_socket(raw)
        assert "ALERT" in str(err.value).upper(), err.value
    for version in ("TLSv1_2", "TLSv1_3"):
        ctx = ssl.create_default_context(cafile=server.ca)
        ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.version() == version.replace("_", ".")


# --------------------------------------------------------------------------------------------
# Audit trail
# --------------------------------------------------------------------------------------------


def test_every_sdk_call_is_audited_and_nothing_secret_is_stored(start_server, tmp_path):
    srv = start_server(tmp_path / "data", log_filter="info,keywarden_server=debug")
    ak, secret = srv.credentials()
    root_key = (srv.data_dir / "root.key").read_bytes()
    secrets: dict[str, bytes] = {"access key secret": secret.encode(), "root key": root_key}
    control = f"audit-control-{unique()}"  # a context value: it MUST be found in the store
    expected: dict[str, dict] = {}

    def record(rid, action, outcome, status, *, key=None, version=None, context=None,
               user="admin", count=1):
        assert rid and rid not in expected
        expected[rid] = dict(action=f"kms:{action}", outcome_code=outcome, http_status=status,
                             access_key_id=ak, user_name=user, key_id=key,
                             key_version_id=version, encryption_context=context, count=count)

    forged_ids = []

    for flavor in FLAVORS:
        c = make_client(srv, flavor)
        created = c.call("CreateKey", Description=f"audit {flavor}")
        key = created["KeyMetadata"]["KeyId"]
        record(created["RequestId"], "CreateKey", "Success", 200, key=key)
        ctx = {"flavor": flavor, "control": control}
        text = f"TOP-SECRET-{unique()}-{flavor}"
        secrets[f"Encrypt plaintext {flavor}"] = text.encode()
        enc = c.call("Encrypt", KeyId=key, Plaintext=text, EncryptionContext=ctx)
        version = enc["KeyVersionId"]
        record(enc["RequestId"], "Encrypt", "Success", 200, key=key, version=version, context=ctx)
        dec = c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=ctx)
        assert dec["Plaintext"] == text
        record(dec["RequestId"], "Decrypt", "Success", 200, key=key, version=version, context=ctx)
        gdk = c.call("GenerateDataKey", KeyId=key, NumberOfBytes=32)
        secrets[f"data key {flavor}"] = gdk["Plaintext"].encode()
        secrets[f"raw data key {flavor}"] = base64.b64decode(gdk["Plaintext"])
        record(gdk["RequestId"], "GenerateDataKey", "Success", 200, key=key, version=version)
        with pytest.raises(KmsError) as e:
            c.call("DescribeKey", KeyId=f"alias/missing-{flavor}")
        record(e.value.request_id, "DescribeKey", "Forbidden.AliasNotFound", 404,
               key=f"alias/missing-{flavor}")
        with pytest.raises(KmsError) as e:
            c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])  # context missing
        record(e.value.request_id, "Decrypt", "InvalidParameter", 400)
        forged = make_client(srv, flavor, secret=secret + "x")
        with pytest.raises(KmsError) as e:
            forged.call("Encrypt", KeyId=key, Plaintext=text, EncryptionContext=ctx)
        forged_ids.append(e.value.request_id)

    # Requests that did not authenticate are counted per source and outcome (over 10 s): the
    # forged ones are one record, with the first one's id, the claimed access key and action
    # they share, no user and no context; their keys differed, so none is named.
    record(forged_ids[0], "Encrypt", "SignatureDoesNotMatch", 400, user=None,
           count=len(forged_ids))

    # Live: the trail is readable (read-only) while the server runs, and complete moments
    # after the calls were answered (the counted group at the end of its 10 s interval).
    assert wait_until(lambda: len(audit_records(srv.data_dir)) == len(expected), timeout=20)
    running = data_dir_files(srv.data_dir)
    assert scan(running, {"control": control.encode()}), "the scan must see the audit rows"
    hits = scan(running, secrets)
    assert srv.stop() == 0

    records = audit_records(srv.data_dir)
    assert len(records) == len(expected)
    for i, r in enumerate(records, start=1):
        assert r["seq"] == i
        assert r["source_ip"] == "127.0.0.1"
        want = expected.pop(r["request_id"])
        got = {k: r.get(k, 1 if k == "count" else None) for k in want}
        assert got == want, r
    assert not expected, f"calls missing from the trail: {expected}"

    log = srv.stderr_text()
    head = next(line for line in reversed(log.splitlines()) if "audit trail closed" in line)
    anchor = head.split("audit_head=")[1].split()[0]
    assert run_audit(srv.data_dir, "--expect-head", anchor, "-q").returncode == 0
    trail = run_audit(srv.data_dir).stdout.encode()
    hits += scan({**data_dir_files(srv.data_dir), "server log": log.encode(),
                  "audit output": trail}, secrets)
    assert not hits, "secret material found:\n" + "\n".join(sorted(set(hits)))
