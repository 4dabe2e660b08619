"""Shared fixtures: the small demo store, generated once per test session."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import pytest

from opslib.config import Settings

# A fixed last day keeps every test reproducible; the demo's history ends here.
DEMO_UNTIL = dt.date(2025, 11, 30)
DEMO_SEED = 11
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def demo_until() -> dt.date:
    """DEMO_UNTIL as a fixture: `from conftest import` can pick up a sub-folder's conftest."""
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


_THIS_CONFTEST = sys.modules[__name__]


def pytest_collectstart(collector):
    """Test files here import DEMO_UNTIL `from conftest`; the conftest.py of a sub-folder
    (tests/metrics, tests/ingest) takes that module name when it loads, so give the name
    back to this file just before a test file of this folder is imported."""
    if isinstance(collector, pytest.Module) and collector.path.parent == Path(__file__).parent:
        sys.modules["conftest"] = _THIS_CONFTEST


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
