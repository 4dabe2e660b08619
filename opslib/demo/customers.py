"""The customer base: who exists, where they live, and when they will order again.

Each customer is one of two kinds. Most are one-time buyers (a small chance of ever coming
back); the rest are regulars who come back after each order with a high probability, after a
gamma-distributed pause of about two months. Every regular stops one day, so the history has
loyal customers who have lapsed. A customer who is due but does not order within four months
lapses too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opslib.demo.plan import World, labels

__all__ = ["Customers"]

FIRST_NAMES = ("Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Freya", "Grace",
               "Sophia", "Ella", "Rosie", "Chloe", "Evie", "Zara", "Nora", "Maya", "Ruby",
               "Oliver", "George", "Noah", "Arthur", "Leo", "Harry", "Oscar", "Archie",
               "Jack", "Henry", "Theo", "Finley", "Samuel", "Adam", "Omar", "Ravi", "Luca",
               "Daniel", "Aisha", "Priya", "Hannah", "Tom")
LAST_NAMES = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
              "Patel", "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts",
              "Green", "Hall", "Wood", "Jackson", "Clarke", "Khan", "Hughes", "Edwards",
              "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "O'Brien", "Nguyen",
              "Kowalski", "Murphy", "Ahmed", "Singh", "Baker", "Price", "Bennett", "Shaw")

REGULAR_SHARE = 0.38  # customers who keep coming back (until they stop)
ONE_TIME_RETURN = 0.08  # chance a one-time buyer ever orders again, per order
INTERVAL_SHAPE = 2.2  # gamma shape of the pause between two orders
INTERVAL_SCALE = 42.0  # days; median pause ≈ 1.9 × scale ≈ 80 days
LAPSE_AFTER_DAYS = 120  # due but silent this long: gone
ABROAD_SHARE = 0.07
ABROAD_CITIES = {"IE": "Dublin", "FR": "Lyon", "DE": "Berlin", "NL": "Utrecht", "US": "Chicago",
                 "CA": "Toronto", "GB": "London", "MX": "Monterrey", "AU": "Melbourne"}
CONSENT_SHARE = 0.55


class Customers:
    """Growable per-customer arrays; a customer's index is its number (C000001 = index 0)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.n = 0
        size = 1024
        self.next_due = np.full(size, np.inf)
        self.loyalty = np.zeros(size)
        self.scale = np.zeros(size)
        self.first_name = np.zeros(size, np.int16)
        self.last_name = np.zeros(size, np.int16)
        self.country = np.zeros(size, np.int16)  # 0: home country, i: locale.abroad[i - 1]
        self.city = np.zeros(size, np.int16)
        self.consent = np.zeros(size, bool)
        self.has_phone = np.zeros(size, bool)
        self.created = np.zeros(size, "datetime64[us]")

    _ARRAYS = ("next_due", "loyalty", "scale", "first_name", "last_name", "country", "city",
               "consent", "has_phone", "created")

    def _grow(self, needed: int) -> None:
        size = len(self.next_due)
        if needed <= size:
            return
        new_size = max(needed, 2 * size)
        for name in self._ARRAYS:
            old = getattr(self, name)
            fill = np.inf if name == "next_due" else 0
            grown = np.full(new_size, fill, dtype=old.dtype)
            grown[:size] = old
            setattr(self, name, grown)

    def create(self, created: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """New customers whose first order is at local times `created`; their indexes."""
        k = len(created)
        self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k)
        self.n += k
        regular = rng.random(k) < REGULAR_SHARE
        self.loyalty[idx] = np.where(regular, rng.beta(8, 2, k), ONE_TIME_RETURN)
        self.scale[idx] = INTERVAL_SCALE * rng.lognormal(0, 0.3, k)
        self.first_name[idx] = rng.integers(len(FIRST_NAMES), size=k)
        self.last_name[idx] = rng.integers(len(LAST_NAMES), size=k)
        abroad = rng.random(k) < ABROAD_SHARE
        self.country[idx] = np.where(abroad, rng.integers(1, len(self.world.locale.abroad) + 1,
                                                          k), 0)
        self.city[idx] = rng.integers(len(self.world.locale.cities), size=k)
        self.consent[idx] = rng.random(k) < CONSENT_SHARE
        self.has_phone[idx] = rng.random(k) < 0.6
        self.created[idx] = created
        return idx

    def due(self, day: int) -> np.ndarray:
        """Customers due to order by the end of `day`, most overdue first; long-overdue
        ones lapse (they will not come back)."""
        due = np.flatnonzero(self.next_due[:self.n] < day + 1)
        gone = due[self.next_due[due] < day - LAPSE_AFTER_DAYS]
        self.next_due[gone] = np.inf
        due = due[self.next_due[due] < np.inf]
        return due[np.argsort(self.next_due[due], kind="stable")]

    def ordered(self, idx: np.ndarray, when: np.ndarray, rng: np.random.Generator) -> None:
        """Customers `idx` ordered at history times `when` (days): schedule the next order."""
        k = len(idx)
        again = rng.random(k) < self.loyalty[idx]
        pause = rng.gamma(INTERVAL_SHAPE, self.scale[idx])
        self.next_due[idx] = np.where(again, when + pause, np.inf)

    def countries(self, idx: np.ndarray) -> np.ndarray:
        """ISO country codes of customers `idx`."""
        codes = np.array((self.world.locale.country,) + self.world.locale.abroad, dtype=object)
        return codes[self.country[idx]]

    def ids(self, idx: np.ndarray) -> np.ndarray:
        """customer_id of indexes (None where idx < 0)."""
        return labels("C", idx + 1, 6, missing=idx < 0)

    def emails(self, idx: np.ndarray) -> np.ndarray:
        """Email addresses of indexes (None where idx < 0); demo addresses only."""
        safe = np.maximum(idx, 0)
        first = pd.Series(np.array(FIRST_NAMES, dtype=object)[self.first_name[safe]])
        last = pd.Series(np.array(LAST_NAMES, dtype=object)[self.last_name[safe]])
        local = first.str.lower() + "." + last.str.lower().str.replace("'", "", regex=False)
        text = (local + pd.Series(safe + 1).astype(str) + "@example.com").to_numpy(object)
        text[idx < 0] = None
        return text

    def frame(self, lo: int, hi: int) -> pd.DataFrame:
        """customers rows for indexes lo..hi-1 (created_at in local time, converted later)."""
        idx = np.arange(lo, hi)
        first = np.array(FIRST_NAMES, dtype=object)[self.first_name[idx]]
        last = np.array(LAST_NAMES, dtype=object)[self.last_name[idx]]
        cities = np.array(self.world.locale.cities + tuple(
            ABROAD_CITIES[c] for c in self.world.locale.abroad), dtype=object)
        city = np.where(self.country[idx] == 0, self.city[idx],
                        len(self.world.locale.cities) + self.country[idx] - 1)
        phone = (self.world.locale.phone_prefix
                 + pd.Series(idx % 1000).astype(str).str.zfill(3)).to_numpy(object)
        phone[~self.has_phone[idx]] = None
        return pd.DataFrame({
            "customer_id": self.ids(idx), "email": self.emails(idx),
            "name": pd.Series(first) + " " + pd.Series(last), "phone": phone,
            "city": cities[city], "country": self.countries(idx),
            "created_at": self.world.calendar.to_utc(self.created[idx]),
            "has_marketing_consent": self.consent[idx],
        })

