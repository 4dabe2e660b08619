"""Demand forecast per SKU for the coming weeks, and its backtest against a naive baseline.

The model (numpy/pandas; why not a forecasting library: docs/benchmarks.md):

    forecast(SKU, day) = base rate of the SKU × seasonal index(day) × promotion lift(day)

* base rate: the SKU's units per day, exponentially weighted (half-life HALF_LIFE_DAYS) over
  the BASE_DAYS days to the origin, counting only days it was in stock (the stock rule of
  opslib.metrics.stock: a day is out of stock when its snapshot shows available ≤ 0 and
  nothing sold) and dividing promotion days by their lift. A SKU out of stock for all of
  them falls back to the whole year before.
* seasonal index: with a year of history, the store's promotion-adjusted units in the same
  week a year earlier (52 weeks, so weekdays line up) ÷ its daily average over the
  LEVEL_DAYS before the origin's date a year earlier; each category moves half-way towards
  its own seasonal ratio. Without a year of history the index is 1 (no seasonality).
* promotion lift: for each promotion of PROMO_MAX_DAYS days or fewer, store units per day
  during it ÷ those of the 28 days before it (non-promotion days). A promotion planned after
  the origin gets its kind's median past lift (else the median of all; at least 1).
  Open-ended or long promotions (a standing welcome code) are part of the normal level.

Backtest (DESIGN §4): WAPE = Σ|actual − forecast| ÷ Σ actual over SKU-weeks in stock all
week (a snapshot with available > 0 on each of the 7 days), from BACKTEST_ORIGINS origins
4 weeks apart, the last one 8 weeks before the report date, each forecasting 8 weeks of
7 days after its origin. The naive baseline forecasts every week as 7 × the SKU's units in
the 28 days to the origin ÷ 28 (stock-outs included, no season, no promotions). Only data
up to the origin is used to forecast; promotions dated after the origin count as planned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from ibis import _

from opslib.errors import OpslibError
from opslib.metrics.common import require
from opslib.metrics.sales import counted_lines
from opslib.store import Window, in_window

__all__ = ["HORIZON_WEEKS", "BASE_DAYS", "HALF_LIFE_DAYS", "LEVEL_DAYS", "BASELINE_DAYS",
           "BACKTEST_ORIGINS", "DemandHistory", "demand_history", "forecast_daily",
           "forecast_weeks", "baseline_weeks", "wape", "backtest", "demand_forecast"]

HORIZON_WEEKS = 8
BASE_DAYS = 56
HALF_LIFE_DAYS = 14
LEVEL_DAYS = 28
BASELINE_DAYS = 28
SEASON_LAG_DAYS = 364
PROMO_MAX_DAYS = 31
PROMO_PRE_DAYS = 28
CATEGORY_WEIGHT = 0.5
BACKTEST_ORIGINS = 4
BACKTEST_SPACING_WEEKS = 4
# History the forecast reads before its origin: a year back plus the base period, and the
# earliest backtest origin lies 20 weeks before the report date.
_READ_DAYS = SEASON_LAG_DAYS + LEVEL_DAYS + 7 * (HORIZON_WEEKS + BACKTEST_SPACING_WEEKS *
                                                 (BACKTEST_ORIGINS - 1)) + 7


@dataclass(frozen=True)
class DemandHistory:
    """Units sold and stock per SKU × day (report-sized arrays) and the promotion calendar.

    units[s, d] and available[s, d] (NaN: no snapshot that day) for SKU `skus[s]` on
    `days[d]`; `category_of[s]` indexes `categories`; `promotions` has promo_code, kind,
    first_day, last_day (local dates).
    """

    days: pd.DatetimeIndex
    skus: tuple[str, ...]
    categories: tuple[str, ...]
    category_of: np.ndarray
    units: np.ndarray
    available: np.ndarray
    promotions: pd.DataFrame

    def index_of(self, day: dt.date) -> int:
        """Position of a local day in `days`."""
        return int((pd.Timestamp(day) - self.days[0]).days)

    @property
    def out_of_stock(self) -> np.ndarray:
        """[sku, day]: a snapshot shows available ≤ 0 and nothing sold (stock.py's rule)."""
        known = ~np.isnan(self.available)
        return known & (np.nan_to_num(self.available) <= 0) & (self.units == 0)

    @property
    def in_stock(self) -> np.ndarray:
        """[sku, day]: a snapshot shows available > 0 at the end of the day."""
        return ~np.isnan(self.available) & (np.nan_to_num(self.available) > 0)


def demand_history(orders: ibis.Table, order_lines: ibis.Table,
                   inventory_snapshots: ibis.Table, products: ibis.Table,
                   promotions: ibis.Table | None = None, *, window: Window) -> DemandHistory:
    """Aggregate units per SKU × day and stock per SKU × day over the window (in the engine).

    The days start at the first day with a sale or a snapshot (a shorter history is not
    padded with zeros). SKUs are those sold or counted in stock in the window; `promotions=None` (a store
    without a promotions table) means no promotion lifts.
    """
    require(inventory_snapshots, "inventory_snapshots", ("snapshot_date", "sku", "on_hand",
                                                         "committed"))
    require(products, "products", ("sku", "category"))
    lines = counted_lines(orders, order_lines, window=window)
    lines = lines.filter(lines.sku.notnull())
    sold = lines.group_by(["sku", "date_day"]).aggregate(units=_.quantity.sum()).to_pandas()
    snaps = inventory_snapshots.filter(in_window(inventory_snapshots.snapshot_date, window))
    stock = snaps.group_by(["sku", "snapshot_date"]).aggregate(
        available=(_.on_hand - _.committed).sum()).to_pandas()
    seen = pd.concat([pd.to_datetime(sold.date_day), pd.to_datetime(stock.snapshot_date)])
    first = max(pd.Timestamp(window.start), seen.min()) if len(seen) else \
        pd.Timestamp(window.end)
    days = pd.date_range(first, window.end, freq="D")  # from the first day with data
    skus = tuple(sorted(set(sold.sku) | set(stock.sku)))
    units = np.zeros((len(skus), len(days)))
    available = np.full((len(skus), len(days)), np.nan)
    position = {sku: i for i, sku in enumerate(skus)}
    if len(sold):
        rows = sold.sku.map(position).to_numpy()
        cols = (pd.to_datetime(sold.date_day) - days[0]).dt.days.to_numpy()
        np.add.at(units, (rows, cols), sold.units.to_numpy(dtype=float))
    if len(stock):
        rows = stock.sku.map(position).to_numpy()
        cols = (pd.to_datetime(stock.snapshot_date) - days[0]).dt.days.to_numpy()
        available[rows, cols] = stock.available.to_numpy(dtype=float)
    category = products.select("sku", "category").to_pandas().set_index("sku").category
    labels = pd.Series(skus, dtype=object).map(category).fillna("(unknown)")
    categories = tuple(sorted(labels.unique()))
    category_of = np.searchsorted(np.array(categories, dtype=object), labels.to_numpy())
    return DemandHistory(days=days, skus=skus, categories=categories,
                         category_of=np.asarray(category_of, dtype=int), units=units,
                         available=available,
                         promotions=_promotion_days(promotions, window.zone))


def _promotion_days(promotions: ibis.Table | None, zone: str) -> pd.DataFrame:
    columns = ["promo_code", "kind", "first_day", "last_day"]
    if promotions is None:
        return pd.DataFrame(columns=columns)
    require(promotions, "promotions", ("promo_code", "kind", "starts_at", "ends_at"))
    frame = promotions.filter(promotions.ends_at.notnull()).select(
        "promo_code", "kind", "starts_at", "ends_at").order_by("starts_at", "promo_code")
    frame = frame.to_pandas()
    first = pd.to_datetime(frame.starts_at, utc=True).dt.tz_convert(zone).dt.tz_localize(None)
    last = pd.to_datetime(frame.ends_at, utc=True).dt.tz_convert(zone).dt.tz_localize(None)
    frame = frame.assign(first_day=first.dt.normalize(),
                         last_day=(last - pd.Timedelta(microseconds=1)).dt.normalize())
    frame = frame[(frame.last_day - frame.first_day).dt.days < PROMO_MAX_DAYS]
    return frame[columns].reset_index(drop=True)


def _promotion_lifts(history: DemandHistory, origin: int, n_days: int) -> np.ndarray:
    """Lift per day index 0..n_days-1 (days past the history are planned days)."""
    total = history.units.sum(axis=0)
    lift = np.ones(n_days)
    promo_days = np.zeros(n_days, dtype=bool)
    spans = []
    for row in history.promotions.itertuples():
        first = int((row.first_day - history.days[0]).days)
        last = int((row.last_day - history.days[0]).days)
        first_c, last_c = max(first, 0), min(last, n_days - 1)
        if first_c > last_c:
            continue
        promo_days[first_c:last_c + 1] = True
        spans.append((row.kind, first, first_c, last_c))
    measured: dict[int, float] = {}
    for i, (_kind, first, first_c, last_c) in enumerate(spans):
        seen = min(last_c, origin)
        if first < PROMO_PRE_DAYS or first > origin or first != first_c:
            continue
        before = np.arange(first - PROMO_PRE_DAYS, first)
        before = before[~promo_days[before]]
        if len(before) < PROMO_PRE_DAYS // 2 or total[before].mean() <= 0:
            continue
        measured[i] = max(1.0, total[first:seen + 1].mean() / total[before].mean())
    by_kind: dict[str, list[float]] = {}
    for i, value in measured.items():
        by_kind.setdefault(spans[i][0], []).append(value)
    everything = list(measured.values())
    for i, (kind, _, first_c, last_c) in enumerate(spans):
        if i in measured:
            value = measured[i]
        elif kind in by_kind:
            value = float(np.median(by_kind[kind]))
        else:
            value = float(np.median(everything)) if everything else 1.0
        lift[first_c:last_c + 1] = value
    return lift


def forecast_daily(history: DemandHistory, *, origin: dt.date, days: int) -> np.ndarray:
    """Forecast units [sku, day] for the `days` days after `origin`, from data up to it."""
    o = history.index_of(origin)
    if o < 0 or o >= len(history.days):
        raise OpslibError(f"forecast origin {origin} is outside the demand history",
                          expected=f"a day from {history.days[0].date()} to "
                                   f"{history.days[-1].date()}", found=str(origin),
                          fix="Read a longer history with demand_history.")
    lift = _promotion_lifts(history, o, o + 1 + days)
    units = history.units[:, :o + 1]
    usable = ~history.out_of_stock[:, :o + 1] & (~np.isnan(history.available[:, :o + 1])
                                                 | (units > 0))
    base = units / lift[None, :o + 1]
    rate = _weighted_rate(base, usable, o, BASE_DAYS)
    fallback = _weighted_rate(base, usable, o, SEASON_LAG_DAYS)
    rate = np.where(np.isnan(rate), fallback, rate)
    rate = np.nan_to_num(rate)
    season = _seasonal_index(history, lift, o, days)
    return rate[:, None] * season * lift[None, o + 1:o + 1 + days]


def _weighted_rate(base: np.ndarray, usable: np.ndarray, origin: int,
                   span: int) -> np.ndarray:
    first = max(0, origin - span + 1)
    age = origin - np.arange(first, origin + 1)
    weight = 0.5 ** (age / HALF_LIFE_DAYS)
    ok = usable[:, first:origin + 1]
    numerator = (base[:, first:origin + 1] * ok * weight).sum(axis=1)
    denominator = (ok * weight).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _seasonal_index(history: DemandHistory, lift: np.ndarray, origin: int,
                    days: int) -> np.ndarray:
    """[sku, day]: 1 without a year of history, else last year's shape (see module doc)."""
    n_skus = len(history.skus)
    base_first = origin - SEASON_LAG_DAYS - LEVEL_DAYS + 1
    if base_first < 0:
        return np.ones((n_skus, days))
    past = lift[:origin + 1]
    total = history.units[:, :origin + 1].sum(axis=0) / past
    members = np.zeros((len(history.categories), n_skus))
    members[history.category_of, np.arange(n_skus)] = 1
    by_category = members @ history.units[:, :origin + 1] / past[None, :]
    base = slice(base_first, origin - SEASON_LAG_DAYS + 1)
    target = np.arange(origin + 1, origin + 1 + days) - SEASON_LAG_DAYS
    store_level = total[base].mean()
    if store_level <= 0:
        return np.ones((n_skus, days))
    store_index = total[target] / store_level
    # Categories: share of the store's units, smoothed over each target week.
    weeks = [target[i:i + 7] for i in range(0, days, 7)]
    with np.errstate(invalid="ignore", divide="ignore"):
        share_base = by_category[:, base].sum(axis=1) / total[base].sum()
        ratios = np.ones((len(history.categories), days))
        for w, week in enumerate(weeks):
            share = by_category[:, week].sum(axis=1) / max(total[week].sum(), 1e-12)
            ratio = np.where(share_base > 0, share / share_base, 1.0)
            ratios[:, w * 7:w * 7 + len(week)] = ratio[:, None]
    category_index = CATEGORY_WEIGHT * np.nan_to_num(ratios, nan=1.0) + (1 - CATEGORY_WEIGHT)
    return store_index[None, :] * category_index[history.category_of]


def _weekly(daily: np.ndarray) -> np.ndarray:
    n_weeks = daily.shape[1] // 7
    return daily[:, :n_weeks * 7].reshape(daily.shape[0], n_weeks, 7).sum(axis=2)


def forecast_weeks(history: DemandHistory, *, origin: dt.date,
                   weeks: int = HORIZON_WEEKS) -> np.ndarray:
    """Forecast units [sku, week] for the `weeks` 7-day weeks after `origin`."""
    return _weekly(forecast_daily(history, origin=origin, days=7 * weeks))


def baseline_weeks(history: DemandHistory, *, origin: dt.date,
                   weeks: int = HORIZON_WEEKS) -> np.ndarray:
    """The naive baseline [sku, week]: 7 × units in the 28 days to the origin ÷ 28."""
    o = history.index_of(origin)
    recent = history.units[:, max(0, o - BASELINE_DAYS + 1):o + 1].sum(axis=1)
    return np.repeat((7 * recent / BASELINE_DAYS)[:, None], weeks, axis=1)


def wape(actual: np.ndarray, forecast: np.ndarray) -> float | None:
    """Σ|actual − forecast| ÷ Σ actual; None when nothing was sold.

    >>> wape(np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 5.0]))
    0.2
    """
    total = float(np.sum(actual))
    return None if total == 0 else float(np.sum(np.abs(actual - forecast)) / total)


def backtest(history: DemandHistory, *, report_date: dt.date,
             origins: int = BACKTEST_ORIGINS) -> pd.DataFrame:
    """Forecast vs baseline WAPE per origin, and over all origins (the last row, `all`).

    Grain: origin. Columns: origin (date, or None for the `all` row), label,
    count_sku_weeks (in stock all week), actual_units, forecast_wape, baseline_wape.
    """
    rows, actual_all, model_all, naive_all = [], [], [], []
    for k in range(origins):
        origin = report_date - dt.timedelta(weeks=HORIZON_WEEKS + BACKTEST_SPACING_WEEKS *
                                            (origins - 1 - k))
        o = history.index_of(origin)
        if o - BASELINE_DAYS + 1 < 0:
            raise OpslibError(f"the backtest origin {origin} has less than {BASELINE_DAYS} "
                              f"days of history before it", expected="history from "
                              f"{origin - dt.timedelta(days=BASELINE_DAYS - 1)}",
                              found=str(history.days[0].date()),
                              fix="Run the backtest on a store with at least 24 weeks of "
                                  "history.")
        span = slice(o + 1, o + 1 + 7 * HORIZON_WEEKS)
        actual = _weekly(history.units[:, span])
        full = _weekly(history.in_stock[:, span].astype(int)) == 7
        model = forecast_weeks(history, origin=origin)
        naive = baseline_weeks(history, origin=origin)
        actual_all.append(actual[full])
        model_all.append(model[full])
        naive_all.append(naive[full])
        rows.append({"origin": origin, "label": f"origin {origin}",
                     "count_sku_weeks": int(full.sum()), "actual_units": float(actual[full].sum()),
                     "forecast_wape": wape(actual[full], model[full]),
                     "baseline_wape": wape(actual[full], naive[full])})
    actual, model, naive = (np.concatenate(x) for x in (actual_all, model_all, naive_all))
    rows.append({"origin": None, "label": "all origins", "count_sku_weeks": int(actual.size),
                 "actual_units": float(actual.sum()), "forecast_wape": wape(actual, model),
                 "baseline_wape": wape(actual, naive)})
    return pd.DataFrame(rows).astype({"forecast_wape": "float64", "baseline_wape": "float64"})


def read_window(as_of: Window) -> Window:
    """The days demand_history must read for a forecast and backtest as of D."""
    return Window.of(as_of.end - dt.timedelta(days=_READ_DAYS), as_of.end, zone=as_of.zone)


def demand_forecast(history: DemandHistory, products: ibis.Table, *, as_of: Window,
                    weeks: int = HORIZON_WEEKS) -> pd.DataFrame:
    """The next `weeks` weeks of demand per active SKU, biggest first.

    Grain: SKU. Columns: sku, title, category, week_1 … week_<weeks> (units in the
    7-day weeks after D), forecast_units (their sum), quantity_sold_rolling_28d.
    Archived and draft SKUs are left out (nothing to plan for them).
    """
    require(products, "products", ("sku", "title", "category", "status"))
    weekly = forecast_weeks(history, origin=as_of.end, weeks=weeks)
    o = history.index_of(as_of.end)
    frame = pd.DataFrame(np.round(weekly, 1), columns=[f"week_{i + 1}" for i in range(weeks)])
    frame.insert(0, "sku", list(history.skus))
    frame["forecast_units"] = weekly.sum(axis=1).round(1)
    frame["quantity_sold_rolling_28d"] = history.units[:, max(0, o - 27):o + 1].sum(axis=1) \
        .astype("int64")
    active = products.filter(products.status == "active").select(
        "sku", "title", "category").to_pandas()
    frame = active.merge(frame, on="sku", how="left")
    numbers = [c for c in frame.columns if c.startswith("week_")] + ["forecast_units"]
    frame[numbers] = frame[numbers].fillna(0.0)
    frame["quantity_sold_rolling_28d"] = frame.quantity_sold_rolling_28d.fillna(0).astype(
        "int64")
    return frame.sort_values(["forecast_units", "sku"], ascending=[False, True]) \
        .reset_index(drop=True)
