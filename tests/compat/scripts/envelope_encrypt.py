#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Envelope-encrypt a local file, the way Alibaba Cloud's KMS best-practice sample does it
("encrypt and decrypt local data with KMS envelope encryption"), ported to Python 3 and pointed
at keywarden through the environment (see kms_env.py):

  1. GenerateDataKey (NumberOfBytes=32) under a master key or alias.
  2. AES-EAX encrypt the whole file with the plaintext data key (pycryptodome defaults:
     16-byte random nonce, 16-byte tag).
  3. Write a 4-line text file: CiphertextBlob, base64(nonce), base64(ciphertext), base64(tag).

Usage: envelope_encrypt.py IN_FILE OUT_FILE [KEY_ID_OR_ALIAS]
       (key also from $KEYWARDEN_KEY_ID; default alias/Apollo/WorkKey as in the sample)
"""

import base64
import json
import os
import sys

from Crypto.Cipher import AES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms_env  # noqa: E402


def kms_generate_data_key_old(clt, s, key_alias):
    from aliyunsdkkms.request.v20160120 import GenerateDataKeyRequest

    request = GenerateDataKeyRequest.GenerateDataKeyRequest()
    request.set_accept_format('JSON')
    request.set_KeyId(key_alias)
    request.set_NumberOfBytes(32)
    kms_env.point_at_keywarden(request, s)
    # The sample calls the (deprecated) do_action, which returns the body for any status.
    response = json.loads(clt.do_action(request))
    if "CiphertextBlob" not in response:
        kms_env.die("GenerateDataKey failed: %s" % json.dumps(response))
    return response["Plaintext"], response["CiphertextBlob"]


def kms_generate_data_key_new(clt, key_alias):
    from alibabacloud_kms20160120 import models as kms_models

    response = clt.generate_data_key(
        kms_models.GenerateDataKeyRequest(key_id=key_alias, number_of_bytes=32))
    return response.body.plaintext, response.body.ciphertext_blob


def read_file(in_file):
    with open(in_file, 'rb') as f:
        return f.read()


def write_text_file(out_file, lines):
    with open(out_file, 'w') as f:
        for ln in lines:
            f.write(ln)
            f.write('\n')


# Out file format (text)
# Line 1: CiphertextBlob of the data key (already base64)
# Line 2: b64 encoded nonce (IV)
# Line 3: b64 encoded ciphertext
# Line 4: b64 encoded authentication tag
def local_encrypt(datakey_plaintext, datakey_encrypted, in_file, out_file):
    data_key_binary = base64.b64decode(datakey_plaintext)
    cipher = AES.new(data_key_binary, AES.MODE_EAX)
    in_content = read_file(in_file)
    ciphertext, tag = cipher.encrypt_and_digest(in_content)
    lines = [
        datakey_encrypted,
        base64.b64encode(cipher.nonce).decode('ascii'),
        base64.b64encode(ciphertext).decode('ascii'),
        base64.b64encode(tag).decode('ascii'),
    ]
    write_text_file(out_file, lines)


def main(argv):
    if len(argv) not in (3, 4):
        kms_env.die("usage: envelope_encrypt.py IN_FILE OUT_FILE [KEY_ID_OR_ALIAS]")
    in_file, out_file = argv[1], argv[2]
    key_alias = argv[3] if len(argv) == 4 else os.environ.get("KEYWARDEN_KEY_ID", "alias/Apollo/WorkKey")
    s = kms_env.settings()
    if s["sdk"] == "old":
        datakey = kms_generate_data_key_old(kms_env.old_sdk_client(s), s, key_alias)
    elif s["sdk"] == "new":
        datakey = kms_generate_data_key_new(kms_env.new_sdk_client(s), key_alias)
    else:
        kms_env.die("KEYWARDEN_SDK must be old or new")
    local_encrypt(datakey[0], datakey[1], in_file, out_file)


if __name__ == '__main__':
    main(sys.argv)
