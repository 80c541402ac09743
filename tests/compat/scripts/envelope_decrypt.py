#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Decrypt a file written by envelope_encrypt.py (or any tool producing the same 4-line
format), the way Alibaba Cloud's KMS best-practice sample does it, pointed at keywarden through
the environment (see kms_env.py):

  1. Read the 4 lines; Decrypt line 1 (the data key's CiphertextBlob) with KMS.
  2. AES-EAX decrypt_and_verify lines 3/4 with the nonce of line 2.

Like the sample, line 1 is sent to KMS exactly as read, trailing newline included.

Usage: envelope_decrypt.py IN_FILE OUT_FILE
"""

import base64
import json
import os
import sys

from Crypto.Cipher import AES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms_env  # noqa: E402


def kms_decrypt_old(clt, s, ciphertext):
    from aliyunsdkkms.request.v20160120 import DecryptRequest

    request = DecryptRequest.DecryptRequest()
    request.set_accept_format('JSON')
    request.set_CiphertextBlob(ciphertext)
    kms_env.point_at_keywarden(request, s)
    response = json.loads(clt.do_action(request))
    if "Plaintext" not in response:
        kms_env.die("Decrypt failed: %s" % json.dumps(response))
    return response.get("Plaintext")


def kms_decrypt_new(clt, ciphertext):
    from alibabacloud_kms20160120 import models as kms_models

    response = clt.decrypt(kms_models.DecryptRequest(ciphertext_blob=ciphertext))
    return response.body.plaintext


def read_text_file(in_file):
    lines = []
    with open(in_file, 'r') as f:
        for ln in f:
            lines.append(ln)
    return lines


def write_file(out_file, content):
    with open(out_file, 'wb') as f:
        f.write(content)


def local_decrypt(datakey, iv, ciphertext, tag, out_file):
    cipher = AES.new(datakey, AES.MODE_EAX, iv)
    data = cipher.decrypt_and_verify(ciphertext, tag)
    write_file(out_file, data)


def main(argv):
    if len(argv) != 3:
        kms_env.die("usage: envelope_decrypt.py IN_FILE OUT_FILE")
    in_file, out_file = argv[1], argv[2]
    s = kms_env.settings()
    in_lines = read_text_file(in_file)
    if len(in_lines) != 4:
        kms_env.die("%s: expected 4 lines, found %d" % (in_file, len(in_lines)))
    if s["sdk"] == "old":
        datakey = kms_decrypt_old(kms_env.old_sdk_client(s), s, in_lines[0])
    elif s["sdk"] == "new":
        datakey = kms_decrypt_new(kms_env.new_sdk_client(s), in_lines[0])
    else:
        kms_env.die("KEYWARDEN_SDK must be old or new")
    try:
        local_decrypt(
            base64.b64decode(datakey),
            base64.b64decode(in_lines[1]),  # nonce (IV)
            base64.b64decode(in_lines[2]),  # ciphertext
            base64.b64decode(in_lines[3]),  # authentication tag
            out_file,
        )
    except ValueError as e:  # MAC check failed
        kms_env.die("%s: authentication failed: %s" % (in_file, e))


if __name__ == '__main__':
    main(sys.argv)
