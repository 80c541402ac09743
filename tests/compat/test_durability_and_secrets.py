"""Durability across SIGKILL and restarts, on-disk permissions, and that no secret material
(the access key secret, data keys, Encrypt plaintexts, the root key) is written anywhere it
should not be: database files (including the WAL) and the server's log."""

from __future__ import annotations

import base64
import binascii
import stat
from pathlib import Path

import pytest
import requests

from kwtest import FLAVORS, KmsError, make_client, unique


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


# --------------------------------------------------------------------------------------------
# Durability
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["old", "new-v3"])
def test_sigkill_right_after_acknowledged_writes(start_server, tmp_path, writer):
    data = tmp_path / "data"
    srv = start_server(data)
    c = make_client(srv, writer)
    md = c.call("CreateKey", Description="survives SIGKILL")["KeyMetadata"]
    alias = f"alias/{unique('durable')}"
    c.call("CreateAlias", AliasName=alias, KeyId=md["KeyId"])
    enc = c.call("Encrypt", KeyId=alias, Plaintext="still here", EncryptionContext={"k": "v"})
    gdk = c.call("GenerateDataKey", KeyId=alias)
    # A second key + alias rebinding, acknowledged just before the kill.
    md2 = c.call("CreateKey")["KeyMetadata"]
    alias2 = f"alias/{unique('rebound')}"
    c.call("CreateAlias", AliasName=alias2, KeyId=md["KeyId"])
    c.call("UpdateAlias", AliasName=alias2, KeyId=md2["KeyId"])
    srv.kill()  # SIGKILL immediately after the last acknowledged write
    assert srv.returncode == -9

    again = start_server(data)
    for flavor in FLAVORS:
        c2 = make_client(again, flavor)
        got = c2.call("DescribeKey", KeyId=alias)["KeyMetadata"]
        for f in ("KeyId", "Arn", "CreationDate", "PrimaryKeyVersion", "Description", "Creator"):
            assert got[f] == md[f], (flavor, f)
        assert c2.call("DescribeKey", KeyId=alias2)["KeyMetadata"]["KeyId"] == md2["KeyId"]
        assert c2.call("DescribeKey", KeyId=md2["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
        assert c2.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"],
                       EncryptionContext={"k": "v"})["Plaintext"] == "still here"
        assert c2.call("Decrypt", CiphertextBlob=gdk["CiphertextBlob"])["Plaintext"] == \
            gdk["Plaintext"]
    keys = make_client(again, "old").call("ListKeys", PageSize=100)
    assert keys["TotalCount"] == 2
    assert {k["KeyId"] for k in keys["Keys"]["Key"]} == {md["KeyId"], md2["KeyId"]}
    assert again.stop() == 0


def test_restart_keeps_credentials_ca_and_keys(start_server, tmp_path):
    data = tmp_path / "data"
    srv = start_server(data)
    creds = (data / "credentials.json").read_bytes()
    ca = (data / "tls" / "ca.pem").read_bytes()
    root = (data / "root.key").read_bytes()
    saved_ca = tmp_path / "client-copy-of-ca.pem"  # what a client would have saved
    saved_ca.write_bytes(ca)
    ak, secret = srv.credentials()
    c = make_client(srv, "new-v3")
    k = c.call("CreateKey")["KeyMetadata"]["KeyId"]
    blob = c.call("Encrypt", KeyId=k, Plaintext="across restarts")["CiphertextBlob"]
    assert srv.stop() == 0  # SIGTERM → graceful exit 0

    again = start_server(data)
    assert (data / "credentials.json").read_bytes() == creds
    assert (data / "tls" / "ca.pem").read_bytes() == ca
    assert (data / "root.key").read_bytes() == root
    # A client holding the old CA copy and the old credentials carries on unchanged.
    for flavor in FLAVORS:
        kw = {"ak": ak, "secret": secret}
        kw["verify" if flavor == "old" else "ca"] = str(saved_ca)
        c2 = make_client(again, flavor, **kw)
        assert c2.call("Decrypt", CiphertextBlob=blob)["Plaintext"] == "across restarts"
    assert requests.get(again.url + "/health", verify=str(saved_ca), timeout=10).status_code == 200
    assert again.stop() == 0


def test_sigterm_exits_zero_and_releases_port(start_server):
    srv = start_server()
    port = srv.port
    make_client(srv, "old").call("DescribeRegions")
    assert srv.stop() == 0
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"https://127.0.0.1:{port}/health", verify=False, timeout=5)


def test_two_servers_do_not_share_keys(start_server):
    a, b = start_server(), start_server()
    assert a.credentials() != b.credentials()
    assert (a.data_dir / "tls" / "ca.pem").read_bytes() != (b.data_dir / "tls" / "ca.pem").read_bytes()
    k = make_client(a, "old").call("CreateKey")["KeyMetadata"]["KeyId"]
    with pytest.raises(KmsError) as ei:
        make_client(b, "old").call("DescribeKey", KeyId=k)
    assert ei.value.code == "Forbidden.KeyNotFound"
    # a's credentials mean nothing to b.
    with pytest.raises(KmsError) as ei:
        make_client(b, "new-v3", ak=a.ak, secret=a.secret).call("DescribeRegions")
    assert (ei.value.status, ei.value.code) == (404, "InvalidAccessKeyId.NotFound")


# --------------------------------------------------------------------------------------------
# File modes
# --------------------------------------------------------------------------------------------


def test_data_dir_file_modes(start_server, tmp_path):
    srv = start_server(tmp_path / "fresh" / "data")
    make_client(srv, "old").call("CreateKey")
    d = srv.data_dir
    assert mode(d) == 0o700, oct(mode(d))
    for name in ("credentials.json", "root.key"):
        assert mode(d / name) == 0o600, (name, oct(mode(d / name)))
    keys = list((d / "tls").glob("*.key"))
    assert keys, list((d / "tls").iterdir())
    for k in keys:
        assert mode(k) == 0o600, (k.name, oct(mode(k)))
    assert (d / "tls" / "ca.pem").exists()
    assert (d / "keywarden.db").exists()
    # Nothing in the data dir is writable by group/others.
    for p in d.rglob("*"):
        assert not mode(p) & 0o022, (p, oct(mode(p)))
    # Modes survive a restart.
    srv.stop()
    again = start_server(d)
    assert mode(d) == 0o700 and mode(d / "credentials.json") == 0o600
    assert mode(d / "root.key") == 0o600
    again.stop()


def test_server_cert_names(server):
    from cryptography import x509
    import ipaddress

    pem = next(p for p in (server.data_dir / "tls").glob("*.pem") if p.name != "ca.pem")
    cert = x509.load_pem_x509_certificate(pem.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    ips = san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in ips and ipaddress.ip_address("::1") in ips
    ca = x509.load_pem_x509_certificate(Path(server.ca).read_bytes())
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)


# --------------------------------------------------------------------------------------------
# No secret on disk or in the log
# --------------------------------------------------------------------------------------------


def _needles(secret: bytes) -> dict[str, bytes]:
    """The spellings a secret could be stored in."""
    out = {"raw": secret}
    if len(secret) >= 8:
        out["hex"] = binascii.hexlify(secret)
        out["HEX"] = binascii.hexlify(secret).upper()
        out["b64"] = base64.b64encode(secret)
        out["b64url"] = base64.urlsafe_b64encode(secret).rstrip(b"=")
    return out


def _scan(files: dict[str, bytes], secrets: dict[str, bytes]) -> list[str]:
    hits = []
    for fname, content in files.items():
        for sname, secret in secrets.items():
            for spelling, needle in _needles(secret).items():
                if needle and needle in content:
                    hits.append(f"{sname} ({spelling}) found in {fname}")
    return hits


def _read_tree(d: Path, exclude: set[str]) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*"))
            if p.is_file() and str(p.relative_to(d)) not in exclude}


def test_no_secrets_in_data_dir_or_log(start_server, tmp_path):
    # The project's own crates log at trace level: no level may print secrets.
    srv = start_server(tmp_path / "data",
                       log_filter="info,keywarden=trace,keywarden_server=trace,"
                                  "keywarden_core=trace,keywarden_store=trace")
    ak, secret = srv.credentials()
    root_key = (srv.data_dir / "root.key").read_bytes()
    secrets: dict[str, bytes] = {"access key secret": secret.encode()}
    marker = f"TOP-SECRET-{unique('plaintext')}-do-not-store"
    control = f"scan-control-{unique()}"  # a non-secret that MUST be found (scanner works)
    make_client(srv, "old").call("CreateKey", Description=control)

    for i, flavor in enumerate(FLAVORS):
        c = make_client(srv, flavor)
        k = c.call("CreateKey", Description=f"scan {flavor}")["KeyMetadata"]["KeyId"]
        c.call("CreateAlias", AliasName=f"alias/scan-{i}", KeyId=k)
        text = f"{marker}-{flavor}"
        secrets[f"Encrypt plaintext ({flavor})"] = text.encode()
        enc = c.call("Encrypt", KeyId=k, Plaintext=text, EncryptionContext={"scan": flavor})
        assert c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"],
                      EncryptionContext={"scan": flavor})["Plaintext"] == text
        for n in (32, 16, 64):
            gdk = c.call("GenerateDataKey", KeyId=k, NumberOfBytes=n)
            secrets[f"data key b64 ({flavor}, {n})"] = gdk["Plaintext"].encode()
            secrets[f"data key raw ({flavor}, {n})"] = base64.b64decode(gdk["Plaintext"])
            dec = c.call("Decrypt", CiphertextBlob=gdk["CiphertextBlob"])
            assert dec["Plaintext"] == gdk["Plaintext"]
        wp = c.call("GenerateDataKeyWithoutPlaintext", KeyId=k)
        dk = c.call("Decrypt", CiphertextBlob=wp["CiphertextBlob"])["Plaintext"]
        secrets[f"data key b64 (without plaintext, {flavor})"] = dk.encode()
        secrets[f"data key raw (without plaintext, {flavor})"] = base64.b64decode(dk)
        # Failed calls log too: wrong context, DryRun, bad signature.
        with pytest.raises(KmsError):
            c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])
        with pytest.raises(KmsError):
            c.call("Encrypt", KeyId=k, Plaintext=text, DryRun=True)
        with pytest.raises(KmsError):
            make_client(srv, flavor, secret=secret + "x").call("Encrypt", KeyId=k, Plaintext=text)

    # While running (WAL and shared-memory files present) ...
    running = _read_tree(srv.data_dir, exclude={"credentials.json", "root.key"})
    assert any(n.startswith("keywarden.db") for n in running), list(running)
    hits = _scan(running, secrets)
    assert _scan(running, {"control": control.encode()}), "scanner did not see the database"
    assert srv.stop() == 0
    # ... and after shutdown (checkpointed database), plus the whole log.
    stopped = _read_tree(srv.data_dir, exclude={"credentials.json", "root.key"})
    hits += _scan(stopped, secrets)
    log = srv.log_path.read_bytes()
    assert b"listening" in log  # the log really is the server's
    hits += _scan({"server log": log}, secrets)
    # The root key only ever lives in root.key (not in the DB, the log, or elsewhere).
    hits += _scan({**stopped, "server log": log}, {"root key": root_key})
    # The secret is in credentials.json by design, and nowhere else.
    assert secret.encode() in (srv.data_dir / "credentials.json").read_bytes()
    assert not hits, "secret material found:\n" + "\n".join(sorted(set(hits)))


def test_plaintexts_do_not_reach_shared_server_log(server):
    """The shared server (default log level) never logs a plaintext either."""
    c = make_client(server, "old")
    k = c.call("CreateKey")["KeyMetadata"]["KeyId"]
    text = f"shared-log-secret-{unique()}"
    c.call("Encrypt", KeyId=k, Plaintext=text)
    gdk = c.call("GenerateDataKey", KeyId=k)
    log = server.stderr_text()
    assert text not in log
    assert gdk["Plaintext"] not in log
    assert server.secret not in log


def test_credentials_file_shape(server):
    import json

    creds = json.loads((server.data_dir / "credentials.json").read_text())
    assert set(creds) >= {"AccessKeyId", "AccessKeySecret"}
    assert creds["AccessKeyId"] and creds["AccessKeySecret"]
    assert len(creds["AccessKeySecret"]) >= 24, "secret looks too short to be random"
    assert creds["AccessKeySecret"] != creds["AccessKeyId"]
