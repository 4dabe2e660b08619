"""Line titles: a line without a SKU is shown by the title the shop gave it, and a store
written before order_lines had a title column still opens, checks, imports and reports."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from demo_data import DEMO_UNTIL
from notebook_runs import error_outputs, run_notebook, write_settings

from opslib.checks import check_engine, check_store
from opslib.config import Settings
from opslib.ingest import import_files
from opslib.ingest.postgres import copy_to_database
from opslib.schema import TABLES, read_for_validation, table_path
from opslib.serve import pages
from opslib.store import Store, connect_database
from opslib.views.daily import data as fulfilment_data
from opslib.views.daily import orders_shipping

FIXTURE = Path(__file__).parent / "ingest" / "fixtures" / "shopify_custom_lines.csv"
SETTINGS = Settings.from_dict({"store": {"name": "Tag Shop", "timezone": "America/New_York",
                                         "currency": "USD"}})
DAY = dt.date(2024, 5, 3)
GIFT_WRAP_DAY = dt.date(2025, 11, 10)  # the small demo has gift wrap to pick that day


def _cells(block_html: str) -> list[list[str]]:
    """The text of every body cell of an HTML table, row by row (entities decoded)."""
    body = block_html.split("<tbody>", 1)[1]
    return [[html.unescape(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body)]


@pytest.fixture(scope="module")
def tag_shop(tmp_path_factory) -> Store:
    """The hand-written Shopify export: an order shipped on 1 May, two waiting (a mug,
    gift wrap, a tip, two typed-in items)."""
    data = tmp_path_factory.mktemp("tag_shop")
    report = import_files("shopify-orders", [FIXTURE], data_dir=data, settings=SETTINGS)
    assert report.ok, report.text()
    return Store.open(data, SETTINGS)


def test_the_pick_list_page_shows_each_lines_own_title(tag_shop):
    """Golden: the pick list of 3 May names every line: the mug by its product, the lines
    without a SKU by their titles, escaped in the page (the customer typed them)."""
    section = orders_shipping.pick_list(tag_shop, DAY)
    page = section.parts[0].html
    rows = _cells(page)
    assert [row[:5] for row in rows] == [
        ["MUG-BLU", "Ceramic Mug - Blue", "2", "1", "#1101"],
        ["–", "Gift wrap", "1", "1", "#1101"],
        ["–", "Tip", "1", "1", "#1101"],
        ["–", "=2+2 custom sticker", "2", "1", "#1102"],
        ["–", 'Engraved tag "Rex" <b>bold</b>, brass', "1", "1", "#1102"],
    ]
    assert [row[5][-5:] for row in rows] == ["09:15"] * 3 + ["16:40"] * 2  # local time
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    assert "Custom item" not in page


def test_the_pick_list_csv_keeps_titles_and_defuses_formulas(tag_shop):
    """The download carries the same titles; one that starts like a formula is defused."""
    link = pages.pick_list_download(tag_shop, DAY).parts[0].html
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", link).group(1)
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(payload).decode("utf-8"))))
    assert [r["title"] for r in rows] == [
        "Ceramic Mug - Blue", "Gift wrap", "Tip", "'=2+2 custom sticker",
        'Engraved tag "Rex" <b>bold</b>, brass']


def _old_layout(source: Path, target: Path) -> Path:
    """A copy of a store's tables with order_lines as written before lines had titles."""
    shutil.copytree(source / "tables", target / "tables")
    for part in table_path(target, "order_lines").glob("*.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(["title"]), part)
    assert "title" not in pq.read_schema(next(table_path(target, "order_lines")
                                              .glob("*.parquet"))).names
    return target


@pytest.fixture
def old_store(small_demo_dir, tmp_path) -> Path:
    return _old_layout(small_demo_dir, tmp_path / "old")


def test_a_store_written_without_line_titles_opens_and_checks(old_store, demo_settings):
    """The missing nullable column reads as empty on the engine and in the check; the pick
    list names the untitled gift wrap by its price."""
    assert check_store(old_store).violations == []
    assert check_engine(old_store, demo_settings).violations == []
    store = Store.open(old_store, demo_settings)
    assert store.table("order_lines").title.isnull().all().to_pandas()
    picks = orders_shipping.pick_list(store, GIFT_WRAP_DAY).parts[0].html
    assert "Gift wrapping" not in picks
    assert "Custom item (no SKU), 3.50 each" in picks


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["postgres", "spark"])
def test_old_tables_read_the_same_on_every_engine(engine, old_store, demo_settings, request,
                                                  small_demo_dir):
    """PostgreSQL views and Spark Parquet without the title column give the pick list
    DuckDB gives for the same old tables."""
    expected = fulfilment_data.pick_list(Store.open(old_store, demo_settings), GIFT_WRAP_DAY)
    if engine == "spark":
        request.getfixturevalue("spark_session")
        settings = _with_engine(demo_settings, kind="spark", url="local[2]")
        store = Store.open(old_store, settings)
        got = fulfilment_data.pick_list(store, GIFT_WRAP_DAY)
    else:
        url = request.getfixturevalue("postgres_url")
        copy_to_database(small_demo_dir, url, tables=orders_shipping.READS)
        con = connect_database(url)
        con.raw_sql("CREATE SCHEMA before_titles")
        try:
            for name in orders_shipping.READS:
                columns = ", ".join(c.name for c in TABLES[name].columns if not c.late)
                con.raw_sql(f"CREATE VIEW before_titles.{name} AS SELECT {columns} "
                            f"FROM public.{name}")
            settings = _with_engine(demo_settings, kind="postgres", url=url,
                                    tables="before_titles")
            got = fulfilment_data.pick_list(Store.open(old_store, settings), GIFT_WRAP_DAY)
        finally:
            con.raw_sql("DROP SCHEMA before_titles CASCADE")
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=False)
    assert "Custom item (no SKU), 3.50 each" in set(got.title)


def _with_engine(settings: Settings, **engine) -> Settings:
    return Settings.from_dict({**settings.to_dict(), "engine": engine})


def test_the_demo_names_its_gift_wrap_lines(small_demo_store):
    """The demo's custom lines (gift wrapping, no SKU) carry their title to the pick list."""
    lines = small_demo_store.table("order_lines")
    custom = lines.filter(lines.sku.isnull()).title.to_pandas()
    assert len(custom) and set(custom) == {"Gift wrapping"}
    assert lines.title.isnull().sum().to_pandas() == 0
    picks = orders_shipping.pick_list(small_demo_store, GIFT_WRAP_DAY).parts[0].html
    assert "Gift wrapping" in picks and "Custom item" not in picks


@pytest.mark.slow
def test_the_reports_of_an_old_store_run(old_store, demo_settings, tmp_path):
    """The orders and journal notebooks run on it without an error cell."""
    settings_file = write_settings(tmp_path, demo_settings)
    for name in ("orders_shipping", "journal"):
        notebook = run_notebook("daily", name, old_store, tmp_path, settings_file)
        assert error_outputs(notebook) == [], name


def test_an_import_into_an_old_store_adds_the_column(tmp_path):
    """Importing into a store whose order_lines lack titles keeps the old lines (title
    empty) and gives the new ones theirs: the table is rewritten in the new layout."""
    first = tmp_path / "first"
    report = import_files("shopify-orders", [FIXTURE], data_dir=first, settings=SETTINGS)
    assert report.ok, report.text()
    old = _old_layout(first, tmp_path / "old")
    renamed = tmp_path / "later.csv"
    renamed.write_text(FIXTURE.read_text(encoding="utf-8").replace("#1101", "#1201")
                       .replace(",7101,", ",7201,"), encoding="utf-8")
    report = import_files("shopify-orders", [renamed], data_dir=old, settings=SETTINGS)
    assert report.ok, report.text()
    lines = read_for_validation(table_path(old, "order_lines")).set_index(
        ["order_id", "line_number"])
    assert lines.loc[("7201", 2), "title"] == "Gift wrap"
    assert lines.loc[("7201", 3), "title"] == "Tip"
    assert lines.xs("7101", level="order_id").title.isna().all()
    assert "title" in pq.read_schema(next(table_path(old, "order_lines").glob("*.parquet"))
                                     ).names
    assert check_store(old).violations == []
