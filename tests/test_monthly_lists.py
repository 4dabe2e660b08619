"""The monthly lists to act on are as of D: each list for D is the same whether the store
goes on past D or was cut at the end of D (the cut of test_daily_as_of.py, here a month
before the small demo store ends)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from demo_data import DEMO_UNTIL
from test_daily_as_of import cut_at

from opslib.exports import CONTACT_COLUMNS, LIST_MIME
from opslib.metrics import customers, planning
from opslib.metrics.months import month_of
from opslib.store import Store
from opslib.views.monthly import customers_loyalty, data, inventory_planning

D = month_of(DEMO_UNTIL, zone="Europe/London").start - dt.timedelta(days=1)  # 31 October
LISTS = ("lapsed_regulars", "win_back", "detractors", "segments", "vip")


@pytest.fixture(scope="module")
def stores(small_demo_dir, demo_settings, tmp_path_factory) -> tuple[Store, Store]:
    """(the demo store running a month past D, the same store cut at the end of D)."""
    cut = cut_at(small_demo_dir, tmp_path_factory.mktemp("monthly_cut"), D,
                 demo_settings.store.timezone)
    return Store.open(small_demo_dir, demo_settings), Store.open(cut, demo_settings)


def _same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(left.reset_index(drop=True), right.reset_index(drop=True),
                                  check_dtype=False)


@pytest.mark.parametrize("name", LISTS)
def test_each_customer_list_for_d_ignores_what_came_after(stores, name):
    """lapsed_regulars, win_back, detractors, segments and vip: identical, and none of them
    empty, so the comparison means something."""
    long, cut = stores
    left, right = customers_loyalty.lists(long, D)[name], customers_loyalty.lists(cut, D)[name]
    _same(left, right)
    assert tuple(left.columns[:3]) == CONTACT_COLUMNS
    assert len(left) > 0


def test_loyalty_tiers_for_d_ignore_what_came_after(stores):
    """Members (tier at D and at the end of September) and the per-tier table."""
    long, cut = stores
    tiers = long.settings.loyalty.tiers
    members = [customers.loyalty_members(s.table("orders"), s.table("order_lines"),
                                         as_of=s.window(D), tiers=tiers) for s in stores]
    _same(*members)
    month = month_of(D, zone=long.zone)
    _same(*(customers.tier_summary(m, tiers=tiers, month=month) for m in members))
    assert (members[0].tier_move == "up").any()


def test_purchase_orders_for_d_ignore_what_came_after(stores):
    long, cut = stores
    left, right = (planning.purchase_orders(data.reorder_plan(s, D)) for s in stores)
    _same(left, right)
    assert len(left) > 0


def test_marketing_lists_hold_only_subscribed_customers(stores):
    """win_back, segments and vip: every e-mail belongs to a customer with consent, and
    the audience file plus those left out is every customer of the RFM table."""
    long, _ = stores
    subscribed = long.table("customers").filter(lambda t: t.has_marketing_consent) \
        .email.to_pandas()
    found = customers_loyalty.lists(long, D)
    for name in customers_loyalty.MARKETING_LISTS:
        assert found[name].email.isin(set(subscribed)).all(), name
    left_out = customers_loyalty._lists(long, D)[1]["segments"]
    sizes = customers.rfm_segments(long.table("orders"), long.table("order_lines"),
                                   as_of=long.window(D))
    assert len(found["segments"]) + left_out == sizes.count_customers.sum()
    assert 0 < left_out < sizes.count_customers.sum()


def test_the_report_hands_each_list_to_the_runner(stores):
    """Each list section's block carries the whole list (not only the rows shown)."""
    long, _ = stores
    sections = {"lapsed_regulars": customers_loyalty.call_list,
                "win_back": customers_loyalty.win_back,
                "detractors": customers_loyalty.detractors,
                "segments": customers_loyalty.audience, "vip": customers_loyalty.vip,
                "purchase_orders": inventory_planning.purchase_orders}
    for name, build in sections.items():
        handed = [p.extra[LIST_MIME] for p in build(long, D).parts
                  if p.extra and LIST_MIME in p.extra]
        assert [h["name"] for h in handed] == [name]
        expected = (customers_loyalty.lists(long, D)[name] if name != "purchase_orders"
                    else planning.purchase_orders(data.reorder_plan(long, D)))
        assert len(handed[0]["rows"]) == len(expected), name


def test_the_long_store_lists_differ_for_its_own_last_day(stores):
    """The comparison is not vacuous: a month later, the lists do differ."""
    long, cut = stores
    assert not customers_loyalty.lists(long, DEMO_UNTIL)["segments"].equals(
        customers_loyalty.lists(cut, DEMO_UNTIL)["segments"])
