"""The `keywarden` CLI and Alibaba's documented Python envelope example read each other's
4-line files: the Rust writer is byte-compatible with pycryptodome's AES-EAX, and the Rust reader
accepts what the documented script writes. Also: the CLI's KENV files decrypt only through the
CLI, and tampered seed files are refused by both."""

from __future__ import annotations

import os
import subprocess
import pytest

from kwtest import keywarden_bin
from test_envelope_example import check, check_four_line_file, run_script, script_env, work_key  # noqa: F401


def cli(server, *args: str) -> subprocess.CompletedProcess:
    ak, secret = server.credentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYWARDEN_", "ALIBABA_CLOUD_"))}
    env.update({
        "KEYWARDEN_ENDPOINT": server.url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ak,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
        # No profile: every setting comes from the environment above.
        "KEYWARDEN_CONFIG": "/nonexistent/keywarden-profile.json",
    })
    if server.tls:
        env["KEYWARDEN_CA_FILE"] = server.ca
    return subprocess.run([str(keywarden_bin()), *args], env=env, capture_output=True, timeout=120)


def ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100_000, 3_000_001])
@pytest.mark.parametrize("sdk", ["old", "new"])
def test_cli_writes_what_the_python_example_reads(server, tmp_path, work_key, size, sdk):
    md, alias = work_key
    plain = tmp_path / "plain.bin"
    plain.write_bytes(os.urandom(size))
    enc = tmp_path / "from-cli.seed"
    ok(cli(server, "encrypt", "--format", "seed", "--key-id", alias, str(plain), "-o", str(enc)))
    check_four_line_file(enc, plain.read_bytes(), md["PrimaryKeyVersion"])
    out = tmp_path / "by-python.out"
    check(run_script("envelope_decrypt.py", [enc, out], script_env(server, sdk)))
    assert out.read_bytes() == plain.read_bytes()


@pytest.mark.parametrize("size", [0, 17, 3_000_001])
@pytest.mark.parametrize("sdk", ["old", "new"])
def test_python_example_writes_what_the_cli_reads(server, tmp_path, work_key, size, sdk):
    md, alias = work_key
    plain = tmp_path / "plain.bin"
    plain.write_bytes(os.urandom(size))
    enc = tmp_path / "from-python.seed"
    check(run_script("envelope_encrypt.py", [plain, enc, alias], script_env(server, sdk)))
    inspect = cli(server, "inspect", str(enc))
    ok(inspect)
    assert b'"Format": "seed"' in inspect.stdout
    out = tmp_path / "by-cli.out"
    ok(cli(server, "decrypt", str(enc), "-o", str(out)))
    assert out.read_bytes() == plain.read_bytes()


def test_tampered_seed_file_is_refused_by_the_cli(server, tmp_path, work_key):
    _, alias = work_key
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"quarterly numbers\n" * 1000)
    enc = tmp_path / "f.seed"
    check(run_script("envelope_encrypt.py", [plain, enc, alias], script_env(server)))
    lines = enc.read_text().split("\n")
    body = bytearray(lines[2].encode())
    body[10] = ord("A") if body[10] != ord("A") else ord("B")
    lines[2] = body.decode()
    enc.write_text("\n".join(lines))
    out = tmp_path / "out"
    proc = cli(server, "decrypt", str(enc), "-o", str(out))
    assert proc.returncode == 8, proc.stderr
    assert not out.exists(), "no unverified plaintext is left behind"
    assert [p for p in tmp_path.iterdir() if "keywarden" in p.name] == []


def test_kenv_files_round_trip_through_the_cli_only(server, tmp_path, work_key):
    _, alias = work_key
    plain = tmp_path / "plain.bin"
    plain.write_bytes(os.urandom(2_500_000))
    enc = tmp_path / "f.kenv"
    ok(cli(server, "encrypt", "--key-id", alias, "--context", "purpose=interop", str(plain), "-o", str(enc)))
    out = tmp_path / "out"
    ok(cli(server, "decrypt", str(enc), "-o", str(out)))
    assert out.read_bytes() == plain.read_bytes()
    # The documented script cannot mistake a KENV file for a 4-line file.
    proc = run_script("envelope_decrypt.py", [enc, tmp_path / "py.out"], script_env(server))
    assert proc.returncode != 0
