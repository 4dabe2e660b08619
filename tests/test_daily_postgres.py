"""The daily pages on PostgreSQL: every figure and every list equal to DuckDB's, unchanged code.

The throwaway server comes from the shared fixture (tests/conftest.py); like
those tests, this one fails under CI and skips locally when PostgreSQL is not installed.
"""

from __future__ import annotations

import pandas as pd
import pytest
from demo_data import DEMO_UNTIL

from opslib.ingest.postgres import copy_to_database
from opslib.store import Store
from opslib.views.daily import (
    customer_service, data, journal, kpis, marketing_today, orders_shipping, returns_refunds,
    stock_watch,
)

PAGES = (journal, orders_shipping, returns_refunds, customer_service, stock_watch, kpis,
         marketing_today)
LISTS = [name for name in data.__all__ if name not in ("as_of", "sales_trend")
         and callable(getattr(data, name))]


@pytest.fixture(scope="module")
def stores(postgres_url, small_demo_dir, demo_settings) -> tuple[Store, Store]:
    """(the small demo store on DuckDB, the same tables copied into PostgreSQL)."""
    copy_to_database(small_demo_dir, postgres_url)
    return Store.open(small_demo_dir, demo_settings), Store.connect(postgres_url, demo_settings)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.__name__.rsplit(".", 1)[1])
def test_daily_figures_are_the_same_on_postgresql(stores, page):
    duck, pg = stores
    assert page.figures(pg, DEMO_UNTIL) == pytest.approx(page.figures(duck, DEMO_UNTIL),
                                                         nan_ok=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", LISTS)
def test_daily_lists_are_the_same_on_postgresql(stores, name):
    duck, pg = stores
    loader = getattr(data, name)
    left, right = loader(duck, DEMO_UNTIL), loader(pg, DEMO_UNTIL)
    if isinstance(left, tuple):
        left, right = left[0], right[0]
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                      check_dtype=False)
    elif isinstance(left, pd.Series):
        pd.testing.assert_series_equal(left, right, check_dtype=False)
    else:
        assert left == pytest.approx(right, nan_ok=True)
