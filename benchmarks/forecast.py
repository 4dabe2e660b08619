"""Forecast accuracy: the product's demand forecast against statsforecast's models.

The protocol is the product's backtest (opslib.metrics.forecast): for a report date D,
the ORIGINS origins of its `backtest_origins` (evenly spaced, the last one HORIZON weeks
before D; those with less than 28 days of history before them left out), each forecasting
HORIZON 7-day weeks after it from data up to it; scored on SKU-weeks in stock all 7 days
(every week when there is no stock data), pooled over the origins:

    WAPE = Σ|actual − forecast| ÷ Σ actual        bias = Σ(forecast − actual) ÷ Σ actual
    RMSE = √(Σ(actual − forecast)² ÷ scored series-weeks), in units per series-week

WAPE is smallest for a forecast of each week's median, RMSE for its mean: on series of a few
units or fewer a week the two rank forecasts differently (a forecast of 0 can have the
lowest WAPE), so both are reported.

References: the 28-day baseline (7 × units of the 28 days to the origin ÷ 28), seasonal
naive (the same weeks 52 weeks earlier, or the baseline without a year of history;
statsforecast's SeasonalNaive must agree with it where it has the year) and the hindsight
level (each series' mean actual weekly units over the 8 weeks: knowledge no forecast has,
the floor of the room). Share of the room captured = (baseline − model) ÷
(baseline − hindsight), on the pooled WAPEs.

The library models see each series' weekly units (7-day weeks ending at the origin, from
the first day of the data; stock-outs and promotions are not shown to them) and run in
their own environment (statsforecast needs pandas < 3) through forecast_worker.py.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from opslib.config import Settings
from opslib.metrics import forecast as product
from opslib.store import Store, Window

HORIZON = product.HORIZON_WEEKS  # the product's protocol, which the benchmark must follow
ORIGINS = product.BACKTEST_ORIGINS  # their dates are the product's too
BASELINE_DAYS = product.BASELINE_DAYS
SEASON_DAYS = product.SEASON_LAG_DAYS
LIBRARY = ("AutoETS", "CrostonSBA", "ADIDA", "IMAPA", "TSB", "SeasonalNaive")
REFERENCES = ("baseline", "seasonal naive", "hindsight")
PRODUCT = "product"
ROOM_MIN = 0.05  # a smaller room (baseline − hindsight) ÷ baseline gets no shares
REQUIREMENTS = ("statsforecast>=2,<3", "pandas<3", "pyarrow")
WORKER = Path(__file__).with_name("forecast_worker.py")
HISTORY_DAYS = 3660  # a demo store's whole history is read: up to 10 years
SUPERSTORE_COLUMNS = ("Order Date", "Ship Date", "Product ID", "Category", "Sub-Category",
                      "Quantity")


@dataclass
class Panel:
    """Daily units per series × day, and the days each series was in stock all day.

    `product(origin, D)` is the product's forecast [series, HORIZON] from day index
    `origin`, made for report date D (None: no product forecast for this data); `backtest(D, origins)` the product's own
    backtest figures as of D, which this benchmark's must equal (None: nothing to check).
    """

    name: str
    days: pd.DatetimeIndex
    series: tuple[str, ...]
    units: np.ndarray
    in_stock: np.ndarray
    product: Callable[[int, dt.date], np.ndarray] | None = None
    backtest: Callable[[dt.date, int], dict[str, float | None]] | None = None


@dataclass
class Scored:
    """Pooled scores of one panel at one report date."""

    panel: str
    date: dt.date
    origins: int
    cells: int  # scored series-weeks
    units: float  # their actual units
    wape: dict[str, float] = field(default_factory=dict)
    bias: dict[str, float] = field(default_factory=dict)
    squared: dict[str, float] = field(default_factory=dict)  # Σ squared error
    seconds: dict[str, float] = field(default_factory=dict)
    errors: dict[str, np.ndarray] = field(default_factory=dict)  # Σ|error| per horizon
    units_by_horizon: np.ndarray | None = None


# ---- pure parts --------------------------------------------------------------------------

def wape_bias(actual: np.ndarray, forecast: np.ndarray, scored: np.ndarray) -> tuple[float,
                                                                                      float]:
    """(WAPE, bias) over the scored cells.

    >>> wape_bias(np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 5.0]), np.array([1, 1, 1]))
    (0.2, -0.06666666666666667)
    """
    scored = np.asarray(scored, dtype=bool)
    total = float(actual[scored].sum())
    error = forecast[scored] - actual[scored]
    return float(np.abs(error).sum() / total), float(error.sum() / total)


def room_share(model: float, baseline: float, hindsight: float) -> float:
    """Share of the room between the baseline and the hindsight level that a model captures.

    >>> room_share(0.50, 0.60, 0.40)
    0.5
    """
    return (baseline - model) / (baseline - hindsight)


def weeks_from(daily: np.ndarray, first: int, weeks: int) -> np.ndarray:
    """[series, weeks]: sums of the 7-day weeks starting at day index `first`."""
    block = daily[:, first:first + 7 * weeks]
    return block.reshape(daily.shape[0], weeks, 7).sum(axis=2)


def weeks_to(daily: np.ndarray, origin: int) -> np.ndarray:
    """[series, weeks]: the full 7-day weeks of the days up to `origin`, the last ending
    on it."""
    weeks = (origin + 1) // 7
    return weeks_from(daily, origin + 1 - 7 * weeks, weeks)


def origins(days: pd.DatetimeIndex, report_date: dt.date, count: int = ORIGINS) -> list[int]:
    """Day indices of the product's backtest origins for a report date, oldest first;
    origins with less than BASELINE_DAYS of history before them are left out."""
    found = [int((pd.Timestamp(day) - days[0]).days)
             for day in product.backtest_origins(report_date, count)]
    return [index for index in found if index - BASELINE_DAYS + 1 >= 0]


def references(units: np.ndarray, origin: int, actual: np.ndarray) -> dict[str, np.ndarray]:
    """The baseline, seasonal naive and hindsight forecasts [series, HORIZON]."""
    recent = units[:, origin - BASELINE_DAYS + 1:origin + 1].sum(axis=1)
    baseline = np.repeat((7 * recent / BASELINE_DAYS)[:, None], HORIZON, axis=1)
    year_ago = origin + 1 - SEASON_DAYS
    seasonal = weeks_from(units, year_ago, HORIZON) if year_ago >= 0 else baseline
    return {"baseline": baseline, "seasonal naive": seasonal,
            "hindsight": np.repeat(actual.mean(axis=1, keepdims=True), HORIZON, axis=1)}


def superstore_panels(path: Path) -> tuple[dict[str, Panel], int]:
    """Daily units per product and per sub-category from the Superstore sample, and the
    count of lines left out because their ship date is before their order date."""
    header = pd.read_csv(path, nrows=0, encoding="utf-8").columns
    missing = [c for c in SUPERSTORE_COLUMNS if c not in header]
    if missing:
        raise SystemExit(f"{path}, line 1: expected the Superstore sample's columns "
                         f"{', '.join(SUPERSTORE_COLUMNS)}; missing {', '.join(missing)}. "
                         "Pass the sample's CSV file to --superstore.")
    lines = pd.read_csv(path, usecols=list(SUPERSTORE_COLUMNS), encoding="utf-8")
    ordered = pd.to_datetime(lines["Order Date"], format="%m/%d/%Y")
    shipped = pd.to_datetime(lines["Ship Date"], format="%m/%d/%Y")
    keep = shipped >= ordered
    lines, ordered = lines[keep], ordered[keep]
    days = pd.date_range(ordered.min(), ordered.max(), freq="D")
    panels = {}
    for name, key, group in (("product", "Product ID", "Sub-Category"),
                             ("sub-category", "Sub-Category", "Category")):
        table = lines.assign(day=ordered).pivot_table(index=key, columns="day",
                                                      values="Quantity", aggfunc="sum")
        table = table.reindex(columns=days).fillna(0.0)
        units = table.to_numpy(dtype=float)
        groups = lines.groupby(key)[group].first().reindex(table.index)
        panel = Panel(f"Superstore, per {name}", days, tuple(table.index), units,
                      np.ones_like(units, dtype=bool))
        panel.product = _product_adapter(panel, groups.to_numpy(dtype=object))
        panels[name] = panel
    return panels, int((~keep).sum())


# ---- the product's forecast -------------------------------------------------------------

def _product_adapter(panel: Panel, groups: np.ndarray) -> Callable[[int, dt.date],
                                                                   np.ndarray]:
    """The product's forecast on data without stock or promotions: every day in stock."""
    categories = tuple(sorted(set(groups)))
    known = dict(days=panel.days, skus=panel.series, categories=categories,
                 category_of=np.searchsorted(np.array(categories, dtype=object), groups),
                 units=panel.units, available=np.ones_like(panel.units),
                 promotions=pd.DataFrame(columns=["promo_code", "kind", "first_day",
                                                  "last_day"]))
    # Any other per-day array of the history (stock on its way, ...) is unknown: NaN.
    unknown = {f.name: np.full_like(panel.units, np.nan)
               for f in fields(product.DemandHistory) if f.name not in known}
    history = product.DemandHistory(**known, **unknown)
    return lambda o, _: product.forecast_weeks(history, origin=panel.days[o].date(),
                                               weeks=HORIZON)


def store_panel(data: Path, until: dt.date, zone: str, name: str) -> tuple[Panel, float]:
    """A demo store's whole demand history as a panel (the product's reading of it), and
    the seconds that reading took. The product forecasts from what it reads for the report
    date (`read_window`), as in the monthly run."""
    store = Store.open(data, Settings.from_dict({"store": {"timezone": zone}}))
    t = store.table

    def read(window: Window) -> product.DemandHistory:
        return product.demand_history(
            t("orders"), t("order_lines"), t("inventory_snapshots"), t("products"),
            t("promotions") if store.has("promotions") else None, window=window)

    started = time.perf_counter()
    whole = read(Window.of(until - dt.timedelta(days=HISTORY_DAYS), until, zone=zone))
    seconds = time.perf_counter() - started
    panel = Panel(name, whole.days, whole.skus, whole.units, whole.in_stock)
    as_of = functools.lru_cache(maxsize=1)(
        lambda day: read(product.read_window(store.window(day))))

    def forecast(o: int, day: dt.date) -> np.ndarray:
        history = as_of(day)
        weekly = product.forecast_weeks(history, origin=whole.days[o].date(), weeks=HORIZON)
        # SKUs the report date's window does not hold (never sold or counted in it) are
        # never scored: forecast 0.
        rows = pd.Index(history.skus).get_indexer(whole.skus)
        return np.where(rows[:, None] >= 0, weekly[rows], 0.0)

    panel.product = forecast
    panel.backtest = lambda day, origins: product.backtest(
        as_of(day), report_date=day, origins=origins).figures()
    return panel, seconds


# The product's backtest figures and the models of this benchmark they must equal.
SAME = {"forecast_wape": PRODUCT, "baseline_wape": "baseline",
        "seasonal_naive_wape": "seasonal naive", "hindsight_wape": "hindsight"}


def check_against_product(panel: Panel, result: Scored, origins: int) -> None:
    """Stop unless the product's own backtest (its reading of the history, as of the
    report date) gives the WAPEs this benchmark computed: the same protocol, the same
    forecast."""
    figures = panel.backtest(result.date, origins)
    for figure, model in SAME.items():
        if not np.isclose(figures[figure], result.wape[model], rtol=1e-9, atol=1e-12):
            raise SystemExit(f"{panel.name} {result.date}: the product's backtest gives "
                             f"{figure} {figures[figure]:.6f}, this benchmark "
                             f"{result.wape[model]:.6f}; the comparison is void")


# ---- the library side -------------------------------------------------------------------

def environment(folder: Path) -> Path:
    """The Python of the benchmark's own environment with statsforecast, made on first use."""
    python = folder / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import statsforecast"],
                                          capture_output=True).returncode == 0:
        return python
    print(f"creating the forecasting libraries' environment in {folder} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS],
                   check=True)
    return python


def library_job(panel: Panel, starts: list[int], path: Path) -> Path:
    """Write the weekly series up to each origin: unique_id '<origin number>:<series>'."""
    parts = []
    for k, origin in enumerate(starts):
        weekly = weeks_to(panel.units, origin)
        n, w = weekly.shape
        parts.append(pd.DataFrame({
            "unique_id": np.repeat([f"{k}:{i}" for i in range(n)], w),
            "ds": np.tile(np.arange(w), n), "y": weekly.ravel()}))
    pd.concat(parts).to_parquet(path, index=False)
    return path


def library_forecasts(job: Path, n_series: int, n_origins: int) -> tuple[
        dict[str, np.ndarray], dict[str, float]]:
    """The worker's forecasts [origin, series, HORIZON] per model, and its seconds."""
    frame = pd.read_parquet(job.with_suffix(".forecasts.parquet"))
    ids = frame.unique_id.astype(str).str.split(":", expand=True).astype(int)
    out = {}
    for model in LIBRARY:
        cube = np.full((n_origins, n_series, HORIZON), np.nan)
        cube[ids[0].to_numpy(), ids[1].to_numpy(), frame.step.to_numpy() - 1] = \
            frame[model].to_numpy(dtype=float)
        out[model] = cube
    seconds = json.loads(job.with_suffix(".seconds.json").read_text(encoding="utf-8"))
    return out, seconds


# ---- scoring ----------------------------------------------------------------------------

def score(panel: Panel, date: dt.date, starts: list[int], library: dict[str, np.ndarray],
          seconds: dict[str, float]) -> Scored:
    """Pool every model's forecasts over the origins; check SeasonalNaive against the
    reference it duplicates where it has a year of history."""
    names = [*REFERENCES, *([PRODUCT] if panel.product else []), *LIBRARY]
    actual_all, scored_all, forecasts = [], [], {name: [] for name in names}
    product_seconds = 0.0
    for k, origin in enumerate(starts):
        actual = weeks_from(panel.units, origin + 1, HORIZON)
        scored = weeks_from(panel.in_stock.astype(int), origin + 1, HORIZON) == 7
        found = references(panel.units, origin, actual)
        if panel.product:
            started = time.perf_counter()
            found[PRODUCT] = panel.product(origin, date)
            product_seconds += time.perf_counter() - started
        for model in LIBRARY:
            found[model] = library[model][k]
        year = origin + 1 - SEASON_DAYS >= 0
        if year and not np.allclose(found["SeasonalNaive"], found["seasonal naive"]):
            raise SystemExit(f"{panel.name} {date}: statsforecast's SeasonalNaive and the "
                             f"seasonal naive reference differ at origin {origin}")
        # A week without a year of history before it: SeasonalNaive has nothing to repeat
        # (NaN); the baseline instead, as the reference does.
        found["SeasonalNaive"] = np.where(np.isnan(found["SeasonalNaive"]),
                                          found["baseline"], found["SeasonalNaive"])
        actual_all.append(actual)
        scored_all.append(scored)
        for name in names:
            forecasts[name].append(found[name])
    actual, scored = np.stack(actual_all), np.stack(scored_all)
    out = Scored(panel.name, date, len(starts), int(scored.sum()), float(actual[scored].sum()),
                 seconds={**seconds, **({PRODUCT: product_seconds} if panel.product else {})})
    for name in names:
        cube = np.stack(forecasts[name])
        if np.isnan(cube[scored]).any():
            raise SystemExit(f"{panel.name} {date}: {name} left scored weeks without a "
                             "forecast")
        out.wape[name], out.bias[name] = wape_bias(actual, cube, scored)
        out.squared[name] = float(((cube - actual)[scored] ** 2).sum())
        out.errors[name] = (np.abs(cube - actual) * scored).sum(axis=(0, 1))
    out.units_by_horizon = (actual * scored).sum(axis=(0, 1))
    return out


def run(cases: list[tuple[Panel, dt.date]], *, work: Path, env: Path,
        origins_count: int = ORIGINS) -> list[Scored]:
    """Every (panel, report date): library jobs in one worker process, then the scores."""
    python = environment(env)
    folder = work / "forecast"
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    for n, (panel, date) in enumerate(cases):
        starts = origins(panel.days, date, origins_count)
        jobs.append((panel, date, starts, library_job(panel, starts,
                                                      folder / f"job-{n}.parquet")))
    subprocess.run([str(python), str(WORKER), *[str(job[3]) for job in jobs]], check=True)
    found = []
    for panel, date, starts, job in jobs:
        library, seconds = library_forecasts(job, len(panel.series), len(starts))
        found.append(score(panel, date, starts, library, seconds))
        if panel.backtest:
            check_against_product(panel, found[-1], origins_count)
    return found


# ---- the report -------------------------------------------------------------------------

def _models(result: Scored) -> list[str]:
    return [m for m in (*REFERENCES, PRODUCT, *LIBRARY) if m in result.wape]


def pooled(results: list[Scored]) -> dict[str, tuple[float, float, float, float]]:
    """Per model over several report dates: (WAPE, bias, RMSE, seconds), the same as
    pooling every scored week (WAPE and bias weight each date by its actual units)."""
    units = sum(r.units for r in results)
    cells = sum(r.cells for r in results)
    out = {}
    for model in _models(results[0]):
        out[model] = (sum(r.wape[model] * r.units for r in results) / units,
                      sum(r.bias[model] * r.units for r in results) / units,
                      float(np.sqrt(sum(r.squared[model] for r in results) / cells)),
                      sum(r.seconds.get(model, 0.0) for r in results))
    return out


def report(results: list[Scored], *, read_seconds: dict[str, float],
           dropped: int | None) -> str:
    """Per panel: the pooled table; then WAPE per report date; then WAPE by horizon."""
    text = []
    panels = list(dict.fromkeys(r.panel for r in results))
    for name in panels:
        mine = [r for r in results if r.panel == name]
        table = pooled(mine)
        base, floor = table["baseline"][0], table["hindsight"][0]
        dates = ", ".join(str(r.date) for r in mine)
        best = min(LIBRARY, key=lambda m: table[m][0])
        # A room under ROOM_MIN of the baseline (a long tail of series selling a unit a
        # year) is noise: shares of it would read as hundreds of per cent.
        room = base - floor >= ROOM_MIN * base
        text += [f"**{name}**: report dates {dates}; {sum(r.origins for r in mine)} origins, "
                 f"{sum(r.cells for r in mine):,} scored series-weeks, "
                 f"{sum(r.units for r in mine) / sum(r.cells for r in mine):.1f} units per "
                 f"series-week" + (f"; reading the history {read_seconds[name]:.1f} s"
                                   if name in read_seconds else "") + ".", "",
                 "| model | WAPE | bias | share of the room | RMSE | seconds, all dates |",
                 "|---|---|---|---|---|---|"]
        for model, (wape, bias, rmse, seconds) in table.items():
            share = room_share(wape, base, floor) if room and model not in (
                "baseline", "hindsight") else None
            mark = " (best library)" if model == best else ""
            text.append(f"| {model}{mark} | {wape:.3f} | {bias:+.3f} | "
                        f"{'' if share is None else f'{share:.0%}'} | {rmse:.3f} | "
                        f"{'' if model in REFERENCES else f'{seconds:.2f}'} |")
        if not room:
            text += ["", f"The room (baseline − hindsight = {base - floor:.3f}) is under "
                     f"{ROOM_MIN:.0%} of the baseline's WAPE: no shares."]
        text += ["", "WAPE per report date:", "",
                 "| date | " + " | ".join(_models(mine[0])) + " |",
                 "|---|" + "---|" * len(_models(mine[0]))]
        for r in mine:
            text.append(f"| {r.date} | " + " | ".join(f"{r.wape[m]:.3f}"
                                                     for m in _models(r)) + " |")
        text += ["", "WAPE by horizon (weeks after the origin), pooled over the dates:", "",
                 "| model | " + " | ".join(str(h + 1) for h in range(HORIZON)) + " |",
                 "|---|" + "---|" * HORIZON]
        units = sum(r.units_by_horizon for r in mine)
        for model in _models(mine[0]):
            row = sum(r.errors[model] for r in mine) / units
            text.append(f"| {model} | " + " | ".join(f"{x:.3f}" for x in row) + " |")
        text.append("")
    if dropped is not None:
        text.append(f"Superstore: {dropped} lines left out (ship date before order date).")
    return "\n".join(text)


def brief(results: list[Scored]) -> str:
    """The long table: panel, date, model, WAPE, bias, seconds."""
    rows = ["| store | date | model | WAPE | bias | seconds |", "|---|---|---|---|---|---|"]
    for r in results:
        for model in _models(r):
            seconds = r.seconds.get(model)
            rows.append(f"| {r.panel} | {r.date} | {model} | {r.wape[model]:.3f} | "
                        f"{r.bias[model]:+.3f} | "
                        f"{'' if seconds is None else f'{seconds:.2f}'} |")
    return "\n".join(rows)
