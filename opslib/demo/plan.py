"""The demo store's world: size, calendar, locale, demand curve, promotions and send days.

Everything here is planned for the whole history before a single order exists, so the other
modules can generate month by month. Times are handled as *local wall time* (naive
`datetime64[us]` in the store's time zone) and converted to UTC only when a table is written.

>>> SIZES["small"].years, SIZES["medium"].skus
(1, 150)
>>> black_friday(2025)
datetime.date(2025, 11, 28)
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = ["SizePlan", "SIZES", "Carrier", "Locale", "locale_for", "Calendar", "Promotion",
           "TrafficSource", "TRAFFIC", "World", "build_world", "rng_for", "black_friday",
           "promotions_of_year", "ads_start", "labels", "HOUR"]

HOUR = np.timedelta64(3_600_000_000, "us")
DAY = 24 * HOUR


@dataclass(frozen=True)
class SizePlan:
    """How big a demo store is: default years of history, daily volume, catalogue size."""

    years: int
    daily_orders: float  # average orders per day over the last year of history
    skus: int
    growth: float = 0.25  # yearly growth of demand (the trend)


SIZES: dict[str, SizePlan] = {
    "small": SizePlan(years=1, daily_orders=12.0, skus=60),
    "medium": SizePlan(years=3, daily_orders=56.0, skus=150),
    "large": SizePlan(years=3, daily_orders=1200.0, skus=400),
}


def rng_for(seed: int, *keys: str | int) -> np.random.Generator:
    """An independent, reproducible random stream for (seed, domain, month, ...).

    Keys are hashed with CRC-32 (stable across runs, unlike `hash`).

    >>> float(rng_for(7, "orders", 3).random()) == float(rng_for(7, "orders", 3).random())
    True
    """
    words = [seed] + [zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys]
    return np.random.default_rng(words)


@dataclass(frozen=True)
class Carrier:
    """A carrier: its share of parcels, promised business days, lateness and cost."""

    name: str
    share: float
    standard_days: int
    express_days: int
    late_rate: float  # share of parcels delivered after the promise
    cost_standard: float
    cost_express: float
    tracking_prefix: str


@dataclass(frozen=True)
class Locale:
    """Where the store sells: home country, cities, export countries, carriers, tax."""

    country: str
    cities: tuple[str, ...]
    abroad: tuple[str, ...]
    carriers: tuple[Carrier, ...]
    tax_rate: float  # charged on top of prices for home deliveries; exports are zero-rated
    phone_prefix: str
    vat_name: str


GB = Locale(
    country="GB",
    cities=("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Edinburgh",
            "Liverpool", "Brighton", "Cardiff", "Norwich", "York", "Bath", "Belfast"),
    abroad=("IE", "FR", "DE", "NL", "US"),
    carriers=(
        Carrier("Royal Mail", 0.45, 2, 1, 0.08, 3.10, 4.60, "RM"),
        Carrier("Evri", 0.35, 3, 2, 0.17, 2.55, 3.90, "H"),
        Carrier("DPD", 0.20, 1, 1, 0.03, 5.20, 6.40, "15"),
    ),
    tax_rate=0.20, phone_prefix="+44 7700 900", vat_name="VAT")
US = Locale(
    country="US",
    cities=("New York", "Brooklyn", "Boston", "Philadelphia", "Chicago", "Austin", "Denver",
            "Seattle", "Portland", "Atlanta", "Miami", "San Diego", "Los Angeles", "Nashville"),
    abroad=("CA", "GB", "MX", "AU"),
    carriers=(
        Carrier("USPS", 0.50, 3, 2, 0.10, 4.80, 9.50, "94"),
        Carrier("UPS", 0.30, 3, 1, 0.04, 7.40, 14.20, "1Z"),
        Carrier("FedEx", 0.20, 2, 1, 0.06, 8.10, 15.60, "77"),
    ),
    tax_rate=0.07, phone_prefix="+1 555 01", vat_name="sales tax")


def locale_for(zone: str) -> Locale:
    """The locale of a time zone: American zones sell in the US, every other in the UK.

    >>> locale_for("America/New_York").country, locale_for("Europe/London").country
    ('US', 'GB')
    """
    return US if zone.startswith("America/") else GB


@dataclass(frozen=True)
class Calendar:
    """The history's days (local dates) with helpers for local wall-clock times."""

    start: dt.date
    until: dt.date
    zone: str

    @property
    def n_days(self) -> int:
        return (self.until - self.start).days + 1

    @cached_property
    def days(self) -> np.ndarray:
        """Every local date of the history, `datetime64[D]`."""
        return np.arange(np.datetime64(self.start), np.datetime64(self.until) + 1)

    @property
    def end(self) -> np.datetime64:
        """The end of the `until` day (local midnight after it): nothing happens from here."""
        return (np.datetime64(self.until) + 1).astype("datetime64[us]")

    @cached_property
    def holidays(self) -> np.ndarray:
        """Days nobody works: 25–26 December and 1 January of every year in range (+1)."""
        years = range(self.start.year, self.until.year + 2)
        return np.array([f"{y}-12-25" for y in years] + [f"{y}-12-26" for y in years]
                        + [f"{y}-01-01" for y in years], dtype="datetime64[D]")

    def at(self, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
        """Local wall time of `seconds` after local midnight of history day index `day`."""
        base = np.datetime64(self.start).astype("datetime64[us]")
        return base + np.asarray(day, dtype=np.int64) * DAY + \
            np.round(np.asarray(seconds, dtype=float) * 1e6).astype(np.int64).astype(
                "timedelta64[us]")

    def day_index(self, local: np.ndarray) -> np.ndarray:
        """History day index of local wall times (may lie outside 0..n_days-1)."""
        return (local.astype("datetime64[D]") - np.datetime64(self.start)).astype(np.int64)

    def workday(self, local: np.ndarray, offset: np.ndarray | int, *,
                weekmask: str = "1111100") -> np.ndarray:
        """The date `offset` working days after the day of `local` (rolled forward first)."""
        return np.busday_offset(local.astype("datetime64[D]"), offset, roll="forward",
                                weekmask=weekmask, holidays=self.holidays)

    def next_open(self, local: np.ndarray, rng: np.random.Generator, *, opens: float,
                  closes: float, weekmask: str = "1111110") -> np.ndarray:
        """Move times outside working hours to the next opening, plus up to two hours.

        Staff answer, ship and refund in working hours; something that would happen at
        night or on a day off happens when they are next in.
        """
        day = local.astype("datetime64[D]")
        hour = (local - day.astype("datetime64[us]")) / HOUR
        open_day = np.is_busday(day, weekmask=weekmask, holidays=self.holidays)
        inside = open_day & (hour >= opens) & (hour < closes)
        later = open_day & (hour < opens)
        target = np.where(later, day, np.busday_offset(day, 1, roll="forward",
                                                       weekmask=weekmask,
                                                       holidays=self.holidays))
        moved = target.astype("datetime64[us]") + \
            ((opens + rng.uniform(0, 2, len(local))) * 3600e6).astype("timedelta64[us]")
        return np.where(inside, local, moved)

    def to_utc(self, local: np.ndarray) -> pd.Series:
        """Local wall times as a `datetime64[us, UTC]` series (NaT stays NaT)."""
        index = pd.DatetimeIndex(np.asarray(local, dtype="datetime64[us]"))
        utc = index.tz_localize(self.zone, ambiguous=np.zeros(len(index), dtype=bool),
                                nonexistent="shift_forward").tz_convert("UTC")
        return pd.Series(utc.astype("datetime64[us, UTC]"))


def labels(prefix: str, numbers: np.ndarray, width: int, *,
            missing: np.ndarray | None = None) -> np.ndarray:
    """Zero-padded ids such as C000042 (None where `missing`).

    >>> list(labels("C", np.array([1, 42]), 6))
    ['C000001', 'C000042']
    """
    text = (prefix + pd.Series(np.asarray(numbers)).astype(str).str.zfill(width)).to_numpy(
        object)
    if missing is not None:
        text[missing] = None
    return text


def black_friday(year: int) -> dt.date:
    """The Friday after the fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)
    return thursday + dt.timedelta(days=1)


@dataclass(frozen=True)
class Promotion:
    """A promotion window (local days, inclusive), its discount and its effect on demand."""

    code: str
    name: str
    first: dt.date
    last: dt.date | None  # None: open-ended
    kind: str
    value: float
    lift: float  # demand multiplier inside the window
    uptake: float  # share of orders in the window that use the code


def promotions_of_year(year: int) -> list[Promotion]:
    """The store's yearly promotion calendar (dated promotions only)."""
    bf = black_friday(year)
    day = dt.date
    sep = day(year, 9, 1) + dt.timedelta(days=(4 - day(year, 9, 1).weekday()) % 7 + 7)
    return [
        Promotion(f"JAN{year}", "January sale", day(year, 1, 2), day(year, 1, 14), "percent",
                  20, 1.35, 0.45),
        Promotion(f"LOVE{year}", "Valentine's gifts", day(year, 2, 7), day(year, 2, 14),
                  "percent", 15, 1.3, 0.35),
        Promotion(f"BUNDLE{year}", "Spring bundle: 15% off two or more", day(year, 4, 10),
                  day(year, 4, 20), "bundle", 15, 1.25, 0.30),
        Promotion(f"SUMMER{year}", "Summer sale", day(year, 7, 1), day(year, 7, 14), "percent",
                  25, 1.45, 0.50),
        Promotion(f"SHIPFREE{year}", "Free shipping weekend", sep, sep + dt.timedelta(days=2),
                  "free_shipping", 0, 1.3, 0.55),
        Promotion(f"TENOFF{year}", "10 off orders over 60", day(year, 10, 10),
                  day(year, 10, 17), "fixed_amount", 10, 1.2, 0.30),
        Promotion(f"BF{year}", "Black Friday", bf, bf + dt.timedelta(days=2), "percent", 25,
                  2.6, 0.65),
        Promotion(f"CYBER{year}", "Cyber Monday", bf + dt.timedelta(days=3),
                  bf + dt.timedelta(days=3), "percent", 25, 2.2, 0.60),
        Promotion(f"XMASSHIP{year}", "Christmas free shipping", day(year, 12, 1),
                  day(year, 12, 18), "free_shipping", 0, 1.1, 0.40),
    ]


WELCOME = Promotion("WELCOME10", "10% off the first order (newsletter sign-up)",
                    dt.date(2000, 1, 1), None, "percent", 10, 1.0, 0.0)

@dataclass(frozen=True)
class TrafficSource:
    """A web traffic source × medium: its share of online orders and how its visitors act."""

    source: str
    medium: str
    platform: str | None  # the ad platform paying for it, if any
    share: float  # share of online-store orders on an ordinary day
    add_to_cart_rate: float  # sessions with an add to cart ÷ sessions
    bounce_rate: float


TRAFFIC: tuple[TrafficSource, ...] = (
    TrafficSource("google", "organic", None, 0.26, 0.085, 0.42),
    TrafficSource("google", "cpc", "google", 0.16, 0.10, 0.38),
    TrafficSource("direct", "(none)", None, 0.17, 0.11, 0.35),
    TrafficSource("instagram", "social", None, 0.08, 0.05, 0.55),
    TrafficSource("facebook", "social", None, 0.05, 0.05, 0.58),
    TrafficSource("facebook", "cpc", "meta", 0.07, 0.06, 0.52),
    TrafficSource("instagram", "cpc", "meta", 0.05, 0.06, 0.50),
    TrafficSource("tiktok", "cpc", "tiktok", 0.04, 0.035, 0.62),
    TrafficSource("email", "email", None, 0.08, 0.13, 0.30),
    TrafficSource("bing", "organic", None, 0.02, 0.08, 0.45),
    TrafficSource("pinterest", "social", None, 0.02, 0.045, 0.57),
)

# Relative orders by weekday (Monday first): busiest Sunday evening to Monday, quiet Saturday.
WEEKDAY = np.array([1.15, 1.07, 1.02, 0.97, 0.86, 0.76, 1.12])
# Relative orders by month, January first: a clear November–December peak.
MONTH = np.array([0.85, 0.80, 0.90, 0.92, 0.95, 0.90, 0.88, 0.90, 0.96, 1.02, 1.30, 1.45])


@dataclass(frozen=True)
class World:
    """Everything planned before the first order: calendar, locale, demand, promotions."""

    size: SizePlan
    seed: int
    calendar: Calendar
    locale: Locale
    currency: str
    promotions: tuple[Promotion, ...]
    demand: np.ndarray  # expected orders per history day
    promo_of_day: np.ndarray  # index into promotions of the promotion live that day, or -1
    campaign_days: np.ndarray  # history day indexes with an email campaign
    traffic_mix: np.ndarray  # [day, TRAFFIC row]: share of the day's online orders
    ship_within_hours: int
    first_response_hours: int


def _season(days: np.ndarray) -> np.ndarray:
    """Yearly shape: monthly levels interpolated by day, with the Christmas posting cut-off."""
    dates = pd.DatetimeIndex(days)
    position = dates.month - 1 + (dates.day - 1) / dates.days_in_month
    centres = np.arange(-1, 13) + 0.5  # mid-December of the year before ... mid-January after
    levels = np.concatenate([MONTH[-1:], MONTH, MONTH[:1]])
    shape = np.interp(position, centres, levels)
    christmas = (dates.month == 12) & (dates.day >= 21)
    shape = np.where(christmas & (dates.day <= 26), shape * 0.45, shape)
    shape = np.where(christmas & (dates.day > 26), shape * 0.75, shape)
    return shape


def build_world(size: SizePlan, *, start: dt.date, until: dt.date, seed: int, zone: str,
                currency: str, ship_within_hours: int, first_response_hours: int) -> World:
    """Plan the demand curve (trend × weekday × season × promotions × noise) and calendars.

    The base level is set so the last year averages `size.daily_orders` orders a day.
    """
    calendar = Calendar(start, until, zone)
    days = calendar.days
    rng = rng_for(seed, "world")
    years = range(start.year, until.year + 1)
    promos = [p for y in years for p in promotions_of_year(y)
              if p.first <= until and p.last >= start]
    promos.append(Promotion(WELCOME.code, WELCOME.name, start, None, WELCOME.kind,
                            WELCOME.value, WELCOME.lift, WELCOME.uptake))
    promo_of_day = np.full(len(days), -1)
    lift = np.ones(len(days))
    for i, promo in enumerate(promos):
        if promo.last is None:
            continue
        inside = (days >= np.datetime64(promo.first)) & (days <= np.datetime64(promo.last))
        stronger = inside & (lift < promo.lift)  # overlapping promotions: the bigger one wins
        promo_of_day[stronger] = i
        lift[stronger] = promo.lift
    age_years = (days - days[-1]).astype(float) / 365.25
    trend = (1 + size.growth) ** age_years
    weekday = WEEKDAY[pd.DatetimeIndex(days).day_of_week]
    campaign_days = _campaign_days(days, promos)
    campaign_lift = np.ones(len(days))
    campaign_lift[campaign_days] = 1.06
    shape = trend * weekday * _season(days) * lift * campaign_lift
    last_year = shape[-min(365, len(shape)):]
    base = size.daily_orders / last_year.mean()
    noise = rng.gamma(60.0, 1 / 60.0, len(days))
    return World(size=size, seed=seed, calendar=calendar, locale=locale_for(zone),
                 currency=currency, promotions=tuple(promos), demand=base * shape * noise,
                 promo_of_day=promo_of_day, campaign_days=campaign_days,
                 traffic_mix=_traffic_mix(days, campaign_days),
                 ship_within_hours=ship_within_hours,
                 first_response_hours=first_response_hours)


def _campaign_days(days: np.ndarray, promos: list[Promotion]) -> np.ndarray:
    """Email campaign days: every Thursday, plus the first day of each dated promotion."""
    weekday = pd.DatetimeIndex(days).day_of_week
    marked = weekday == 3
    for promo in promos:
        if promo.last is not None:
            marked |= days == np.datetime64(promo.first)
    return np.flatnonzero(marked)


def ads_start(n_days: int, platform: str) -> int:
    """First history day an ad platform runs: TikTok ads start halfway through the history."""
    return n_days // 2 if platform == "tiktok" else 0


def _traffic_mix(days: np.ndarray, campaign_days: np.ndarray) -> np.ndarray:
    """Each day's split of online orders by source: email peaks on campaign days and the day
    after, paid search and social weigh more in November–December, TikTok only once its
    ads run."""
    mix = np.tile([t.share for t in TRAFFIC], (len(days), 1))
    email = [i for i, t in enumerate(TRAFFIC) if t.medium == "email"]
    paid = [i for i, t in enumerate(TRAFFIC) if t.platform]
    tiktok = [i for i, t in enumerate(TRAFFIC) if t.platform == "tiktok"]
    after = np.minimum(campaign_days + 1, len(days) - 1)
    mix[np.ix_(np.union1d(campaign_days, after), email)] *= 2.4
    peak = pd.DatetimeIndex(days).month.to_numpy() >= 11
    mix[np.ix_(peak, paid)] *= 1.3
    mix[:ads_start(len(days), "tiktok"), tiktok] = 0
    return mix / mix.sum(axis=1, keepdims=True)
