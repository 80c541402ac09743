"""Shared set-up for the envelope example scripts: a KMS client pointed at keywarden from the
environment, using only the official Alibaba SDKs and their documented endpoint overrides.

Environment:
  KEYWARDEN_ENDPOINT               https://127.0.0.1:8443 (scheme optional; default https)
  ALIBABA_CLOUD_ACCESS_KEY_ID      access key id
  ALIBABA_CLOUD_ACCESS_KEY_SECRET  access key secret
  KEYWARDEN_CA_FILE                CA bundle to trust (the server's tls/ca.pem); optional
  KEYWARDEN_REGION                 region id sent by the SDK (default cn-hangzhou)
  KEYWARDEN_SDK                    "old" (aliyun-python-sdk-kms, default) or "new"
                                   (alibabacloud-kms20160120)
"""

import os
import sys
from urllib.parse import urlsplit


def die(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(2)


def settings():
    endpoint = os.environ.get("KEYWARDEN_ENDPOINT") or die("KEYWARDEN_ENDPOINT is not set")
    if "://" not in endpoint:
        endpoint = "https://" + endpoint
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        die("KEYWARDEN_ENDPOINT must look like https://HOST:PORT, got %r" % endpoint)
    return {
        "protocol": parts.scheme,
        "host": parts.netloc,  # host:port, no scheme (what both SDKs' overrides expect)
        "ak": os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID") or die("ALIBABA_CLOUD_ACCESS_KEY_ID is not set"),
        "secret": os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET") or die("ALIBABA_CLOUD_ACCESS_KEY_SECRET is not set"),
        "ca": os.environ.get("KEYWARDEN_CA_FILE") or None,
        "region": os.environ.get("KEYWARDEN_REGION", "cn-hangzhou"),
        "sdk": os.environ.get("KEYWARDEN_SDK", "old"),
    }


def old_sdk_client(s):
    """aliyunsdkcore AcsClient (the client Alibaba's envelope sample uses)."""
    from aliyunsdkcore import client

    kwargs = {}
    if s["ca"]:
        kwargs["verify"] = s["ca"]
    return client.AcsClient(s["ak"], s["secret"], s["region"], **kwargs)


def point_at_keywarden(request, s):
    """The per-request endpoint override of the old SDK (KMS request classes force https)."""
    from aliyunsdkcore.http import protocol_type

    request.set_endpoint(s["host"])
    # aliyunsdkcore tests `protocol is PT.HTTPS` (identity, not equality): a computed string
    # such as urlsplit(...).scheme would silently fall back to plain HTTP. Use the constants.
    request.set_protocol_type(protocol_type.HTTPS if s["protocol"] == "https" else protocol_type.HTTP)
    return request


def new_sdk_client(s):
    """alibabacloud_kms20160120 Client with Config(endpoint=host:port, protocol, ca)."""
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi import models as open_api_models

    config = open_api_models.Config(
        access_key_id=s["ak"],
        access_key_secret=s["secret"],
        endpoint=s["host"],
        protocol=s["protocol"],
        region_id=s["region"],
    )
    if s["ca"]:
        config.ca = s["ca"]
    return Client(config)
