"""Demand forecast per SKU for the coming weeks, and its backtest against reference forecasts.

The model (numpy/pandas; libraries compared in docs/benchmarks.md):

    forecast(SKU, day) = store level × store season(day) × category mix(day)
                         × SKU share of its category × promotion lift(day)

Units on promotion days are first divided by their lift (below), so every part is
promotion-adjusted. Small counts are noisy: each part is measured where counts are large.

* store level: the store's units per day over the LEVEL_DAYS to the origin.
* store season: with a year of history, the store's units a year earlier (364 days, so
  weekdays line up) in each forecast week ± SEASON_SMOOTH_DAYS ÷ its daily mean over the
  LEVEL_DAYS before the origin's date a year earlier, moved n ÷ (n + SEASON_PRIOR_UNITS)
  of the way from 1, n the units it rests on (a year-ago week of a small shop is noisy, so
  it is not copied in full). It carries last year's Nov–Dec peak. Without a year of history
  it is 1.
* category mix: the category's share of the store's units over the MIX_DAYS to the origin,
  shrunk toward its share over the whole MIX_DAYS blocks of the MIX_PRIOR_DAYS to the
  origin (empirical Bayes, `_shrunk_share`: the recent share keeps weight τ² ÷ (τ² +
  noise), noise = p(1 − p) ÷ n the multinomial noise of a MIX_DAYS share, τ² how much the
  share truly moves between those blocks); with a year of history times its seasonal ratio
  (share in the same weeks a year earlier ÷ share in the MIX_DAYS before the origin's date
  a year earlier), pooled over the years back up to CATEGORY_SEASON_YEARS weighted by the
  category's units in those weeks, moved n ÷ (n + CATEGORY_PRIOR_UNITS) of the way from 1,
  n those units. The mix is scaled so each day's total is the unshrunk one's (the
  shrinkage moves units between categories, not the store's total).
* SKU share: units ÷ its category's units on the days the SKU could sell (not out of stock:
  opslib.metrics.stock's rule, a snapshot with available ≤ 0 and nothing sold) over the
  SHARE_DAYS to the origin, weighted by age: half-life SHARE_HALF_LIFE_DAYS for smooth and
  erratic SKUs, INTERMITTENT_HALF_LIFE_DAYS for intermittent and lumpy ones (demand class:
  `demand_classes`, Syntetos–Boylan). Shares are scaled to add up to 1 in each category (a
  SKU's share is overstated on days others were out of stock and buyers took it instead).
* promotion lift: for each promotion of PROMO_MAX_DAYS days or fewer, store units per day
  during it ÷ those of the 28 days before it (non-promotion days), moved PROMO_WEIGHT of the
  way from 1 (at least 1). Runs of the same promotion in other years (same kind and length,
  starting SEASON_LAG_DAYS ± PROMO_SAME_DAYS apart) share the mean of their measured lifts,
  so the year-ago weeks and this year's are adjusted alike. A promotion without a measured
  run (planned after the origin, say) gets that, else the median lift of its kind's past
  promotion days (so a 3-day Black Friday does not outweigh a 2-week sale), else the median
  of all. Where promotions overlap the larger lift counts. Open-ended or long promotions
  (a standing welcome code) are part of the normal level.

Backtest (DESIGN §4): BACKTEST_ORIGINS origins BACKTEST_SPACING_WEEKS weeks apart, the last
one 8 weeks before the report date, each forecasting 8 weeks of 7 days from data up to the
origin only (promotions dated after it count as planned). Scored on SKU-weeks in stock all
week (a snapshot with available > 0 on each of the 7 days): WAPE = Σ|actual − forecast| ÷
Σ actual, bias = Σ(forecast − actual) ÷ Σ actual. References: the naive baseline (7 × the
SKU's units in the 28 days to the origin ÷ 28), seasonal naive (units in the same 7-day
weeks 52 weeks earlier; the baseline without a year of history) and hindsight (each SKU's
actual mean weekly units over the 8 weeks: knowledge no forecast has, the room's floor).
Share of the room captured = (baseline − forecast) ÷ (baseline − hindsight).
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

__all__ = ["HORIZON_WEEKS", "LEVEL_DAYS", "BASELINE_DAYS", "BACKTEST_ORIGINS", "REFERENCES",
           "DemandHistory", "demand_history", "demand_classes", "forecast_daily",
           "forecast_weeks", "baseline_weeks", "seasonal_naive_weeks", "wape", "room_captured",
           "Backtest", "backtest_origins", "can_backtest", "backtest", "read_window",
           "demand_forecast"]

HORIZON_WEEKS = 8
LEVEL_DAYS = 28
MIX_DAYS = 56
SHARE_DAYS = 364
SHARE_HALF_LIFE_DAYS = 91
INTERMITTENT_HALF_LIFE_DAYS = 182
SEASON_LAG_DAYS = 364
SEASON_SMOOTH_DAYS = 14
SEASON_PRIOR_UNITS = 300.0
CATEGORY_PRIOR_UNITS = 200.0
CATEGORY_SEASON_YEARS = 2  # category seasons pooled over the same weeks 1 and 2 years back
MIX_PRIOR_DAYS = 364  # the recent category mix is shrunk toward the share over this year
MIX_MIN_BLOCKS = 3  # MIX_DAYS blocks with sales needed to measure how much the mix moves
PROMO_MAX_DAYS = 31
PROMO_PRE_DAYS = 28
PROMO_WEIGHT = 0.75
PROMO_SAME_DAYS = 14  # the same promotion a year later starts 364 ± 14 days after
BASELINE_DAYS = 28
CLASS_WEEKS = 52  # demand classes from the last year's in-stock weeks
ADI_CUTOFF = 1.32  # Syntetos–Boylan: average weeks between sales
CV2_CUTOFF = 0.49  # Syntetos–Boylan: squared coefficient of variation of sale sizes
BACKTEST_ORIGINS = 13
BACKTEST_SPACING_WEEKS = 3
# History read before D: the earliest backtest origin's years back (category seasons), its
# mix period, the smoothing around the year-ago weeks and the days before a promotion that
# measure its lift (the SKU share's year is shorter).
_READ_DAYS = (SEASON_LAG_DAYS * CATEGORY_SEASON_YEARS + MIX_DAYS + SEASON_SMOOTH_DAYS
              + PROMO_PRE_DAYS + PROMO_MAX_DAYS
              + 7 * (HORIZON_WEEKS + BACKTEST_SPACING_WEEKS * (BACKTEST_ORIGINS - 1)) + 7)


@dataclass(frozen=True)
class DemandHistory:
    """Units sold and stock per SKU × day (report-sized arrays) and the promotion calendar.

    units[s, d], available[s, d] and incoming[s, d] (NaN: no snapshot that day) for SKU
    `skus[s]` on `days[d]`; `category_of[s]` indexes `categories`; `promotions` has
    promo_code, kind, first_day, last_day (local dates).
    """

    days: pd.DatetimeIndex
    skus: tuple[str, ...]
    categories: tuple[str, ...]
    category_of: np.ndarray
    units: np.ndarray
    available: np.ndarray
    incoming: np.ndarray
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
                                                         "committed", "incoming"))
    require(products, "products", ("sku", "category"))
    lines = counted_lines(orders, order_lines, window=window)
    lines = lines.filter(lines.sku.notnull())
    sold = lines.group_by(["sku", "date_day"]).aggregate(units=_.quantity.sum()).to_pandas()
    snaps = inventory_snapshots.filter(in_window(inventory_snapshots.snapshot_date, window))
    stock = snaps.group_by(["sku", "snapshot_date"]).aggregate(
        available=(_.on_hand - _.committed).sum(), incoming=_.incoming.sum()).to_pandas()
    seen = pd.concat([pd.to_datetime(sold.date_day), pd.to_datetime(stock.snapshot_date)])
    first = max(pd.Timestamp(window.start), seen.min()) if len(seen) else \
        pd.Timestamp(window.end)
    days = pd.date_range(first, window.end, freq="D")  # from the first day with data
    skus = tuple(sorted(set(sold.sku) | set(stock.sku)))
    units = np.zeros((len(skus), len(days)))
    available = np.full((len(skus), len(days)), np.nan)
    incoming = np.full((len(skus), len(days)), np.nan)
    position = {sku: i for i, sku in enumerate(skus)}
    if len(sold):
        rows = sold.sku.map(position).to_numpy()
        cols = (pd.to_datetime(sold.date_day) - days[0]).dt.days.to_numpy()
        np.add.at(units, (rows, cols), sold.units.to_numpy(dtype=float))
    if len(stock):
        rows = stock.sku.map(position).to_numpy()
        cols = (pd.to_datetime(stock.snapshot_date) - days[0]).dt.days.to_numpy()
        available[rows, cols] = stock.available.to_numpy(dtype=float)
        incoming[rows, cols] = stock.incoming.fillna(0).to_numpy(dtype=float)
    category = products.select("sku", "category").to_pandas().set_index("sku").category
    labels = pd.Series(skus, dtype=object).map(category).fillna("(unknown)")
    categories = tuple(sorted(labels.unique()))
    category_of = np.searchsorted(np.array(categories, dtype=object), labels.to_numpy())
    return DemandHistory(days=days, skus=skus, categories=categories,
                         category_of=np.asarray(category_of, dtype=int), units=units,
                         available=available, incoming=incoming,
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
    spans = []  # (kind, first, last, first_c, last_c), by first day
    for row in history.promotions.itertuples():
        first = int((row.first_day - history.days[0]).days)
        last = int((row.last_day - history.days[0]).days)
        first_c, last_c = max(first, 0), min(last, n_days - 1)
        if first_c > last_c:
            continue
        promo_days[first_c:last_c + 1] = True
        spans.append((row.kind, first, last, first_c, last_c))
    measured: dict[int, float] = {}
    for i, (_kind, first, _last, first_c, last_c) in enumerate(spans):
        seen = min(last_c, origin)
        if first < PROMO_PRE_DAYS or first > origin or first != first_c:
            continue
        before = np.arange(first - PROMO_PRE_DAYS, first)
        before = before[~promo_days[before]]
        if len(before) < PROMO_PRE_DAYS // 2 or total[before].mean() <= 0:
            continue
        raw = max(1.0, total[first:seen + 1].mean() / total[before].mean())
        measured[i] = 1 + PROMO_WEIGHT * (raw - 1)
    series = list(range(len(spans)))  # the same promotion in earlier years
    for i, (kind, first, last, *_) in enumerate(spans):
        for j in range(i):
            if (spans[j][0] == kind and spans[j][2] - spans[j][1] == last - first
                    and abs(first - spans[j][1] - SEASON_LAG_DAYS) <= PROMO_SAME_DAYS):
                series[i] = series[j]
    by_series: dict[int, list[float]] = {}
    by_kind: dict[str, list[float]] = {}  # one value per promotion day
    for i, value in measured.items():
        by_series.setdefault(series[i], []).append(value)
        by_kind.setdefault(spans[i][0], []).extend([value] * (spans[i][4] - spans[i][3] + 1))
    everything = [value for values in by_kind.values() for value in values]
    for i, (kind, _, _, first_c, last_c) in enumerate(spans):
        if series[i] in by_series:
            value = float(np.mean(by_series[series[i]]))
        elif kind in by_kind:
            value = float(np.median(by_kind[kind]))
        else:
            value = float(np.median(everything)) if everything else 1.0
        lift[first_c:last_c + 1] = np.maximum(lift[first_c:last_c + 1], value)
    return lift


def forecast_daily(history: DemandHistory, *, origin: dt.date, days: int) -> np.ndarray:
    """Forecast units [sku, day] for the `days` days after `origin`, from data up to it."""
    o = _origin_index(history, origin)
    lift = _promotion_lifts(history, o, o + 1 + days)
    units = history.units[:, :o + 1] / lift[None, :o + 1]  # promotion-adjusted
    by_category = _members(history) @ units  # [category, day]
    total = by_category.sum(axis=0)
    store = total[max(0, o - LEVEL_DAYS + 1):].mean() * _store_season(total, o, days)
    mix = _category_mix(by_category, o, days)  # [category, day]: share of the store
    usable = _usable(history, o)
    share = _sku_share(history, units, usable, by_category, o) * mix[history.category_of, 0]
    return (share[:, None] * (mix / np.maximum(mix[:, :1], 1e-12))[history.category_of]
            * (store * lift[o + 1:o + 1 + days]))


def _store_season(total: np.ndarray, o: int, days: int) -> np.ndarray:
    """[day]: the store's units a year earlier (±SEASON_SMOOTH_DAYS around each week) ÷ its
    daily mean over the LEVEL_DAYS before the origin's date a year earlier, moved by the
    weight of the units it rests on (module doc); all 1 without a year of history."""
    out = np.ones(days)
    last = o - SEASON_LAG_DAYS
    if last - LEVEL_DAYS + 1 < 0 or total[last - LEVEL_DAYS + 1:last + 1].mean() <= 0:
        return out
    base = total[last - LEVEL_DAYS + 1:last + 1].mean()
    for w in range(0, days, 7):
        lo, hi = max(0, last + 1 + w - SEASON_SMOOTH_DAYS), last + 8 + w + SEASON_SMOOTH_DAYS
        seen = total[lo:hi].sum()
        trust = seen / (seen + SEASON_PRIOR_UNITS)
        out[w:w + 7] = 1 + trust * (total[lo:hi].mean() / base - 1)
    return out


def _category_mix(by_category: np.ndarray, o: int, days: int) -> np.ndarray:
    """[category, day]: each category's share of the store's units, shrunk toward its
    year-long share, times its seasonal ratio; each day's total is that of the unshrunk
    share times the same ratios (module doc)."""
    season = _category_season(by_category, o, days)
    recent = np.nan_to_num(_share(by_category, o - MIX_DAYS + 1, o + 1))
    n = min(MIX_PRIOR_DAYS, o + 1) // MIX_DAYS
    span = by_category[:, o + 1 - n * MIX_DAYS:o + 1]
    blocks = span.reshape(len(span), n, MIX_DAYS).sum(axis=2)[:, ::-1]  # newest first
    blocks = blocks[:, blocks.sum(axis=0) > 0]  # those with sales
    shrunk = _shrunk_share(blocks) if blocks.shape[1] >= MIX_MIN_BLOCKS else recent
    mix = np.where(recent > 0, shrunk, 0.0)[:, None] * season
    total, unshrunk = mix.sum(axis=0), (recent[:, None] * season).sum(axis=0)
    return mix * np.divide(unshrunk, total, out=np.zeros(days), where=total > 0)


def _share(by_category: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """[category]: share of the store's units on days lo … hi − 1 (NaN: nothing sold)."""
    seen = by_category[:, max(0, lo):hi].sum(axis=1)
    return seen / seen.sum() if seen.sum() > 0 else np.full(len(seen), np.nan)


def _shrunk_share(blocks: np.ndarray) -> np.ndarray:
    """[category]: the share in the newest block moved toward the share over all blocks.

    `blocks[c, k]` are category c's units in the k-th MIX_DAYS block back from the origin
    (newest first). With p_k the shares, p̄ the share over all blocks and n_k the store's
    units in block k: noise_k = p̄(1 − p̄) ÷ n_k, τ² = max(0, sample variance of p_k − mean
    noise_k), and the result is w × p_0 + (1 − w) × p̄ with w = τ² ÷ (τ² + noise_0).
    Here p = .4, .2, .3 (p̄ = .3), noise = .0021, τ² = .01 − .0021, w = .79:
    .79 × .4 + .21 × .3 = .379.

    >>> np.round(_shrunk_share(np.array([[40.0, 20, 30], [60, 80, 70]])), 3).tolist()
    [0.379, 0.621]
    """
    n = blocks.sum(axis=0)
    p = blocks / n
    overall = blocks.sum(axis=1) / n.sum()
    noise = (overall * (1 - overall))[:, None] / n
    signal = np.maximum(p.var(axis=1, ddof=1) - noise.mean(axis=1), 0.0)
    spread = signal + noise[:, 0]
    weight = np.divide(signal, spread, out=np.ones_like(spread), where=spread > 0)
    return weight * p[:, 0] + (1 - weight) * overall


def _category_season(by_category: np.ndarray, o: int, days: int) -> np.ndarray:
    """[category, day]: each category's share in the same weeks a year (two years) earlier
    ÷ its share over the MIX_DAYS before the origin's date then, pooled over the years
    weighted by the category's units in those weeks, moved by their weight (module doc);
    all 1 without a year of history."""
    out = np.ones((len(by_category), days))
    lasts = [o - SEASON_LAG_DAYS * year for year in range(1, CATEGORY_SEASON_YEARS + 1)
             if o - SEASON_LAG_DAYS * year - MIX_DAYS + 1 >= 0]
    for w in range(0, days, 7):
        pooled, seen = np.zeros(len(by_category)), np.zeros(len(by_category))
        for last in lasts:
            then = _share(by_category, last - MIX_DAYS + 1, last + 1)
            lo, hi = last + 1 + w - SEASON_SMOOTH_DAYS, last + 8 + w + SEASON_SMOOTH_DAYS
            units = by_category[:, max(0, lo):hi].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.nan_to_num(np.where(then > 0, _share(by_category, lo, hi) / then,
                                               1.0), nan=1.0)
            pooled += units * ratio
            seen += units
        ratio = np.divide(pooled, seen, out=np.ones_like(seen), where=seen > 0)
        out[:, w:w + 7] = (1 + seen / (seen + CATEGORY_PRIOR_UNITS) * (ratio - 1))[:, None]
    return out


def _origin_index(history: DemandHistory, origin: dt.date) -> int:
    o = history.index_of(origin)
    if o < 0 or o >= len(history.days):
        raise OpslibError(f"forecast origin {origin} is outside the demand history",
                          expected=f"a day from {history.days[0].date()} to "
                                   f"{history.days[-1].date()}", found=str(origin),
                          fix="Read a longer history with demand_history.")
    return o


def _usable(history: DemandHistory, o: int) -> np.ndarray:
    """[sku, day to o]: days whose sales show demand (not out of stock, seen at all)."""
    units = history.units[:, :o + 1]
    return ~history.out_of_stock[:, :o + 1] & (~np.isnan(history.available[:, :o + 1])
                                                | (units > 0))


def demand_classes(history: DemandHistory, o: int) -> np.ndarray:
    """Syntetos–Boylan class of each SKU over the CLASS_WEEKS weeks in stock all week to day
    o: `smooth`, `erratic` (CV² ≥ 0.49), `intermittent` (ADI ≥ 1.32) or `lumpy` (both);
    `intermittent` when it sold nothing in them. ADI = weeks ÷ weeks with a sale; CV² =
    (standard deviation ÷ mean)² of the units in weeks with a sale."""
    first = max(0, o + 1 - 7 * CLASS_WEEKS)
    first += (o + 1 - first) % 7
    sold = _weekly(history.units[:, first:o + 1])
    full = _weekly(history.in_stock[:, first:o + 1].astype(int)) == 7
    selling = full & (sold > 0)
    count = selling.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        adi = np.where(count > 0, full.sum(axis=1) / count, np.inf)
        mean = np.where(count > 0, (sold * selling).sum(axis=1) / count, 0.0)
        var = np.where(count > 0, ((sold - mean[:, None]) ** 2 * selling).sum(axis=1) / count,
                       0.0)
        cv2 = np.where(mean > 0, var / mean ** 2, 0.0)
    sparse, erratic = adi >= ADI_CUTOFF, cv2 >= CV2_CUTOFF
    return np.select([sparse & erratic, sparse, erratic], ["lumpy", "intermittent", "erratic"],
                     "smooth")


def _members(history: DemandHistory) -> np.ndarray:
    members = np.zeros((len(history.categories), len(history.skus)))
    members[history.category_of, np.arange(len(history.skus))] = 1
    return members


def _sku_share(history: DemandHistory, units: np.ndarray, usable: np.ndarray,
               by_category: np.ndarray, o: int) -> np.ndarray:
    """Each SKU's share of its category's units on the days it could sell, weighted by age
    (module doc), scaled to add up to 1 in each category."""
    first = max(0, o - SHARE_DAYS + 1)
    frequent = np.isin(demand_classes(history, o), ["smooth", "erratic"])
    half_life = np.where(frequent, SHARE_HALF_LIFE_DAYS, INTERMITTENT_HALF_LIFE_DAYS)
    weight = 0.5 ** ((o - np.arange(first, o + 1))[None, :] / half_life[:, None])
    ok = usable[:, first:] * weight
    sold = (units[:, first:] * ok).sum(axis=1)
    exposure = (by_category[:, first:][history.category_of] * ok).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(exposure > 0, sold / exposure, 0.0)
    # Shares measured on each SKU's own in-stock days add up to more than 1 when others were
    # out of stock (their buyers took another SKU): scale them so that those of the SKUs
    # on sale in the last LEVEL_DAYS add up to 1 per category.
    on_sale = usable[:, max(0, o - LEVEL_DAYS + 1):].any(axis=1)
    total = _members(history) @ (share * on_sale)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total[history.category_of] > 0,
                        share / total[history.category_of], 0.0)


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


REFERENCES = ("forecast", "baseline", "seasonal_naive", "hindsight")


@dataclass(frozen=True)
class Backtest:
    """Weekly forecasts from rolling origins against what sold (arrays [sku, origin, week]).

    `forecasts` maps each of REFERENCES to its weekly units; `scored` marks the SKU-weeks
    in stock all week (the only ones scored).
    """

    skus: tuple[str, ...]
    origins: tuple[dt.date, ...]
    actual: np.ndarray
    scored: np.ndarray
    forecasts: dict[str, np.ndarray]

    def errors(self, name: str, where: np.ndarray | None = None) -> dict[str, float | None]:
        """WAPE and bias of one reference over the scored SKU-weeks (and `where`)."""
        keep = self.scored if where is None else self.scored & where
        actual, guess = self.actual[keep], self.forecasts[name][keep]
        total = float(actual.sum())
        return {"wape": wape(actual, guess),
                "bias": None if total == 0 else float((guess - actual).sum() / total)}

    def figures(self) -> dict[str, float | None]:
        """forecast_wape, baseline_wape, seasonal_naive_wape, hindsight_wape, forecast_bias,
        share_of_room_captured."""
        out = {f"{name}_wape": self.errors(name)["wape"] for name in REFERENCES}
        out["forecast_bias"] = self.errors("forecast")["bias"]
        out["share_of_room_captured"] = room_captured(
            out["forecast_wape"], out["baseline_wape"], out["hindsight_wape"])
        return out

    def by_origin(self) -> pd.DataFrame:
        """Grain: origin, and a last row over all origins (`origin` None). Columns: origin,
        label, count_sku_weeks, actual_units, then <reference>_wape for each reference."""
        rows = []
        for k, origin in enumerate((*self.origins, None)):
            where = np.zeros_like(self.scored)
            if origin is None:
                where[:] = True
            else:
                where[:, k] = True
            rows.append({"origin": origin,
                         "label": "all origins" if origin is None else f"origin {origin}",
                         "count_sku_weeks": int((self.scored & where).sum()),
                         "actual_units": float(self.actual[self.scored & where].sum()),
                         **{f"{name}_wape": self.errors(name, where)["wape"]
                            for name in REFERENCES}})
        return pd.DataFrame(rows).astype({f"{name}_wape": "float64" for name in REFERENCES})

    def by_horizon(self) -> pd.DataFrame:
        """Grain: weeks ahead (1 … 8). Columns: horizon_weeks, count_sku_weeks,
        <reference>_wape for each reference, forecast_bias."""
        rows = []
        for h in range(self.actual.shape[2]):
            where = np.zeros_like(self.scored)
            where[:, :, h] = True
            rows.append({"horizon_weeks": h + 1,
                         "count_sku_weeks": int((self.scored & where).sum()),
                         **{f"{name}_wape": self.errors(name, where)["wape"]
                            for name in REFERENCES},
                         "forecast_bias": self.errors("forecast", where)["bias"]})
        return pd.DataFrame(rows).astype({f"{name}_wape": "float64" for name in REFERENCES})


def room_captured(forecast: float | None, baseline: float | None,
                  hindsight: float | None) -> float | None:
    """(baseline − forecast) ÷ (baseline − hindsight); None when there is no room.

    >>> round(room_captured(0.50, 0.56, 0.48), 6)
    0.75
    """
    if None in (forecast, baseline, hindsight) or baseline - hindsight <= 0:
        return None
    return (baseline - forecast) / (baseline - hindsight)


def backtest_origins(report_date: dt.date, origins: int = BACKTEST_ORIGINS) -> list[dt.date]:
    """`origins` origins BACKTEST_SPACING_WEEKS apart, the last one 8 weeks before D.

    >>> [str(d) for d in backtest_origins(dt.date(2025, 11, 30), 3)]
    ['2025-08-24', '2025-09-14', '2025-10-05']
    """
    last = report_date - dt.timedelta(weeks=HORIZON_WEEKS)
    return [last - dt.timedelta(weeks=BACKTEST_SPACING_WEEKS * (origins - 1 - k))
            for k in range(origins)]


def seasonal_naive_weeks(history: DemandHistory, *, origin: dt.date,
                         weeks: int = HORIZON_WEEKS) -> np.ndarray:
    """Units sold in the same 7-day weeks 52 weeks earlier [sku, week]; the naive baseline
    when the history does not reach a year before the origin."""
    o = history.index_of(origin)
    first = o + 1 - SEASON_LAG_DAYS
    if first < 0:
        return baseline_weeks(history, origin=origin, weeks=weeks)
    return _weekly(history.units[:, first:first + 7 * weeks])


def can_backtest(history: DemandHistory, report_date: dt.date) -> bool:
    """Whether some backtest origin has BASELINE_DAYS of history before it."""
    return history.index_of(backtest_origins(report_date)[-1]) - BASELINE_DAYS + 1 >= 0


def backtest(history: DemandHistory, *, report_date: dt.date,
             origins: int = BACKTEST_ORIGINS) -> Backtest:
    """Forecast, baseline, seasonal naive and hindsight from each origin (module doc).

    Origins with less than BASELINE_DAYS of history before them are left out (the
    `origins` of the result say which were used); none left is an error.
    """
    used = [d for d in backtest_origins(report_date, origins)
            if history.index_of(d) - BASELINE_DAYS + 1 >= 0]
    if not used:
        first = report_date - dt.timedelta(weeks=HORIZON_WEEKS, days=BASELINE_DAYS - 1)
        raise OpslibError(f"no backtest origin before {report_date} has {BASELINE_DAYS} "
                          f"days of history before it",
                          expected=f"history from {first} at the latest",
                          found=str(history.days[0].date()),
                          fix="Run the backtest on a store with at least 12 weeks of history.")
    actual, scored, guesses = [], [], {name: [] for name in REFERENCES}
    for origin in used:
        o = history.index_of(origin)
        span = slice(o + 1, o + 1 + 7 * HORIZON_WEEKS)
        sold = _weekly(history.units[:, span])
        full = _weekly(history.in_stock[:, span].astype(int)) == 7
        level = sold.mean(axis=1, keepdims=True)
        actual.append(sold)
        scored.append(full)
        guesses["forecast"].append(forecast_weeks(history, origin=origin))
        guesses["baseline"].append(baseline_weeks(history, origin=origin))
        guesses["seasonal_naive"].append(seasonal_naive_weeks(history, origin=origin))
        guesses["hindsight"].append(np.repeat(level, HORIZON_WEEKS, axis=1))
    return Backtest(skus=history.skus, origins=tuple(used), actual=np.stack(actual, axis=1),
                    scored=np.stack(scored, axis=1),
                    forecasts={k: np.stack(v, axis=1) for k, v in guesses.items()})


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
