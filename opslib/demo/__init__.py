"""A realistic demo store: every canonical table, generated from a seed.

`generate` simulates a home-and-lifestyle web shop day by day and writes all tables of the
data contract into `data_dir/tables/`. The same seed gives the same tables. The history ends
on `until` (default: yesterday in the store's time zone) and is cut there: nothing happens
after the end of that day except what is planned (content calendar dates, expected purchase
order arrivals, promised delivery dates, payment due dates, the end of a promotion still
running), and statuses are those of that evening, with real open work (unshipped orders,
unanswered tickets, returns to refund, SKUs out of stock).

Sizes (see `SIZES`): small ≈ one year and ~4,500 orders (tests), medium ≈ three years and
~50,000 orders (the default), large ≈ three years and over a million orders (benchmarks).
Every size is generated month by month and written month by month, so memory stays bounded:
only the current and the previous month's rows are held, plus per-day totals and per-SKU ×
day stock arrays.

Modules, by domain: `plan` (size, calendar, demand, promotions), `catalog` (products,
suppliers, competitor prices), `customers`, `orders`, `stock` (inventory and purchase
orders), `service` (shipments, returns, tickets, surveys), `marketing` (checkouts, web
traffic, product views, ads), `content` (email, social, content calendar), `finance`
(bank), `writer` (staging and month parts).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from opslib.config import Settings
from opslib.demo.catalog import build_catalog, competitor_prices
from opslib.demo.content import content_calendar, email, social
from opslib.demo.customers import Customers
from opslib.demo.finance import bank_transactions
from opslib.demo.ledger import Ledger
from opslib.demo.marketing import ad_spend, checkouts, product_views, web_traffic
from opslib.demo.orders import book_orders, order_frames, simulate_month
from opslib.demo.plan import SIZES, SizePlan, World, build_world, rng_for
from opslib.demo.service import Counters, aftercare
from opslib.demo.stock import Stock
from opslib.demo.writer import StagedStore
from opslib.errors import BadParameter

__all__ = ["generate", "SIZES", "SizePlan", "history_start"]


def history_start(until: dt.date, years: int) -> dt.date:
    """The first day of `years` years of history ending on `until`.

    >>> history_start(dt.date(2025, 11, 30), 1)
    datetime.date(2024, 12, 1)
    >>> history_start(dt.date(2024, 2, 29), 2)
    datetime.date(2022, 3, 1)
    """
    year = until.year - years
    day = min(until.day, 28) if until.month == 2 else until.day
    return dt.date(year, until.month, day) + dt.timedelta(days=1)


def generate(data_dir: Path, *, size: str = "medium", until: dt.date | None = None,
             years: int | None = None, seed: int = 7, settings: Settings) -> dict[str, int]:
    """Write a demo store into `data_dir/tables/` (replacing it); return rows per table.

    `until` is the last day of history (default: yesterday in the store's time zone);
    `years` changes the length of history at the size's daily volume.
    """
    if size not in SIZES:
        raise BadParameter(f"demo size '{size}' is unknown", expected=f"one of {list(SIZES)}",
                           found=repr(size), fix="Choose --size small, medium or large.")
    if years is not None and years < 1:
        raise BadParameter("demo years must be at least 1", expected="a whole number ≥ 1",
                           found=years, fix="Pass --years 1 or more.")
    plan = SIZES[size]
    until = until or settings.yesterday()
    world = build_world(plan, start=history_start(until, years or plan.years), until=until,
                        seed=seed, zone=settings.store.timezone,
                        currency=settings.store.currency,
                        ship_within_hours=settings.service.ship_within_hours,
                        first_response_hours=settings.service.first_response_hours)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    with StagedStore(Path(data_dir)) as store:
        catalog = build_catalog(world)
        stock = Stock(world, catalog, rng_for(seed, "stock"))
        customers = Customers(world)
        ledger = Ledger.for_world(world)
        _simulate(world, catalog, stock, customers, ledger, store)
        _write_history(world, catalog, stock, ledger, store)
        return store.commit()


def _month_starts(world: World) -> np.ndarray:
    """History day indexes where each local calendar month starts (plus the end)."""
    days = world.calendar.days
    firsts = np.flatnonzero(days.astype("datetime64[M]").astype("datetime64[D]") == days)
    return np.unique(np.r_[0, firsts, len(days)])


def _simulate(world: World, catalog, stock: Stock, customers: Customers, ledger: Ledger,
              store: StagedStore) -> None:
    """Generate and write the month-by-month tables, one local month at a time."""
    counters = Counters()
    number = 1
    bounds = _month_starts(world)
    for month, (first, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        rng = rng_for(world.seed, "month", month)
        known = customers.n
        batch = simulate_month(world, catalog, customers, stock, first_day=int(first),
                               stop_day=int(stop), first_number=number, rng=rng)
        number += len(batch)
        care = aftercare(batch, world, catalog, customers, ledger, counters, rng)
        orders, lines = order_frames(batch, world, catalog, customers, care.refunded)
        book_orders(batch, world, customers, ledger)
        store.add("customers", customers.frame(known, customers.n))
        store.add("orders", orders)
        store.add("order_lines", lines)
        store.add("shipments", care.shipments)
        store.add("returns", care.returns)
        store.add("tickets", care.tickets)
        store.add("surveys", care.surveys)
        store.add("checkouts", checkouts(batch, world, customers, ledger, counters, rng,
                                         known_customers=known))
        store.flush(before=world.calendar.days[first].astype("datetime64[M]"))


def _write_history(world: World, catalog, stock: Stock, ledger: Ledger,
                   store: StagedStore) -> None:
    """Write the tables built over the whole history from the per-day totals."""
    seed = world.seed
    store.write("products", catalog.products)
    store.write("promotions", _promotions(world))
    store.write("inventory_snapshots", stock.snapshots())
    purchase_orders = stock.purchase_orders(rng_for(seed, "purchase_orders"))
    store.write("purchase_orders", purchase_orders)
    store.write("web_traffic_daily", web_traffic(world, ledger, rng_for(seed, "traffic")))
    store.write("product_views_daily", product_views(world, catalog, stock,
                                                     rng_for(seed, "views")))
    ads = ad_spend(world, ledger, rng_for(seed, "ads"))
    store.write("ad_spend_daily", ads)
    campaigns, email_list = email(world, ledger, rng_for(seed, "email"))
    store.write("email_campaigns", campaigns)
    store.write("email_list_daily", email_list)
    posts, followers = social(world, rng_for(seed, "social"))
    store.write("content_calendar", content_calendar(world, posts, campaigns,
                                                     rng_for(seed, "calendar")))
    posts["published_at"] = world.calendar.to_utc(posts.pop("local").to_numpy("datetime64[us]"))
    store.write("social_posts", posts)
    store.write("social_accounts_daily", followers)
    store.write("bank_transactions", bank_transactions(world, ledger, purchase_orders, ads))
    store.write("competitor_prices", competitor_prices(world, catalog))


def _promotions(world: World) -> pd.DataFrame:
    """promotions: every promotion that started by `until` (a running one keeps its end)."""
    cal = world.calendar
    promos = world.promotions
    starts = np.array([p.first for p in promos], dtype="datetime64[D]").astype("datetime64[us]")
    ends = np.array([p.last if p.last else np.datetime64("NaT") for p in promos],
                    dtype="datetime64[D]").astype("datetime64[us]")
    return pd.DataFrame({
        "promo_code": [p.code for p in promos], "name": [p.name for p in promos],
        "starts_at": cal.to_utc(starts),
        "ends_at": cal.to_utc(ends + np.timedelta64(86_399_999_999, "us")),
        "kind": [p.kind for p in promos], "value": [float(p.value) for p in promos],
    })
