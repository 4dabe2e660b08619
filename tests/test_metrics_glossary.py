"""docs/metrics.md defines every daily figure and every column the daily reports show."""

from __future__ import annotations

import datetime as dt
import inspect
import re
import typing
from pathlib import Path

import pandas as pd
import pytest
from demo_data import DEMO_UNTIL

from opslib.metrics import (
    fulfilment, kpis, marketing, outreach, returns, sales, stock, support, web,
)
from opslib.metrics.common import count_by_age
from opslib.store import Window
from opslib.views.daily import data, journal
from opslib.views.daily.data import as_of

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
DAILY_MODULES = (sales, fulfilment, returns, support, stock, marketing, web, kpis, outreach)


def glossary_names(text: str) -> set[str]:
    """Names defined in the glossary: the first cell of a table row, in backticks.

    >>> sorted(glossary_names("| `net_sales` | gross − ... |\\n| `aov` is not a row"))
    ['net_sales']
    """
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, flags=re.MULTILINE))


def _columns(value: object) -> set[str]:
    if isinstance(value, pd.DataFrame):
        return set(value.columns)
    if isinstance(value, pd.Series):
        return set(value.index)
    if isinstance(value, dict):
        return set(value)
    if isinstance(value, tuple):
        return set().union(*(_columns(v) for v in value))
    return set()


def _frame_functions() -> set[str]:
    """Every public metric function (of the daily domains) that returns a DataFrame."""
    found = set()
    for module in DAILY_MODULES:
        for name in module.__all__:
            member = getattr(module, name)
            if inspect.isfunction(member) and \
                    typing.get_type_hints(member).get("return") is pd.DataFrame:
                found.add(f"{module.__name__.rsplit('.', 1)[1]}.{name}")
    return found


@pytest.fixture(scope="module")
def report_columns(small_demo_store) -> set[str]:
    """Columns of every daily loader, every DataFrame metric and every derived report table."""
    store, day = small_demo_store, DEMO_UNTIL
    columns: set[str] = set()
    for name in data.__all__:
        loader = getattr(data, name)
        if callable(loader) and list(inspect.signature(loader).parameters) == ["store", "day"]:
            columns |= _columns(loader(store, day))
    t, d = store.table, as_of(store, day)
    week = Window.of(day - dt.timedelta(days=6), day, zone=store.zone)
    direct = {
        "sales.daily_sales": lambda: data.sales_trend(store, day, 7),
        "sales.sales_by_sku": lambda: sales.sales_by_sku(t("orders"), t("order_lines"),
                                                         window=week),
        "fulfilment.open_orders": lambda: data.open_orders(store, day),
        "fulfilment.pick_list": lambda: data.pick_list(store, day),
        "fulfilment.daily_shipments": lambda: fulfilment.daily_shipments(t("shipments"),
                                                                         window=week),
        "fulfilment.late_shipments": lambda: data.late_shipments(store, day),
        "fulfilment.tracking_not_sent": lambda: data.tracking_not_sent(store, day),
        "fulfilment.wrong_item_returns": lambda: data.wrong_items(store, day),
        "returns.open_returns": lambda: data.open_returns(store, day),
        "returns.refunds_due": lambda: data.refunds_due(store, day),
        "returns.returns_received": lambda: data.returns_received(store, day),
        "returns.daily_returns": lambda: returns.daily_returns(t("returns"), window=week),
        "support.open_tickets": lambda: data.open_tickets(store, day),
        "support.daily_tickets": lambda: support.daily_tickets(t("tickets"), window=week,
                                                               sla_hours=24),
        "stock.stock_position": lambda: stock.stock_position(t("inventory_snapshots"),
                                                             as_of=d),
        "stock.sku_velocity": lambda: stock.sku_velocity(t("orders"), t("order_lines"),
                                                         t("inventory_snapshots"), window=week),
        "stock.stock_cover": lambda: data.stock_cover(store, day),
        "stock.out_of_stock": lambda: data.out_of_stock(store, day),
        "stock.incoming_purchase_orders": lambda: data.incoming_purchase_orders(store, day),
        "marketing.calendar_items": lambda: data.calendar(store, day),
        "marketing.daily_ad_spend": lambda: marketing.daily_ad_spend(t("ad_spend_daily"),
                                                                     window=week),
        "marketing.ad_results": lambda: data.ads(store, day),
        "marketing.social_posts_published": lambda: data.posts(store, day),
        "marketing.email_results": lambda: data.emails(store, day),
        "marketing.live_promotions": lambda: data.promotions(store, day),
        "web.daily_traffic": lambda: web.daily_traffic(t("web_traffic_daily"), window=week),
        "kpis.daily_kpis": lambda: data.kpi_days(store, day)[0],
        "kpis.compare_kpis": lambda: data.kpi_comparison(store, day),
        "outreach.abandoned_checkouts": lambda: data.abandoned_checkouts(store, day),
        "outreach.unpaid_orders": lambda: data.unpaid_orders(store, day),
        "outreach.review_requests": lambda: data.review_requests(store, day),
        "outreach.with_contacts": lambda: outreach.with_contacts(
            t("orders").select("customer_id", "email").limit(5).to_pandas(),
            t("customers"), as_of=d),
    }
    unlisted = _frame_functions() - set(direct)
    assert not unlisted, f"add these metric functions to the glossary check: {unlisted}"
    for call in direct.values():
        columns |= _columns(call())
    columns |= _columns(count_by_age(data.open_tickets(store, day), by="channel"))
    columns |= _columns(journal.todo_frame(store, day)[0])
    columns |= {"tickets_per_100_orders"}  # support.contact_rate, shown as a tile
    return columns


def test_every_report_column_is_in_the_glossary(report_columns):
    """A column a daily report can show but the glossary does not define fails here."""
    missing = sorted(report_columns - glossary_names(GLOSSARY.read_text(encoding="utf-8")))
    assert missing == [], f"define these in docs/metrics.md: {missing}"


def test_every_daily_figure_is_in_the_glossary():
    """The recorded daily names each have a row (with the notebook that records them)."""
    from test_daily_notebooks import DAILY_FIGURES

    text = GLOSSARY.read_text(encoding="utf-8")
    assert sorted(DAILY_FIGURES - glossary_names(text)) == []
    for name in DAILY_FIGURES:
        row = re.search(rf"^\| `{name}` \| ([a-z_]+) \|", text, flags=re.MULTILINE)
        assert row, f"{name}: the headline table must name its notebook"


def test_the_check_fails_for_an_undefined_column(report_columns):
    """The check is live: a made-up report column is reported as missing."""
    names = glossary_names(GLOSSARY.read_text(encoding="utf-8"))
    assert "count_unicorns" not in names
    assert "count_unicorns" in (report_columns | {"count_unicorns"}) - names
