"""Helpers for the keywarden SDK compatibility suite.

* `Server`: starts a real `keywarden serve` process on a free port and stops it.
* `OldKms` / `NewKms`: the official Alibaba Python SDKs pointed at a keywarden server with the
  documented endpoint-override recipes, behind one small `call(action, **params)` interface so a
  test can run unchanged through the old SDK and the new SDK in its three signing modes.
* `rpc_v1_*` / `acs3_*`: independent implementations of the signature schemes, used to build
  raw HTTP requests with `requests` (replays, expired timestamps, wrong versions...).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
API_VERSION = "2016-01-20"
REGION = "cn-hangzhou"

# Old SDK, new SDK default (ACS3-HMAC-SHA256), new SDK signature_algorithm='v2' (RPC v1
# HMAC-SHA1), new SDK signature_version='v4' (ACS4-HMAC-SHA256).
FLAVORS = ("old", "new-v3", "new-v2", "new-v4")

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
JSON_CONTENT_TYPE = "application/json;charset=utf-8"


def keywarden_bin() -> Path:
    """The server binary: $KEYWARDEN_BIN, else target/debug/keywarden under the repo root."""
    p = Path(os.environ.get("KEYWARDEN_BIN", "target/debug/keywarden"))
    if not p.is_absolute():
        p = REPO_ROOT / p
    return p


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def api_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------------------------


def server_env(home: Path) -> dict[str, str]:
    """An environment that cannot leak into the user's home or pick up ambient credentials."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KEYWARDEN_", "ALIBABA_CLOUD_", "ALIYUN_"))
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["HOME"] = str(home)
    env["KEYWARDEN_CONFIG"] = str(home / "keywarden-config.json")
    env["NO_COLOR"] = "1"
    return env


class Server:
    """One `keywarden serve` process."""

    def __init__(
        self,
        data_dir: Path,
        *,
        tls: bool = True,
        extra_args: list[str] | None = None,
        log_filter: str | None = None,
        log_path: Path | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.tls = tls
        self.extra_args = list(extra_args or [])
        self.log_filter = log_filter
        self.home = self.data_dir.parent / (self.data_dir.name + "-home")
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path or (self.data_dir.parent / (self.data_dir.name + "-stderr.log"))
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.host = ""
        self.port = 0
        self.returncode: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 30.0) -> "Server":
        binary = keywarden_bin()
        if not binary.exists():
            raise RuntimeError(
                f"keywarden binary not found at {binary}: run `cargo build -p keywarden` "
                "or set KEYWARDEN_BIN"
            )
        args = [
            str(binary),
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--listen",
            "127.0.0.1:0",
            "--no-profile",
        ]
        if not self.tls:
            args.append("--no-tls")
        args += self.extra_args
        env = server_env(self.home)
        if self.log_filter:
            env["KEYWARDEN_LOG"] = self.log_filter
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen(
                args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env
            )
        finally:
            log.close()
        line = self._read_first_line(timeout)
        m = re.fullmatch(r"keywarden listening on (https?)://127\.0\.0\.1:(\d+)", line.strip())
        if not m:
            self.kill()
            raise RuntimeError(
                f"unexpected first stdout line {line!r}; stderr:\n{self.stderr_text()[-4000:]}"
            )
        scheme = m.group(1)
        assert (scheme == "https") == self.tls, line
        self.port = int(m.group(2))
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"{scheme}://{self.host}"
        self.first_line = line
        # Drain any further stdout so the child never blocks on a full pipe.
        self.extra_stdout: list[bytes] = []
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        return self

    def _read_first_line(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        result: list[bytes] = []
        t = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        if not result:
            self.kill()
            raise RuntimeError(
                f"keywarden did not print its listening line within {timeout}s; stderr:\n"
                f"{self.stderr_text()[-4000:]}"
            )
        if not result[0]:
            code = self.proc.wait(5)
            raise RuntimeError(
                f"keywarden exited ({code}) before listening; stderr:\n{self.stderr_text()[-4000:]}"
            )
        return result[0].decode()

    def _drain_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for chunk in iter(self.proc.stdout.readline, b""):
            self.extra_stdout.append(chunk)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return self.returncode if self.returncode is not None else 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError("keywarden did not exit within %ss of SIGTERM" % timeout)
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to flush or clean up."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.returncode = self.proc.returncode
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # -- files -------------------------------------------------------------------------------

    @property
    def ca(self) -> str:
        return str(self.data_dir / "tls" / "ca.pem")

    @property
    def verify(self) -> str | bool:
        """What to give requests / the old SDK as `verify`."""
        return self.ca if self.tls else True

    def credentials(self) -> tuple[str, str]:
        c = json.loads((self.data_dir / "credentials.json").read_text())
        return c["AccessKeyId"], c["AccessKeySecret"]

    @property
    def ak(self) -> str:
        return self.credentials()[0]

    @property
    def secret(self) -> str:
        return self.credentials()[1]

    def stderr_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- clients -----------------------------------------------------------------------------

    def client(self, flavor: str, **kw: Any) -> "OldKms | NewKms":
        return make_client(self, flavor, **kw)

    def health(self) -> requests.Response:
        return requests.get(self.url + "/health", verify=self.verify, timeout=10)


# --------------------------------------------------------------------------------------------
# SDK clients behind one interface
# --------------------------------------------------------------------------------------------


class KmsError(Exception):
    """An API error as either SDK reported it."""

    def __init__(self, flavor, code, status, message, request_id, native):
        super().__init__(f"[{flavor}] HTTP {status} {code}: {message} (RequestId {request_id})")
        self.flavor = flavor
        self.code = code
        self.status = status
        self.message = message
        self.request_id = request_id
        self.native = native


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class OldKms:
    """`aliyunsdkcore.client.AcsClient` + `aliyunsdkkms` request classes (§2.3 recipe (a):
    `req.set_endpoint("127.0.0.1:PORT")`, and `set_protocol_type("http")` for a plain server)."""

    flavor = "old"

    def __init__(self, server: Server, ak: str | None = None, secret: str | None = None,
                 verify: Any = None, region: str = REGION):
        from aliyunsdkcore.client import AcsClient

        dak, dsecret = server.credentials()
        self.server = server
        self.client = AcsClient(
            ak if ak is not None else dak,
            secret if secret is not None else dsecret,
            region,
            verify=verify if verify is not None else (server.ca if server.tls else None),
        )

    def request(self, action: str, **params: Any):
        import importlib

        from aliyunsdkcore.http import protocol_type

        mod = importlib.import_module(f"aliyunsdkkms.request.v20160120.{action}Request")
        req = getattr(mod, f"{action}Request")()
        req.set_endpoint(self.server.host)
        # (aliyunsdkcore compares with `is`: always pass its constants.)
        req.set_protocol_type(protocol_type.HTTPS if self.server.tls else protocol_type.HTTP)
        for name, value in params.items():
            if name == "EncryptionContext" and isinstance(value, dict):
                # The old SDK's setter takes a string; documented usage is json.dumps(...),
                # which renders `{"a": "1"}` (with spaces).
                value = json.dumps(value)
            getattr(req, f"set_{name}")(value)
        return req

    def call(self, action: str, **params: Any) -> dict:
        from aliyunsdkcore.acs_exception.exceptions import ServerException

        req = self.request(action, **params)
        try:
            body = self.client.do_action_with_exception(req)
        except ServerException as e:
            raise KmsError(self.flavor, e.get_error_code(), e.get_http_status(),
                           e.get_error_msg(), e.get_request_id(), e) from None
        return json.loads(body)


class NewKms:
    """`alibabacloud_kms20160120.client.Client` with `Config(endpoint="127.0.0.1:PORT",
    protocol=..., ca=<ca.pem>)` (§3.5), in one of its three signing modes."""

    def __init__(self, server: Server, mode: str = "v3", ak: str | None = None,
                 secret: str | None = None, ca: Any = "default", region: str = REGION,
                 protocol: str | None = None):
        from alibabacloud_kms20160120.client import Client
        from alibabacloud_tea_openapi import models as open_api_models

        dak, dsecret = server.credentials()
        self.server = server
        self.mode = mode
        self.flavor = f"new-{mode}"
        kw: dict[str, Any] = dict(
            access_key_id=ak if ak is not None else dak,
            access_key_secret=secret if secret is not None else dsecret,
            endpoint=server.host,
            protocol=protocol or ("https" if server.tls else "http"),
            region_id=region,
        )
        if ca == "default":
            if server.tls:
                kw["ca"] = server.ca
        elif ca is not None:
            kw["ca"] = ca
        if mode == "v2":
            kw["signature_algorithm"] = "v2"
        elif mode == "v4":
            kw["signature_version"] = "v4"
        elif mode != "v3":
            raise ValueError(mode)
        self.config = open_api_models.Config(**kw)
        self.client = Client(self.config)
        self.last_response = None

    def call(self, action: str, **params: Any) -> dict:
        from alibabacloud_kms20160120 import models

        method = getattr(self.client, _snake(action))
        try:
            if action == "DescribeRegions":
                assert not params
                resp = method()
            else:
                req = getattr(models, f"{action}Request")().from_map(params)
                resp = method(req)
        except Exception as e:  # noqa: BLE001 - normalised below
            code = getattr(e, "code", None)
            if code is None:
                raise
            data = getattr(e, "data", None) or {}
            status = getattr(e, "statusCode", None) or data.get("statusCode")
            rid = getattr(e, "request_id", None) or data.get("RequestId")
            msg = data.get("Message") or getattr(e, "message", str(e))
            raise KmsError(self.flavor, code, status, msg, rid, e) from None
        self.last_response = resp
        return resp.body.to_map()


def make_client(server: Server, flavor: str, **kw: Any) -> OldKms | NewKms:
    if flavor == "old":
        return OldKms(server, **kw)
    if flavor.startswith("new-"):
        return NewKms(server, flavor[4:], **kw)
    raise ValueError(flavor)


# --------------------------------------------------------------------------------------------
# Independent signers for raw HTTP requests
# --------------------------------------------------------------------------------------------


def percent(s: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 (unreserved kept, uppercase hex)."""
    return urllib.parse.quote(s, safe="-_.~")


def rpc_v1_string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent('/')}&{percent(canonical)}"


def rpc_v1_sign(secret: str, string_to_sign: str) -> str:
    mac = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def rpc_v1_params(action: str, ak: str, params: dict[str, Any] | None = None, *,
                  version: str = API_VERSION, timestamp: str | None = None,
                  nonce: str | None = None) -> dict[str, str]:
    p = {k: str(v) for k, v in (params or {}).items()}
    p.update({
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "RegionId": REGION,
        "Timestamp": timestamp or api_time(utc_now()),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureType": "",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "AccessKeyId": ak,
    })
    return p


def rpc_v1_url(server: Server, params: dict[str, str], secret: str | None,
               method: str = "POST") -> str:
    """The full signed URL (Signature appended last, like the SDK); secret=None: unsigned."""
    p = dict(params)
    if secret is not None:
        p["Signature"] = rpc_v1_sign(secret, rpc_v1_string_to_sign(method, params))
    query = "&".join(f"{percent(k)}={percent(v)}" for k, v in p.items())
    return f"{server.url}/?{query}"


def rpc_v1_call(server: Server, action: str, params: dict[str, Any] | None = None, *,
                method: str = "POST", secret: str | None = "default", ak: str | None = None,
                **kw: Any) -> requests.Response:
    dak, dsecret = server.credentials()
    p = rpc_v1_params(action, ak or dak, params, **kw)
    url = rpc_v1_url(server, p, dsecret if secret == "default" else secret, method)
    return requests.request(method, url, verify=server.verify, timeout=10)


def acs3_sign(method: str, query: dict[str, str], headers: dict[str, str], body_sha256: str,
              secret: str) -> tuple[str, str, str]:
    """ACS3-HMAC-SHA256 over ALL given headers; returns (signed_headers, signature, canonical)."""
    cq = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(query.items()))
    lower = {k.lower(): v.strip() for k, v in headers.items()}
    names = sorted(lower)
    ch = "".join(f"{n}:{lower[n]}\n" for n in names)
    signed = ";".join(names)
    canonical = f"{method}\n/\n{cq}\n{ch}\n{signed}\n{body_sha256}"
    sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
    sig = hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    return signed, sig, canonical


def acs3_request(server: Server, action: str, query: dict[str, Any] | None = None, *,
                 version: str = API_VERSION, date: str | None = None, nonce: str | None = None,
                 method: str = "POST", body: bytes = b"", ak: str | None = None,
                 secret: str | None = None) -> requests.PreparedRequest:
    """A signed, prepared ACS3 request that can be sent (and replayed) with a Session."""
    dak, dsecret = server.credentials()
    q = {k: str(v) for k, v in (query or {}).items()}
    body_sha = hashlib.sha256(body).hexdigest()
    headers = {
        "host": server.host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or api_time(utc_now()),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": body_sha,
        "accept": "application/json",
    }
    signed, sig, _ = acs3_sign(method, q, headers, body_sha, secret or dsecret)
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={ak or dak},SignedHeaders={signed},Signature={sig}"
    )
    query_string = "&".join(f"{percent(k)}={percent(v)}" for k, v in q.items())
    url = f"{server.url}/" + (f"?{query_string}" if query_string else "")
    return requests.Request(method, url, headers=headers, data=body or None).prepare()


def send(server: Server, prepared: requests.PreparedRequest) -> requests.Response:
    with requests.Session() as s:
        return s.send(prepared, verify=server.verify, timeout=10)


# --------------------------------------------------------------------------------------------
# Small assertions shared by several files
# --------------------------------------------------------------------------------------------


def b64decode_strict(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def assert_error_body(resp: requests.Response, status: int, code: str) -> dict:
    """A raw error response: status, JSON shape, headers."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("Content-Type") == JSON_CONTENT_TYPE, resp.headers
    body = resp.json()
    assert body.get("Code") == code, body
    for field in ("Code", "Message", "RequestId", "HostId", "Recommend"):
        assert isinstance(body.get(field), str) and body[field], (field, body)
    assert resp.headers.get("x-acs-request-id") == body["RequestId"], resp.headers
    return body


def assert_ok_body(resp: requests.Response) -> dict:
    assert resp.status_code == 200, (resp.status_code, resp.text)
    assert resp.headers.get("Content-Type") == JSON_CONTENT_TYPE, resp.headers
    body = resp.json()
    assert isinstance(body.get("RequestId"), str) and body["RequestId"], body
    assert resp.headers.get("x-acs-request-id") == body["RequestId"], resp.headers
    return body


def wait_until(pred, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


__all__ = [
    "API_VERSION", "DATE_RE", "FLAVORS", "JSON_CONTENT_TYPE", "KmsError", "NewKms", "OldKms",
    "REGION", "REPO_ROOT", "Server", "UUID_RE", "acs3_request", "acs3_sign", "api_time",
    "assert_error_body", "assert_ok_body", "b64decode_strict", "keywarden_bin", "make_client",
    "percent", "rpc_v1_call", "rpc_v1_params", "rpc_v1_sign", "rpc_v1_string_to_sign",
    "rpc_v1_url", "send", "timedelta", "unique", "utc_now", "wait_until",
]
