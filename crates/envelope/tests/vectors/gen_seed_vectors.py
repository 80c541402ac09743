#!/usr/bin/env python3
"""Generates seed_eax_pycryptodome.json: AES-EAX known answers and 4-line seed files made with
pycryptodome, for crates/envelope/tests/seed.rs.

    python3 -m venv /tmp/seedvenv && /tmp/seedvenv/bin/pip install pycryptodome==3.23.0
    /tmp/seedvenv/bin/python gen_seed_vectors.py > seed_eax_pycryptodome.json

Keys and nonces come from random.Random(2024), except the two `default_nonce` vectors, whose
nonce pycryptodome draws itself (they show its defaults: 16-byte nonce, 16-byte tag). Plaintext
byte i is (i * 31 + 7) % 251. The 4-line files follow Alibaba's documented example: line 1 the base64
CiphertextBlob, then base64 of cipher.nonce, of the ciphertext and of the tag, one per line.
"""
import base64
import hashlib
import json
import random

import Crypto
from Crypto.Cipher import AES

rng = random.Random(2024)


def rand_bytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def pattern(n):
    return bytes((i * 31 + 7) % 251 for i in range(n))


def b64(data):
    return base64.b64encode(data).decode("ascii")


def kat(key_len, n, default_nonce=False):
    key = rand_bytes(key_len)
    if default_nonce:
        cipher = AES.new(key, AES.MODE_EAX)  # pycryptodome picks a random 16-byte nonce
    else:
        cipher = AES.new(key, AES.MODE_EAX, nonce=rand_bytes(16))
    assert len(cipher.nonce) == 16
    ciphertext, tag = cipher.encrypt_and_digest(pattern(n))
    assert len(tag) == 16
    return {
        "key": key.hex(),
        "nonce": cipher.nonce.hex(),
        "len": n,
        "ciphertext": ciphertext.hex() if n <= 4096 else None,
        "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
        "tag": tag.hex(),
    }


def seed_file(name, key_len, n):
    key = rand_bytes(key_len)
    blob = rand_bytes(108)  # the shape of a KMS CiphertextBlob; opaque here
    cipher = AES.new(key, AES.MODE_EAX, nonce=rand_bytes(16))
    ciphertext, tag = cipher.encrypt_and_digest(pattern(n))
    lines = [b64(blob), b64(cipher.nonce), b64(ciphertext), b64(tag)]
    return {"name": name, "key": key.hex(), "blob": blob.hex(), "len": n,
            "file": "".join(line + "\n" for line in lines)}


def main():
    sizes = [0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 4096, 65539, 1 << 20]
    vectors = [kat(key_len, n) for key_len in (16, 24, 32) for n in sizes]
    vectors += [kat(32, 77, default_nonce=True), kat(16, 0, default_nonce=True)]
    files = [seed_file("aes256_empty", 32, 0), seed_file("aes256_small", 32, 5),
             seed_file("aes128_1000", 16, 1000), seed_file("aes256_3000", 32, 3000)]
    print(json.dumps({
        "generator": "gen_seed_vectors.py",
        "pycryptodome": Crypto.__version__,
        "plaintext": "byte i = (i * 31 + 7) % 251",
        "kat": vectors,
        "files": files,
    }, indent=1))


if __name__ == "__main__":
    main()
