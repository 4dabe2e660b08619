"""Fixtures of the import tests: store settings and a throwaway PostgreSQL server."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from opslib.config import Settings


@pytest.fixture
def usd_settings() -> Settings:
    """A US store (the real Shopify export's shop)."""
    return Settings.from_dict({"store": {"name": "Enavant", "timezone": "America/New_York",
                                         "currency": "USD"}})


@pytest.fixture
def gbp_settings() -> Settings:
    """A UK store."""
    return Settings.from_dict({"store": {"name": "UK Shop", "timezone": "Europe/London",
                                         "currency": "GBP"}})


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_user(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own on a free loopback port, stopped at the end.

    Uses Debian's postgresql package (initdb, pg_ctl). As root, the server runs as the
    `postgres` user. Missing binaries fail the run under CI and skip it locally.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="playbook-pg-"))
    data = root / "cluster"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_postgres_user([initdb, "-D", str(data), "-U", "postgres",
                                      "--auth=trust", "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True)
    options = f"-p {port} -h 127.0.0.1 -k {root} -c fsync=off"
    subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-o", options, "-l",
                                      str(root / "server.log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        createdb = _pg_bin("createdb")
        subprocess.run(_as_postgres_user([createdb, "-h", "127.0.0.1", "-p", str(port), "-U",
                                          "postgres", "playbook"]), check=True,
                       capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/playbook"
    finally:
        subprocess.run(_as_postgres_user([pg_ctl, "-D", str(data), "-m", "fast", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

