"""The shop front: checkouts, web traffic, product page views, paid ads.

Web analytics are built around the real orders: each day × source row counts exactly the
online-store orders that came from that source, checkout sessions add the day's abandoned
checkouts, and sessions come from the planned demand, so conversion moves with real sales.
Ad platforms report conversions from the paid orders they drove, a little over-counted, as
platforms do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from opslib.demo.catalog import Catalog
from opslib.demo.customers import Customers
from opslib.demo.ledger import Ledger
from opslib.demo.orders import HOUR_WEIGHTS, ORDER_HOURS, OrderBatch
from opslib.demo.plan import TRAFFIC, World, ads_start, labels
from opslib.demo.service import Counters
from opslib.demo.stock import Stock

__all__ = ["checkouts", "web_traffic", "product_views", "AdCampaign", "AD_CAMPAIGNS",
           "ad_spend"]

ABANDONED_PER_ORDER = 1.5  # abandoned checkouts per completed one: ~60% cart abandonment
ONLINE_SHARE = 0.88  # share of orders placed in the online store (see orders.CHANNEL_SHARE)
# Sources whose visitors abandon more (social, TikTok) or less (email) than average.
ABANDON_FACTOR = np.array([1.6 if t.medium == "social" or t.source == "tiktok" else
                           0.8 if t.medium == "email" else 1.0 for t in TRAFFIC])


def checkouts(batch: OrderBatch, world: World, customers: Customers, ledger: Ledger,
              counters: Counters, rng: np.random.Generator, *,
              known_customers: int) -> pd.DataFrame:
    """The month's started checkouts: one per online-store order (completed) plus the
    abandoned ones; abandoned checkouts come from customers known before the month, from
    visitors who left an email, or from anonymous visitors."""
    cal = world.calendar
    online = np.flatnonzero(batch.channel == 0)
    started = batch.created[online] - (rng.uniform(1, 20, len(online)) * 60e6).astype(
        "timedelta64[us]")
    days = np.arange(batch.day.min(), batch.day.max() + 1) if len(batch) else np.zeros(0, int)
    per_day = np.bincount(batch.day[online] - days[0], minlength=len(days)) if len(days) \
        else np.zeros(0, int)
    count = rng.poisson(per_day * ABANDONED_PER_ORDER)
    day = np.repeat(days, count)
    n = len(day)
    mix = world.traffic_mix[day] * ABANDON_FACTOR
    mix = np.cumsum(mix / mix.sum(axis=1, keepdims=True), axis=1)
    traffic = (mix < rng.random((n, 1))).sum(axis=1)
    hour = rng.choice(ORDER_HOURS, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    when = cal.at(day, hour * 3600 + rng.uniform(0, 3600, n))
    totals = batch.total[online] if len(online) else np.array([5000])
    value = np.round(rng.choice(totals, n) * rng.lognormal(0, 0.25, n)).astype(np.int64)
    customer = np.where(rng.random(n) < 0.35, rng.integers(0, max(known_customers, 1), n), -1)
    customer = np.where(customer < known_customers, customer, -1)
    visitor = (customer < 0) & (rng.random(n) < 0.5)
    ledger.add("abandoned", day, 1, traffic)
    ledger.add("abandoned_with_email", day[(customer >= 0) | visitor])

    ids = batch.order_ids
    frame = pd.DataFrame({
        "customer_id": np.concatenate([customers.ids(batch.customer[online]),
                                       customers.ids(customer)]),
        "email": np.concatenate([
            np.where(batch.customer[online] >= 0, customers.emails(batch.customer[online]),
                     labels("guest", batch.number[online], 7) + "@example.net"),
            np.where(customer >= 0, customers.emails(customer),
                     np.where(visitor, labels("visitor", counters.checkout + np.arange(n), 8)
                              + "@example.net",
                              None))]),
        "local": np.concatenate([started, when]),
        "value": np.concatenate([batch.total[online], value]) / 100,
        "completed_order_id": np.concatenate([ids[online], np.full(n, None, dtype=object)]),
    })
    frame = frame.sort_values("local", kind="stable", ignore_index=True)
    frame.insert(0, "checkout_id", labels("K", counters.take("checkout", len(frame)), 8))
    frame["created_at"] = cal.to_utc(frame.pop("local").to_numpy("datetime64[us]"))
    return frame


def web_traffic(world: World, ledger: Ledger, rng: np.random.Generator) -> pd.DataFrame:
    """web_traffic_daily: a full calendar of day × source/medium with the shop's funnel,
    sessions ≥ add-to-cart sessions ≥ checkout sessions ≥ orders."""
    n_days = world.calendar.n_days
    orders = ledger.online_orders[:n_days]
    checkout = orders + ledger.abandoned[:n_days]
    cart = checkout + rng.poisson(0.9 * checkout + 0.3)
    atc_rate = np.array([t.add_to_cart_rate for t in TRAFFIC])
    expected_orders = world.demand[:, None] * ONLINE_SHARE * world.traffic_mix
    expected_sessions = expected_orders * (1 + ABANDONED_PER_ORDER) * 1.9 / atc_rate
    sessions = np.maximum(cart, np.round(expected_sessions * rng.lognormal(0, 0.1,
                                                                           orders.shape)))
    bounce = np.array([t.bounce_rate for t in TRAFFIC])
    bounces = np.minimum(np.round(sessions * bounce * rng.uniform(0.9, 1.1, orders.shape)),
                         sessions - cart)
    day_i, row_i = np.nonzero(np.arange(n_days)[:, None] >= np.array(
        [ads_start(n_days, t.platform or "") for t in TRAFFIC])[None, :])
    s = sessions[day_i, row_i]
    return pd.DataFrame({
        "date_day": world.calendar.days[day_i],
        "source": np.array([t.source for t in TRAFFIC], dtype=object)[row_i],
        "medium": np.array([t.medium for t in TRAFFIC], dtype=object)[row_i],
        "sessions": s.astype(np.int64),
        "users": np.round(s * rng.uniform(0.78, 0.86, len(s))).astype(np.int64),
        "pageviews": np.round(s * rng.uniform(3.2, 4.8, len(s))).astype(np.int64),
        "bounces": bounces[day_i, row_i].astype(np.int64),
        "add_to_cart_sessions": cart[day_i, row_i],
        "checkout_sessions": checkout[day_i, row_i],
        "orders": orders[day_i, row_i],
    })


def product_views(world: World, catalog: Catalog, stock: Stock,
                  rng: np.random.Generator) -> pd.DataFrame:
    """product_views_daily: every listed SKU every day. Views follow demand (they go on
    while a SKU is out of stock, when nobody can add it to a cart); poor pages (no
    description, no image) need more views per sale."""
    n_days = world.calendar.n_days
    sold = stock.sold[:, :n_days]
    available = stock.on_hand_end - stock.committed_end
    opened_with_stock = np.concatenate([available[:, :1] > 0, available[:, :-1] > 0], axis=1)
    in_stock = opened_with_stock | (sold > 0) | (available > 0)
    carts = np.where(in_stock, sold + rng.poisson(1.3 * sold + 0.6 * stock.expected), 0)
    views = rng.poisson(stock.expected / (0.035 * catalog.page_quality[:, None]) + 1)
    views = np.maximum(views, carts)
    sku_i, day_i = np.nonzero(catalog.listed)
    return pd.DataFrame({
        "date_day": world.calendar.days[day_i],
        "sku": catalog.products["sku"].to_numpy(object)[sku_i],
        "views": views[sku_i, day_i],
        "add_to_carts": carts[sku_i, day_i],
    })


@dataclass(frozen=True)
class AdCampaign:
    """An ad campaign: its platform, share of the platform's paid orders, target ROAS,
    cost per click, click-through rate, and the months it runs (all year if empty)."""

    platform: str
    name: str
    weight: float
    roas: float
    cpc: float
    ctr: float
    months: tuple[int, ...] = ()


AD_CAMPAIGNS = (
    AdCampaign("google", "Search - Brand", 0.25, 8.0, 0.35, 0.080),
    AdCampaign("google", "Shopping - Bestsellers", 0.45, 4.0, 0.55, 0.012),
    AdCampaign("google", "Performance Max - Gifts", 0.30, 3.2, 0.60, 0.008, (10, 11, 12)),
    AdCampaign("meta", "Prospecting - Broad", 0.60, 2.2, 0.45, 0.011),
    AdCampaign("meta", "Retargeting - 30 days", 0.40, 5.5, 0.70, 0.015),
    AdCampaign("tiktok", "Spark Ads - Creators", 1.00, 1.6, 0.30, 0.007),
)


def ad_spend(world: World, ledger: Ledger, rng: np.random.Generator) -> pd.DataFrame:
    """ad_spend_daily: one row per running campaign per day. Spend follows the planned
    paid demand at the campaign's target ROAS; conversions follow the real paid orders."""
    n_days = world.calendar.n_days
    months = pd.DatetimeIndex(world.calendar.days).month.to_numpy()
    frames = []
    for platform in ("google", "meta", "tiktok"):
        rows = [i for i, t in enumerate(TRAFFIC) if t.platform == platform]
        orders = ledger.online_orders[:n_days, rows].sum(axis=1)
        revenue = ledger.online_revenue[:n_days, rows].sum(axis=1) / 100
        planned = world.demand * ONLINE_SHARE * world.traffic_mix[:, rows].sum(axis=1)
        aov = revenue.sum() / max(orders.sum(), 1)
        campaigns = [c for c in AD_CAMPAIGNS if c.platform == platform]
        running = np.array([(np.isin(months, c.months) if c.months else np.ones(n_days, bool))
                            & (np.arange(n_days) >= ads_start(n_days, platform))
                            for c in campaigns])
        weight = running * np.array([c.weight for c in campaigns])[:, None]
        weight = weight / np.maximum(weight.sum(axis=0), 1e-12)
        for c, share, live in zip(campaigns, weight, running):
            day = np.flatnonzero(live)
            k = len(day)
            spend = np.round(planned[day] * share[day] * aov / c.roas
                             * rng.lognormal(0, 0.15, k), 2)
            conversions = np.round(orders[day] * share[day] * rng.uniform(1.0, 1.35, k), 2)
            value = np.round(conversions * np.where(orders[day] > 0, revenue[day]
                                                    / np.maximum(orders[day], 1), aov), 2)
            clicks = np.round(spend / (c.cpc * rng.lognormal(0, 0.1, k))).astype(np.int64)
            frames.append(pd.DataFrame({
                "date_day": world.calendar.days[day], "platform": platform,
                "campaign": c.name, "spend": spend,
                "impressions": np.round(clicks / (c.ctr * rng.lognormal(0, 0.1, k))).astype(
                    np.int64),
                "clicks": clicks, "conversions": conversions, "conversion_value": value,
            }))
    return pd.concat(frames, ignore_index=True)
