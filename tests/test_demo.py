"""The demo store: the contract, reproducibility, realism, and the state at `until`.

Most tests read the session's small demo store (tests/conftest.py); a few generate another
small store where they need a different seed, length or time zone.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pytest

from opslib.config import Settings
from opslib.demo import generate, history_start
from opslib.errors import BadParameter
from opslib.schema import RETURN_REASONS, TABLES, TICKET_CHANNELS, table_path, validate_store
from demo_data import DEMO_SEED, DEMO_UNTIL

ZONE = "Europe/London"
# Columns that hold plans and may lie after `until`.
FUTURE_ALLOWED = {("purchase_orders", "expected_at"), ("purchase_orders", "payment_due_date"),
                  ("shipments", "promised_at"), ("content_calendar", "planned_date"),
                  ("promotions", "ends_at")}


def read(data_dir, name: str) -> pd.DataFrame:
    return pads.dataset(table_path(data_dir, name), format="parquet").to_table().to_pandas()


def local(series: pd.Series, zone: str = ZONE) -> pd.Series:
    return series.dt.tz_convert(zone)


@pytest.fixture(scope="module")
def orders(small_demo_dir) -> pd.DataFrame:
    frame = read(small_demo_dir, "orders")
    frame["local"] = local(frame["created_at"])
    frame["day"] = frame["local"].dt.date
    return frame


@pytest.fixture(scope="module")
def end_of_until() -> pd.Timestamp:
    """The first instant after the `until` day, in UTC."""
    return pd.Timestamp(DEMO_UNTIL + dt.timedelta(days=1), tz=ZONE).tz_convert("UTC")


# --- the contract and reproducibility -------------------------------------------------------

def test_small_store_meets_the_contract(small_demo_dir):
    """Every canonical table is written and the store has zero contract violations."""
    counts, violations = validate_store(small_demo_dir)
    assert [str(v) for v in violations] == []
    assert set(counts) == set(TABLES) and len(counts) == 22
    assert all(counts[name] > 0 for name in TABLES)
    assert 3_000 <= counts["orders"] <= 6_000


def test_generate_returns_the_row_counts(tmp_path, demo_settings, small_demo_dir):
    """The counts returned by generate are the rows on disk, and a store with a different
    seed differs while the same seed reproduces every table exactly."""
    counts = generate(tmp_path, size="small", until=DEMO_UNTIL, seed=DEMO_SEED,
                      settings=demo_settings)
    on_disk, _ = validate_store(tmp_path)
    assert counts == on_disk
    for name in TABLES:
        again = pads.dataset(table_path(tmp_path, name)).to_table()
        first = pads.dataset(table_path(small_demo_dir, name)).to_table()
        assert again.equals(first), f"{name} differs for the same seed"


def test_a_different_seed_gives_a_different_store(tmp_path, demo_settings, small_demo_dir):
    """Seed 12 is not seed 11: orders and stock differ."""
    generate(tmp_path, size="small", until=DEMO_UNTIL, seed=DEMO_SEED + 1,
             settings=demo_settings)
    for name in ("orders", "inventory_snapshots", "tickets"):
        other = pads.dataset(table_path(tmp_path, name)).to_table()
        first = pads.dataset(table_path(small_demo_dir, name)).to_table()
        assert not other.equals(first)


def test_unknown_size_is_a_clear_error(tmp_path, demo_settings):
    """A size that does not exist names the choices."""
    with pytest.raises(BadParameter, match="one of \\['small', 'medium', 'large'\\]"):
        generate(tmp_path, size="huge", until=DEMO_UNTIL, settings=demo_settings)


# --- history length and time zone ------------------------------------------------------------

def test_years_lengthens_history_at_the_same_daily_volume(tmp_path, demo_settings, orders):
    """years=2 at small size: two years of history, the last year as busy as the 1-year
    store (the trend makes the first year quieter), so year-over-year comparisons work."""
    generate(tmp_path, size="small", until=DEMO_UNTIL, years=2, seed=DEMO_SEED,
             settings=demo_settings)
    longer = read(tmp_path, "orders")
    days = local(longer["created_at"]).dt.date
    assert days.min() == history_start(DEMO_UNTIL, 2) == dt.date(2023, 12, 1)
    assert days.max() == DEMO_UNTIL
    last_year = (days >= history_start(DEMO_UNTIL, 1)).sum()
    assert 0.85 < last_year / len(orders) < 1.15
    first_year = len(longer) - last_year
    assert first_year < 0.9 * last_year


def test_order_times_are_local_shopping_hours_in_the_store_time_zone(tmp_path):
    """In New York, orders fall between 07:00 and 23:00 New York time (peaking in the
    evening); in UTC the same orders spread into the night."""
    settings = Settings.from_dict({"store": {"timezone": "America/New_York",
                                             "currency": "USD"}})
    generate(tmp_path, size="small", until=DEMO_UNTIL, seed=3, settings=settings)
    created = read(tmp_path, "orders")["created_at"]
    hours = local(created, "America/New_York").dt.hour
    assert hours.between(7, 22).all()
    assert hours.value_counts().idxmax() in range(17, 22)
    assert (created.dt.hour < 7).mean() > 0.25  # UTC hours are 4–5 hours later
    assert local(created, "America/New_York").dt.date.max() == DEMO_UNTIL
    assert set(read(tmp_path, "orders")["currency"]) == {"USD"}
    assert set(read(tmp_path, "shipments")["carrier"]) == {"USPS", "UPS", "FedEx"}


# --- sales patterns ----------------------------------------------------------------------------

def test_november_december_peak(orders):
    """November–December average well above the other months (> 1.3×)."""
    monthly = orders.groupby(orders["local"].dt.month).size()
    peak = monthly[[11, 12]].mean()
    assert peak > 1.3 * monthly.drop([11, 12]).mean()


def test_weekday_pattern(orders):
    """Saturday is well below midweek; Sunday and Monday beat Friday and Saturday by 20%."""
    by_weekday = orders.groupby(orders["local"].dt.day_of_week).size()
    assert by_weekday[5] < 0.9 * by_weekday[[1, 2, 3]].mean()
    assert by_weekday[[6, 0]].sum() > 1.2 * by_weekday[[4, 5]].sum()


def test_promotions_lift_sales(small_demo_dir, orders):
    """Days inside a dated promotion have clearly more orders than days outside, and the
    promotion's code is used on orders in its window."""
    promos = read(small_demo_dir, "promotions").dropna(subset=["ends_at"])
    per_day = orders.groupby("day").size()
    dates = pd.Series(per_day.index)
    inside = np.zeros(len(dates), bool)
    for promo in promos.itertuples():
        first = local(pd.Series([promo.starts_at])).dt.date[0]
        last = local(pd.Series([promo.ends_at])).dt.date[0]
        inside |= dates.between(first, last).to_numpy()
        used = orders.loc[orders["discount_code"] == promo.promo_code, "day"]
        assert used.between(first, last).all() and len(used) > 0
    assert per_day[inside].mean() > 1.2 * per_day[~inside].mean()
    assert promos["promo_code"].str.startswith("BF").any()


def test_customers_repeat_lapse_and_guests(small_demo_dir, orders):
    """A plausible share of repeat customers, pauses of about two months, a small share
    of guest orders, consent for about half, and regulars who have lapsed."""
    known = orders.dropna(subset=["customer_id"]).sort_values("created_at")
    per_customer = known.groupby("customer_id").size()
    assert 0.20 <= (per_customer >= 2).mean() <= 0.45
    gaps = known.groupby("customer_id")["created_at"].diff().dt.days.dropna()
    assert 45 <= gaps.median() <= 100
    assert 0.02 <= orders["customer_id"].isna().mean() <= 0.2
    customers = read(small_demo_dir, "customers")
    assert 0.4 <= customers["has_marketing_consent"].mean() <= 0.7
    last = known.groupby("customer_id")["created_at"].max()
    usual = known.assign(gap=known.groupby("customer_id")["created_at"].diff().dt.days) \
        .groupby("customer_id")["gap"].median()
    regulars = per_customer[per_customer >= 3].index
    silent = (pd.Timestamp(DEMO_UNTIL, tz="UTC") - last[regulars]).dt.days
    assert (silent > 1.5 * usual[regulars]).sum() >= 3


# --- stock -------------------------------------------------------------------------------------

def test_bestsellers_stock_out_and_are_refilled(small_demo_dir, orders):
    """Some SKUs sit at zero for days, sell nothing while at zero, and come back after a
    purchase order is received."""
    snaps = read(small_demo_dir, "inventory_snapshots").sort_values(["sku", "snapshot_date"])
    pos = read(small_demo_dir, "purchase_orders").dropna(subset=["received_at"])
    pos["received_date"] = local(pos["received_at"]).dt.date
    refilled = 0
    for sku, days in snaps.groupby("sku"):
        zero = days[days["on_hand"] == 0]
        if len(zero) < 2:
            continue
        out = zero["snapshot_date"].min()
        back = days[(days["snapshot_date"] > out) & (days["on_hand"] > 0)]
        if back.empty:
            continue
        arrived = pos[(pos["sku"] == sku) & (pos["received_date"] > out)
                      & (pos["received_date"] <= back["snapshot_date"].min())]
        refilled += len(arrived) > 0
    assert refilled >= 3

    lines = read(small_demo_dir, "order_lines").merge(orders[["order_id", "day"]])
    sold = lines.groupby(["sku", "day"])["quantity"].sum()
    snaps["before"] = snaps.groupby("sku")["on_hand"].shift()
    received = set(zip(pos["sku"], pos["received_date"]))
    dry = snaps[(snaps["before"] == 0) & (snaps["on_hand"] == 0)]
    dry = dry[[(s, d) not in received for s, d in zip(dry["sku"], dry["snapshot_date"])]]
    assert len(dry) > 20
    assert sold.reindex(list(zip(dry["sku"], dry["snapshot_date"]))).fillna(0).sum() == 0


def test_stock_columns_are_consistent(small_demo_dir):
    """committed never exceeds on hand (nothing oversold); incoming matches open purchase
    orders on the last day; every active SKU has a snapshot every day."""
    snaps = read(small_demo_dir, "inventory_snapshots")
    assert (snaps["committed"] <= snaps["on_hand"]).all()
    last = snaps[snaps["snapshot_date"] == DEMO_UNTIL].set_index("sku")
    pos = read(small_demo_dir, "purchase_orders")
    open_qty = pos[pos["status"] == "ordered"].groupby("sku")["quantity"].sum()
    assert open_qty.reindex(last.index).fillna(0).astype(int).equals(last["incoming"])
    products = read(small_demo_dir, "products")
    active = set(products.loc[products["status"] == "active", "sku"])
    assert active <= set(last.index)
    assert set(products.loc[products["status"] == "draft", "sku"]).isdisjoint(snaps["sku"])


# --- orders, shipments, returns ------------------------------------------------------------------

def test_order_amounts_add_up(small_demo_dir, orders):
    """subtotal = Σ quantity × unit price; total = subtotal − discount + shipping + tax,
    to the cent; line discounts never exceed the order's discount."""
    lines = read(small_demo_dir, "order_lines")
    cents = lambda s: np.round(s * 100).astype(np.int64)  # noqa: E731
    gross = (cents(lines["unit_price"]) * lines["quantity"]).groupby(lines["order_id"]).sum()
    o = orders.set_index("order_id")
    assert gross.reindex(o.index).equals(cents(o["subtotal"]))
    total = cents(o["subtotal"]) - cents(o["discount_amount"]) + cents(o["shipping_amount"]) \
        + cents(o["tax_amount"])
    assert total.equals(cents(o["total_amount"]))
    line_discount = cents(lines["discount_amount"]).groupby(lines["order_id"]).sum()
    assert (line_discount.reindex(o.index) <= cents(o["discount_amount"])).all()
    first = lines.drop_duplicates("order_id").set_index("order_id")["created_at"]
    assert first.reindex(o.index).equals(o["created_at"])


def test_statuses_match_shipments_and_returns(small_demo_dir, orders):
    """Fulfilled ⇔ shipped; cancelled orders never ship; refunded statuses follow the
    refunds; returns come after delivery."""
    shipments = read(small_demo_dir, "shipments")
    shipped = orders["order_id"].isin(shipments["order_id"])
    assert (shipped == (orders["fulfillment_status"] == "fulfilled")).all()
    cancelled = orders["cancelled_at"].notna()
    assert 0.005 < cancelled.mean() < 0.05 and not (cancelled & shipped).any()
    assert orders.loc[cancelled, "financial_status"].isin(["voided", "refunded"]).all()
    returns = read(small_demo_dir, "returns")
    refunds = returns[returns["refunded_at"].notna() & (returns["resolution"] == "refund")]
    refunded = refunds.groupby("order_id")["refund_amount"].sum()
    partial = orders.set_index("order_id")["financial_status"] == "partially_refunded"
    assert set(partial[partial].index) <= set(refunded.index)
    timed = returns.merge(shipments[["order_id", "delivered_at"]], on="order_id")
    assert (timed["requested_at"] > timed["delivered_at"]).all()


def test_shipments_are_late_by_carrier_and_some_tracking_never_sent(small_demo_dir):
    """At least three carriers with different lateness; some parcels really late; a few
    percent of tracking numbers never sent; standard and express services."""
    shipments = read(small_demo_dir, "shipments")
    late = (shipments["delivered_at"] > shipments["promised_at"]).groupby(
        shipments["carrier"]).mean()
    assert len(late) >= 3 and late.max() > 2 * late.min() and late.max() > 0.1
    assert {"standard", "express"} <= set(shipments["service"])
    assert 0.01 < shipments["tracking_sent_at"].isna().mean() < 0.06
    assert shipments.groupby("service")["shipping_cost"].mean()["express"] > \
        shipments.groupby("service")["shipping_cost"].mean()["standard"]


def test_returns_have_every_reason_and_refund_lags(small_demo_dir):
    """All seven reasons occur, order-level refunds have no SKU, refunds take days."""
    returns = read(small_demo_dir, "returns")
    assert set(returns["reason"]) == set(RETURN_REASONS)
    assert returns["reason"].value_counts().idxmax() in ("size", "changed_mind")
    order_level = returns["sku"].isna()
    assert order_level.sum() > 0 and returns.loc[order_level, "quantity"].isna().all()
    lag = (returns["refunded_at"] - returns["requested_at"]).dt.days.dropna()
    assert 3 <= lag[~order_level].median() <= 14
    assert {"refund", "exchange", "store_credit"} <= set(returns["resolution"].dropna())


def test_wrong_items_raise_returns_and_complaints(small_demo_dir):
    """Wrong-item shipments show up as wrong_item returns and complaint tickets."""
    returns = read(small_demo_dir, "returns")
    tickets = read(small_demo_dir, "tickets")
    wrong = set(returns.loc[returns["reason"] == "wrong_item", "order_id"])
    complaints = set(tickets.loc[tickets["category"] == "complaint", "order_id"].dropna())
    assert len(wrong & complaints) >= 5


# --- service -----------------------------------------------------------------------------------

def test_tickets_channels_delays_and_late_parcels(small_demo_dir, demo_settings):
    """Tickets on all seven channels; late parcels raise where-is-my-order tickets; some
    first responses breach the service level; some escalations."""
    tickets = read(small_demo_dir, "tickets")
    assert set(tickets["channel"]) == set(TICKET_CHANNELS)
    shipments = read(small_demo_dir, "shipments")
    late = shipments.loc[shipments["delivered_at"] > shipments["promised_at"], "order_id"]
    wismo = tickets.loc[tickets["category"] == "where_is_my_order", "order_id"]
    assert wismo.isin(late).mean() > 0.5
    hours = (tickets["first_response_at"] - tickets["created_at"]).dt.total_seconds() / 3600
    breach = (hours > demo_settings.service.first_response_hours).mean()
    assert 0.03 < breach < 0.35 and hours.median() < 16
    assert 0.02 < tickets["is_escalated"].mean() < 0.15
    assert (tickets["resolved_at"].dropna() >= tickets["first_response_at"].dropna()
            .reindex(tickets["resolved_at"].dropna().index)).all()


def test_surveys_cover_csat_nps_and_reviews(small_demo_dir):
    """CSAT mostly after tickets and mostly good; NPS 0–10; reviews 1–5."""
    surveys = read(small_demo_dir, "surveys")
    csat = surveys[surveys["kind"] == "csat"]
    assert csat["ticket_id"].notna().all() and (csat["score"] >= 4).mean() > 0.6
    nps = surveys[surveys["kind"] == "nps"]["score"]
    assert nps.min() <= 3 and nps.max() == 10
    assert set(surveys["kind"]) == {"csat", "nps", "review"}


# --- marketing and money ---------------------------------------------------------------------

def test_web_traffic_matches_online_orders_and_funnel(small_demo_dir, orders):
    """Web orders per day equal the online-store orders; sessions ≥ carts ≥ checkouts ≥
    orders; checkouts: most completed orders are real, about 60% abandoned."""
    web = read(small_demo_dir, "web_traffic_daily")
    online = orders[orders["channel"] == "online_store"].groupby("day").size()
    per_day = web.groupby("date_day")["orders"].sum()
    assert per_day.equals(online.reindex(per_day.index, fill_value=0))
    funnel = web[["sessions", "add_to_cart_sessions", "checkout_sessions", "orders"]]
    assert (funnel.diff(axis=1, periods=-1).iloc[:, :-1] >= 0).all().all()
    checkouts = read(small_demo_dir, "checkouts")
    completed = checkouts["completed_order_id"].dropna()
    assert completed.isin(orders["order_id"]).all()
    assert 0.5 < checkouts["completed_order_id"].isna().mean() < 0.75
    views = read(small_demo_dir, "product_views_daily")
    assert (views["views"] >= views["add_to_carts"]).all()


def test_email_list_social_and_ads(small_demo_dir):
    """The list moves by its own flows; campaigns and flows both send; followers grow; at
    least three ad platforms report conversions."""
    email_list = read(small_demo_dir, "email_list_daily")
    change = email_list["new_subscribers"] - email_list["unsubscribes"] \
        - email_list["spam_complaints"] - email_list["hard_bounces"]
    assert email_list["subscribers"].diff().iloc[1:].equals(change.iloc[1:].astype(float)) or \
        (email_list["subscribers"].diff().iloc[1:] == change.iloc[1:]).all()
    campaigns = read(small_demo_dir, "email_campaigns")
    assert set(campaigns["kind"]) == {"campaign", "flow"}
    assert (campaigns["attributed_orders"].sum() > 0)
    followers = read(small_demo_dir, "social_accounts_daily").sort_values("date_day")
    growth = followers.groupby("platform")["followers"].agg(["first", "last"])
    assert len(growth) >= 3 and (growth["last"] > growth["first"]).all()
    ads = read(small_demo_dir, "ad_spend_daily")
    assert {"google", "meta", "tiktok"} <= set(ads["platform"])
    assert (ads.groupby("platform")["conversion_value"].sum() > 0).all()


def test_bank_balance_runs_and_suppliers_are_paid_on_due_dates(small_demo_dir):
    """balance_after is the running sum of amounts; supplier payments fall on purchase
    orders' due dates; every expected category of money in and out is present."""
    bank = read(small_demo_dir, "bank_transactions")
    steps = bank["balance_after"].diff().iloc[1:] - bank["amount"].iloc[1:]
    assert steps.abs().max() < 0.005
    assert {"payout", "supplier", "shipping", "ads", "rent", "payroll", "software", "fees",
            "tax"} <= set(bank["category"])
    pos = read(small_demo_dir, "purchase_orders")
    due = pos.groupby("po_id")["payment_due_date"].first()
    paid = bank[bank["category"] == "supplier"]
    po_ids = paid["description"].str.removeprefix("Invoice ")
    lag = (pd.to_datetime(paid["booked_date"]).to_numpy()
           - pd.to_datetime(due.reindex(po_ids).to_numpy()).to_numpy()) / np.timedelta64(1, "D")
    assert len(paid) > 10 and ((lag >= 0) & (lag <= 5)).all()  # weekends, holidays
    payouts = bank[bank["category"] == "payout"]
    assert (payouts["amount"] > 0).mean() > 0.95


def test_competitor_prices_and_catalogue(small_demo_dir):
    """Competitors are cheaper on some SKUs and dearer on others and change prices; the
    catalogue has categories, suppliers with lead times, missing content, and
    archived and draft products."""
    prices = read(small_demo_dir, "competitor_prices")
    products = read(small_demo_dir, "products").set_index("sku")
    ratio = prices["price"] / products["price"].reindex(prices["sku"]).to_numpy()
    assert (ratio < 0.95).mean() > 0.1 and (ratio > 1.05).mean() > 0.1
    assert (prices.groupby(["competitor", "sku"])["price"].nunique() > 1).mean() > 0.3
    assert prices["competitor"].nunique() >= 2
    assert products["category"].nunique() >= 5
    assert 3 <= products["supplier"].nunique() <= 6
    assert products["lead_time_days"].nunique() >= 3
    assert (~products["has_description"]).any() and (products["image_count"] == 0).any()
    assert {"active", "archived", "draft"} == set(products["status"])


# --- as of `until` ---------------------------------------------------------------------------

def test_nothing_happens_after_until(small_demo_dir, end_of_until):
    """No timestamp after the end of `until` and no date after it, except planned ones."""
    late = []
    for name, table in TABLES.items():
        frame = read(small_demo_dir, name)
        for column in table.columns:
            if (name, column.name) in FUTURE_ALLOWED:
                continue
            if column.type == "timestamp":
                bad = (frame[column.name] >= end_of_until).sum()
            elif column.type == "date":
                bad = (pd.to_datetime(frame[column.name]) > pd.Timestamp(DEMO_UNTIL)).sum()
            else:
                continue
            if bad:
                late.append(f"{name}.{column.name}: {bad}")
    assert late == []


def test_open_work_on_the_last_day(small_demo_dir, demo_settings, end_of_until, orders):
    """On `until`'s evening there is work to do: orders past the ship-by promise, open and
    unanswered tickets, returns to refund, SKUs out of stock, purchase orders on the way,
    and calendar items due today, tomorrow, overdue and next month."""
    promise = pd.Timedelta(hours=demo_settings.service.ship_within_hours)
    waiting = orders[(orders["fulfillment_status"] == "unfulfilled")
                     & orders["cancelled_at"].isna()]
    assert (waiting["created_at"] < end_of_until - promise).sum() > 0
    tickets = read(small_demo_dir, "tickets")
    assert tickets["status"].isin(["open", "pending"]).sum() > 0
    assert tickets["first_response_at"].isna().sum() > 0
    returns = read(small_demo_dir, "returns")
    assert returns["status"].isin(["requested", "in_transit", "received"]).sum() > 0
    snaps = read(small_demo_dir, "inventory_snapshots")
    last = snaps[snaps["snapshot_date"] == DEMO_UNTIL]
    assert (last["on_hand"] - last["committed"] <= 0).sum() > 0
    pos = read(small_demo_dir, "purchase_orders")
    assert (pos.loc[pos["status"] == "ordered", "expected_at"] > end_of_until).sum() > 0
    calendar = read(small_demo_dir, "content_calendar")
    day = calendar["planned_date"]
    tomorrow = DEMO_UNTIL + dt.timedelta(days=1)
    assert (day == DEMO_UNTIL).sum() > 0 and (day == tomorrow).sum() > 0
    assert ((day < DEMO_UNTIL) & (calendar["status"] == "planned")).sum() > 0
    assert (day > DEMO_UNTIL + dt.timedelta(days=7)).sum() > 10
    assert set(calendar["status"]) == {"planned", "ready", "done", "skipped"}
    assert set(calendar["channel"]) == {"social", "email", "site", "promotion", "banner"}
    done = calendar["status"] == "done"
    assert calendar.loc[done, "done_at"].notna().all()
    assert calendar.loc[~done, "done_at"].isna().all()
