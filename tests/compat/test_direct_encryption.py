"""Direct encryption of a small secret (< 6 KB): a TLS private key is encrypted once with
Encrypt, stored as a CiphertextBlob, and decrypted by the application at start-up through a
different client instance (reference §9.2: Plaintext is opaque text, 6144-byte limit)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kwtest import FLAVORS, KmsError, make_client

CONTEXT = {"purpose": "tls", "host": "www.example.com"}


@pytest.fixture(scope="module")
def tls_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    assert 3000 < len(pem.encode()) < 6144
    return pem


@pytest.fixture(scope="module")
def master_key(server):
    c = make_client(server, "old")
    k = c.call("CreateKey", Description="tls key protection")["KeyMetadata"]["KeyId"]
    c.call("CreateAlias", AliasName="alias/direct-encryption/tls", KeyId=k)
    return k


def _pairs():
    # Every flavour encrypts once; decryption at "start-up" uses a different flavour.
    return [(p, FLAVORS[(i + 1) % len(FLAVORS)]) for i, p in enumerate(FLAVORS)]


@pytest.mark.parametrize("producer,consumer", _pairs())
def test_tls_private_key_roundtrip(server, tmp_path, tls_key_pem, master_key, producer, consumer):
    # Deployment time: encrypt and store the blob in the app's config.
    enc = make_client(server, producer).call("Encrypt", KeyId="alias/direct-encryption/tls",
                                             Plaintext=tls_key_pem, EncryptionContext=CONTEXT)
    assert enc["KeyId"] == master_key
    config = tmp_path / "app-config.json"
    config.write_text(json.dumps({"tls_key_blob": enc["CiphertextBlob"]}))
    assert "PRIVATE KEY" not in config.read_text()

    # Start-up: a fresh client (other SDK / signing mode) decrypts and loads the key.
    blob = json.loads(config.read_text())["tls_key_blob"]
    app = make_client(server, consumer)
    dec = app.call("Decrypt", CiphertextBlob=blob, EncryptionContext=dict(reversed(CONTEXT.items())))
    assert dec["Plaintext"] == tls_key_pem
    assert dec["KeyId"] == master_key
    loaded = serialization.load_pem_private_key(dec["Plaintext"].encode(), password=None)
    original = serialization.load_pem_private_key(tls_key_pem.encode(), password=None)
    assert loaded.private_numbers() == original.private_numbers()


def test_base64_encoded_secret(server, tls_key_pem, master_key):
    """The docs suggest base64-encoding the Plaintext; that works too (4.4 KB < 6 KB)."""
    c = make_client(server, "new-v3")
    b64 = base64.b64encode(tls_key_pem.encode()).decode()
    assert len(b64) < 6144
    enc = c.call("Encrypt", KeyId=master_key, Plaintext=b64, EncryptionContext=CONTEXT)
    dec = c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"], EncryptionContext=CONTEXT)
    assert base64.b64decode(dec["Plaintext"]).decode() == tls_key_pem


def test_equivalent_context_spellings(server, tls_key_pem, master_key):
    old = make_client(server, "old")
    enc = old.call("Encrypt", KeyId=master_key, Plaintext=tls_key_pem,
                   EncryptionContext='{"purpose":"tls","host":"www.example.com"}')
    for spelling in ('{"host": "www.example.com", "purpose": "tls"}',
                     '{\n  "purpose" : "tls",\n  "host" : "www.example.com"\n}',
                     json.dumps(CONTEXT, sort_keys=True)):
        assert old.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"],
                        EncryptionContext=spelling)["Plaintext"] == tls_key_pem
    for flavor in FLAVORS[1:]:
        assert make_client(server, flavor).call(
            "Decrypt", CiphertextBlob=enc["CiphertextBlob"],
            EncryptionContext={"host": "www.example.com", "purpose": "tls"},
        )["Plaintext"] == tls_key_pem


@pytest.mark.parametrize("flavor", FLAVORS)
def test_wrong_or_missing_context_fails(server, tls_key_pem, master_key, flavor):
    c = make_client(server, flavor)
    enc = c.call("Encrypt", KeyId=master_key, Plaintext=tls_key_pem, EncryptionContext=CONTEXT)
    for ctx in (None, {"purpose": "tls"}, {"purpose": "tls", "host": "evil.example.com"},
                {"purpose": "tls", "host": "www.example.com", "extra": ""}):
        params = {"EncryptionContext": ctx} if ctx is not None else {}
        with pytest.raises(KmsError) as ei:
            c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"], **params)
        assert (ei.value.status, ei.value.code) == (400, "InvalidParameter"), (ctx, ei.value)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("unit", ["a", "é", "€", "😀"], ids=["1-byte", "2-byte", "3-byte", "4-byte"])
def test_plaintext_limit_is_6144_utf8_bytes(server, master_key, flavor, unit):
    c = make_client(server, flavor)
    width = len(unit.encode())
    exact = unit * (6144 // width)
    assert len(exact.encode()) == 6144
    enc = c.call("Encrypt", KeyId=master_key, Plaintext=exact)
    assert c.call("Decrypt", CiphertextBlob=enc["CiphertextBlob"])["Plaintext"] == exact
    over = exact + "a"
    assert len(over.encode()) == 6145
    with pytest.raises(KmsError) as ei:
        c.call("Encrypt", KeyId=master_key, Plaintext=over)
    assert (ei.value.status, ei.value.code) == (400, "InvalidParameter"), ei.value
