"""Alibaba's documented envelope-encryption example against keywarden: GenerateDataKey, AES-EAX
encrypt a file locally (pycryptodome), write the 4-line file, later Decrypt the data key and
decrypt+verify. The scripts in scripts/ are standalone (driven only by environment variables)
so they can also be pointed at other implementations of the 4-line format."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from Crypto.Cipher import AES

from kwtest import b64decode_strict, make_client, unique

SCRIPTS = Path(__file__).resolve().parent / "scripts"
SALES_CSV = (
    "date,region,product,amount,note\n"
    "2026-01-01,cn-hangzhou,widget,100.50,\"first, with comma\"\n"
    "2026-01-02,cn-shanghai,gadget,7,ünïcödé 中文 😀\n"
    "2026-01-03,eu-central-1,thing,-3.25,\n"
)


def script_env(server, sdk: str = "old", key_id: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KEYWARDEN_", "ALIBABA_CLOUD_", "ALIYUN_"))}
    ak, secret = server.credentials()
    env.update({
        "KEYWARDEN_ENDPOINT": server.url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ak,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
        "KEYWARDEN_SDK": sdk,
    })
    if server.tls:
        env["KEYWARDEN_CA_FILE"] = server.ca
    if key_id:
        env["KEYWARDEN_KEY_ID"] = key_id
    return env


def run_script(name: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=60)


def check(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"


def check_four_line_file(path: Path, plaintext: bytes, key_version: str) -> list[str]:
    text = path.read_text()
    assert text.endswith("\n")
    lines = text.split("\n")[:-1]
    assert len(lines) == 4, lines
    blob = b64decode_strict(lines[0])
    assert len(blob) == 108, len(blob)
    assert blob[:36].decode("ascii") == key_version
    assert len(b64decode_strict(lines[1])) == 16  # EAX nonce
    assert len(b64decode_strict(lines[2])) == len(plaintext)
    assert len(b64decode_strict(lines[3])) == 16  # EAX tag
    if len(plaintext) >= 16:
        assert plaintext not in path.read_bytes()
    return lines


@pytest.fixture
def work_key(server):
    c = make_client(server, "old")
    md = c.call("CreateKey", Description="envelope example")["KeyMetadata"]
    alias = f"alias/{unique('env')}/Apollo/WorkKey"
    c.call("CreateAlias", AliasName=alias, KeyId=md["KeyId"])
    return md, alias


@pytest.mark.parametrize("enc_sdk,dec_sdk", [("old", "old"), ("new", "new"), ("old", "new"),
                                             ("new", "old")])
def test_envelope_scripts_roundtrip(server, tmp_path, work_key, enc_sdk, dec_sdk):
    md, alias = work_key
    src = tmp_path / "sales.csv"
    src.write_text(SALES_CSV, encoding="utf-8")
    cipher_file = tmp_path / "sales.csv.cipher"
    out = tmp_path / "decrypted_sales.csv"

    check(run_script("envelope_encrypt.py", [src, cipher_file, alias], script_env(server, enc_sdk)))
    lines = check_four_line_file(cipher_file, SALES_CSV.encode(), md["PrimaryKeyVersion"])

    check(run_script("envelope_decrypt.py", [cipher_file, out], script_env(server, dec_sdk)))
    assert out.read_bytes() == src.read_bytes()

    # Independently of the scripts: the data key from KMS opens the file in this process.
    dk = make_client(server, "new-v3").call("Decrypt", CiphertextBlob=lines[0])["Plaintext"]
    cipher = AES.new(base64.b64decode(dk), AES.MODE_EAX, base64.b64decode(lines[1]))
    assert cipher.decrypt_and_verify(base64.b64decode(lines[2]),
                                     base64.b64decode(lines[3])) == SALES_CSV.encode()


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 200_003])
def test_envelope_binary_files(server, tmp_path, work_key, size):
    md, alias = work_key
    data = os.urandom(size)
    src, enc, out = tmp_path / "in.bin", tmp_path / "in.bin.cipher", tmp_path / "out.bin"
    src.write_bytes(data)
    check(run_script("envelope_encrypt.py", [src, enc], script_env(server, "old", key_id=alias)))
    check_four_line_file(enc, data, md["PrimaryKeyVersion"])
    check(run_script("envelope_decrypt.py", [enc, out], script_env(server, "old")))
    assert out.read_bytes() == data


def test_envelope_documented_alias_and_plain_http(start_server, tmp_path):
    """The sample's literal alias (alias/Apollo/WorkKey, the scripts' default) on a plain-HTTP
    server (KEYWARDEN_ENDPOINT=http://...)."""
    srv = start_server(tls=False)
    c = make_client(srv, "old")
    md = c.call("CreateKey")["KeyMetadata"]
    c.call("CreateAlias", AliasName="alias/Apollo/WorkKey", KeyId=md["KeyId"])
    src, enc, out = tmp_path / "sales.csv", tmp_path / "sales.csv.cipher", tmp_path / "d.csv"
    src.write_text(SALES_CSV, encoding="utf-8")
    for sdk in ("old", "new"):
        env = script_env(srv, sdk)
        assert env["KEYWARDEN_ENDPOINT"].startswith("http://")
        check(run_script("envelope_encrypt.py", [src, enc], env))
        check_four_line_file(enc, SALES_CSV.encode(), md["PrimaryKeyVersion"])
        check(run_script("envelope_decrypt.py", [enc, out], env))
        assert out.read_text(encoding="utf-8") == SALES_CSV


def test_envelope_tampering_is_detected(server, tmp_path, work_key):
    md, alias = work_key
    src, enc, out = tmp_path / "s.csv", tmp_path / "s.csv.cipher", tmp_path / "o.csv"
    src.write_text(SALES_CSV)
    env = script_env(server, "old", key_id=alias)
    check(run_script("envelope_encrypt.py", [src, enc], env))
    lines = enc.read_text().split("\n")[:-1]

    # Flip one ciphertext byte: KMS still returns the data key, EAX verification fails.
    ct = bytearray(base64.b64decode(lines[2]))
    ct[0] ^= 1
    bad = lines[:2] + [base64.b64encode(bytes(ct)).decode()] + lines[3:]
    enc.write_text("\n".join(bad) + "\n")
    proc = run_script("envelope_decrypt.py", [enc, out], env)
    assert proc.returncode != 0 and "authentication failed" in proc.stderr, proc.stderr
    assert not out.exists()

    # Corrupt the data key blob: KMS refuses it.
    blob = bytearray(base64.b64decode(lines[0]))
    blob[-1] ^= 1
    bad = [base64.b64encode(bytes(blob)).decode()] + lines[1:]
    enc.write_text("\n".join(bad) + "\n")
    proc = run_script("envelope_decrypt.py", [enc, out], env)
    assert proc.returncode != 0 and "InvalidParameter" in proc.stderr, proc.stderr
    assert not out.exists()


def test_envelope_scripts_report_kms_errors(server, tmp_path):
    src = tmp_path / "s.csv"
    src.write_text("x")
    proc = run_script("envelope_encrypt.py", [src, tmp_path / "o", f"alias/{unique('absent')}"],
                      script_env(server, "old"))
    assert proc.returncode != 0
    assert "Forbidden.AliasNotFound" in proc.stderr, proc.stderr


def test_decrypt_accepts_blob_line_with_trailing_newline(server, work_key):
    """Alibaba's decrypt sample passes line 1 of the file to Decrypt as read, '\\n' included."""
    md, alias = work_key
    for flavor in ("old", "new-v3"):
        c = make_client(server, flavor)
        gdk = c.call("GenerateDataKey", KeyId=alias, NumberOfBytes=32)
        dec = c.call("Decrypt", CiphertextBlob=gdk["CiphertextBlob"] + "\n")
        assert dec["Plaintext"] == gdk["Plaintext"]
