"""Shared fixtures: the small demo store, generated once per test session, and a
throwaway PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo_data import DEMO_SEED, DEMO_UNTIL
from opslib.config import Settings

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def demo_until() -> dt.date:
    """DEMO_UNTIL as a fixture (for the sub-folders' tests)."""
    return DEMO_UNTIL


@pytest.fixture(scope="session")
def demo_settings() -> Settings:
    """The settings the demo stores in tests are generated and read with."""
    return Settings.from_dict({"store": {"name": "Test Shop", "timezone": "Europe/London",
                                         "currency": "GBP"}})


@pytest.fixture(scope="session")
def small_demo_dir(tmp_path_factory, demo_settings) -> Path:
    """A small demo store (about a year) ending on DEMO_UNTIL. Treat it as read-only."""
    from opslib.demo import generate

    data_dir = tmp_path_factory.mktemp("small_demo")
    generate(data_dir, size="small", until=DEMO_UNTIL, seed=DEMO_SEED, settings=demo_settings)
    return data_dir


@pytest.fixture(scope="session")
def small_demo_store(small_demo_dir, demo_settings):
    """The small demo store opened on DuckDB."""
    from opslib.store import Store

    return Store.open(small_demo_dir, demo_settings)


def pytest_collection_modifyitems(config, items):
    """Real-data tests need ../shared/realdata: CI fails without it, a local run deselects."""
    if REALDATA.is_dir():
        return
    wanted = [item for item in items if "realdata" in item.keywords]
    if not wanted:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI must run the realdata tests, but {REALDATA} is missing.")
    config.hook.pytest_deselected(items=wanted)
    items[:] = [item for item in items if "realdata" not in item.keywords]


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



@pytest.fixture(scope="session")
def spark_session():
    """One Spark session, `local[2]`, for the whole test run (the JVM starts once).

    Needs Java 17 and the `spark` extra: missing, the run fails under CI and skips locally.
    """
    import importlib.util

    missing = [what for what, present in (("java", shutil.which("java")),
                                          ("pyspark", importlib.util.find_spec("pyspark")))
               if not present]
    if missing:
        message = (f"Spark tests need {' and '.join(missing)} "
                   "(apt-get install openjdk-17-jre-headless; pip install '.[spark]')")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from opslib.store import spark_session

    # Small data: few shuffle partitions keep each query quick on two cores.
    session = spark_session("local[2]", {"spark.sql.shuffle.partitions": 4})
    yield session
    session.stop()
