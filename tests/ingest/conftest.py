"""Fixtures of the import tests: store settings (the PostgreSQL server is in tests/conftest.py)."""

from __future__ import annotations

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
