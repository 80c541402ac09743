"""Fixtures: one shared TLS `keywarden serve` for most tests, a lazily started plain-HTTP one,
and a factory for extra servers (restarts, fresh data dirs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from kwtest import FLAVORS, Server, keywarden_bin, make_client

# Never let a proxy or an ambient credential/CA setting change what the SDKs do.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
             "ALIBABA_CLOUD_CA_BUNDLE", "ALIBABA_CLOUD_ACCESS_KEY_ID",
             "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
             "ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "DEBUG",
             "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
    os.environ.pop(_var, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost,::1"


def pytest_configure(config):
    binary = keywarden_bin()
    if not binary.exists():
        raise pytest.UsageError(
            f"keywarden binary not found at {binary}: run `cargo build -p keywarden` first "
            "or point KEYWARDEN_BIN at it"
        )


@pytest.fixture(scope="session")
def session_tmp():
    d = Path(tempfile.mkdtemp(prefix="keywarden-compat-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _shared_store():
    """`--store` arguments for the shared server: with KEYWARDEN_COMPAT_STORE=postgres, a new
    database on the test PostgreSQL server (KEYWARDEN_TEST_PG), dropped at the end; else none
    (the embedded SQLite store)."""
    if os.environ.get("KEYWARDEN_COMPAT_STORE") != "postgres":
        return [], None
    admin = os.environ.get("KEYWARDEN_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")
    admin = admin.split("?")[0]
    name = f"kw_compat_{os.getpid()}"
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    url = admin.rsplit("/", 1)[0] + f"/{name}?sslmode=disable"

    def drop():
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       check=False)

    return ["--store", url], drop


@pytest.fixture(scope="session")
def server(session_tmp):
    """The shared HTTPS server (most tests use this one): on SQLite, or on PostgreSQL with
    KEYWARDEN_COMPAT_STORE=postgres."""
    store_args, drop = _shared_store()
    s = Server(session_tmp / "shared-tls", extra_args=store_args).start()
    if drop:
        import atexit
        atexit.register(drop)
        assert not (s.data_dir / "keywarden.db").exists(), "the shared server is on PostgreSQL"
    yield s
    code = s.stop()
    assert code == 0, f"shared server exited {code} on SIGTERM"
    log = s.stderr_text()
    assert "panicked" not in log, log[-4000:]
    errors = [ln for ln in log.splitlines() if " ERROR " in ln]
    assert not errors, "ERROR lines in the shared server's log:\n" + "\n".join(errors[:20])


@pytest.fixture(scope="session")
def http_server(session_tmp):
    """A plain-HTTP server (`--no-tls`) on its own data dir."""
    s = Server(session_tmp / "shared-http", tls=False).start()
    yield s
    s.stop()


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(data_dir=None, **Server kwargs) -> started Server; all are stopped
    (SIGKILL if still running) at the end of the test."""
    started: list[Server] = []

    def _start(data_dir: Path | None = None, **kw) -> Server:
        s = Server(data_dir or (tmp_path / f"data{len(started)}"), **kw).start()
        started.append(s)
        return s

    yield _start
    for s in started:
        if s.alive():
            s.kill()


@pytest.fixture(params=FLAVORS)
def flavor(request):
    return request.param


@pytest.fixture
def kms(server, flavor):
    """A client of the shared TLS server in the parametrised SDK flavour."""
    return make_client(server, flavor)


@pytest.fixture
def old(server):
    return make_client(server, "old")


@pytest.fixture
def new(server):
    return make_client(server, "new-v3")
