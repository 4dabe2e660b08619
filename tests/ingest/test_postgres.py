"""PostgreSQL: the same metric code gives the same day on both backends; import copies in."""

from __future__ import annotations

import pandas as pd
import pytest
from demo_data import DEMO_UNTIL

from opslib.ingest import import_postgres
from opslib.ingest.postgres import copy_to_database
from opslib.metrics.sales import daily_sales
from opslib.schema import TABLES, read_for_validation, table_path, validate_store
from opslib.store import Store

SALES_TABLES = ("customers", "products", "orders", "order_lines", "returns")


@pytest.fixture(scope="module")
def loaded_database(postgres_url, small_demo_dir):
    """The small demo store's sales tables, copied into the test server."""
    written = copy_to_database(small_demo_dir, postgres_url, tables=SALES_TABLES)
    assert set(written) == set(SALES_TABLES)
    return postgres_url


def test_a_days_kpis_are_identical_on_duckdb_and_postgresql(loaded_database, small_demo_dir,
                                                            demo_settings):
    """daily_sales for a week ending on the demo's last day: every figure equal."""
    duck = Store.open(small_demo_dir, demo_settings)
    pg = Store.connect(loaded_database, demo_settings)
    window = duck.window(DEMO_UNTIL - pd.Timedelta(days=6), DEMO_UNTIL)

    def figures(store: Store) -> pd.DataFrame:
        return daily_sales(store.table("orders"), store.table("order_lines"),
                           store.table("returns"), window=window)

    on_duck, on_pg = figures(duck), figures(pg)
    assert on_duck["count_orders"].sum() > 0
    pd.testing.assert_frame_equal(on_duck.reset_index(drop=True), on_pg.reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9)


def test_import_postgres_copies_the_tables_in_and_again_is_a_no_op(loaded_database,
                                                                   small_demo_dir,
                                                                   demo_settings, tmp_path):
    """Every row arrives unchanged, the store validates, a second import skips each table."""
    report = import_postgres(loaded_database, data_dir=tmp_path, settings=demo_settings)
    assert report.ok, report.text()
    assert [f.file.rsplit(" ", 1)[-1] for f in report.files] == \
        [n for n in TABLES if n in SALES_TABLES]
    for name in SALES_TABLES:
        original = read_for_validation(table_path(small_demo_dir, name))
        copied = read_for_validation(table_path(tmp_path, name))
        key = list(TABLES[name].key)
        pd.testing.assert_frame_equal(
            original.sort_values(key).reset_index(drop=True)[copied.columns],
            copied.sort_values(key).reset_index(drop=True), check_dtype=False)
    assert validate_store(tmp_path)[1] == []
    again = import_postgres(loaded_database, data_dir=tmp_path, settings=demo_settings)
    assert all(f.skipped for f in again.files)


def test_bad_url_gives_a_readable_error(tmp_path, demo_settings):
    """A server that is not there: an error naming the URL without its password."""
    from opslib.ingest.postgres import DatabaseError

    with pytest.raises(DatabaseError) as caught:
        import_postgres("postgresql://shop:secret@127.0.0.1:1/shop", data_dir=tmp_path,
                        settings=demo_settings)
    assert "postgresql://shop@127.0.0.1:1/shop" in str(caught.value)
    assert "secret" not in str(caught.value)
