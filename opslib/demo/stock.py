"""Stock: what can be sold each day, purchase orders, daily inventory snapshots.

The buyer reorders a SKU on working days when its stock position (available + incoming)
falls to its reorder point, using the trailing 28-day velocity (or 70% of the forecast over
the lead time, if higher): that still lags the November ramp and the Black Friday spike, and
suppliers are sometimes late, so bestsellers really run out.
An out-of-stock SKU cannot be ordered (its demand is lost) until a purchase order arrives.

`on_hand` counts units in the warehouse (it drops when a parcel ships), `committed` the units
of unshipped, uncancelled orders; available = on_hand − committed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from opslib.demo.catalog import BACKORDER_DAYS, Catalog
from opslib.demo.plan import World

__all__ = ["Stock", "UNITS_PER_ORDER"]

UNITS_PER_ORDER = 1.9  # average units in an order (lines × quantity), for planning
SAFETY_DAYS = 7  # the buyer's safety stock, in days of sales
COVER_DAYS = 35  # what a purchase order should cover after it arrives
VELOCITY_DAYS = 28
SEASON_PLANNING = 0.7  # the buyer plans for at least 70% of the forecast over the lead time


class Stock:
    """Daily stock simulation over the whole history, one SKU per row.

    Matrices are [sku, day] with one extra last column that collects events after `until`
    (a parcel that ships tomorrow), which the snapshots never read.
    """

    def __init__(self, world: World, catalog: Catalog, rng: np.random.Generator) -> None:
        self.world = world
        self.catalog = catalog
        self.rng = rng
        n, days = catalog.n, world.calendar.n_days
        share = catalog.share / np.maximum(catalog.share.sum(axis=0), 1e-12)
        self.expected = share * world.demand[None, :] * UNITS_PER_ORDER  # units a day
        self.cumulative = np.concatenate([np.zeros((n, 1)), np.cumsum(self.expected, axis=1)],
                                         axis=1)
        self.lead = np.array([s.lead_time_days for s in catalog.suppliers])[catalog.supplier_of]
        self.pack = np.array([s.pack for s in catalog.suppliers])[catalog.supplier_of]
        self.late_rate = np.array([s.late_rate for s in catalog.suppliers])[catalog.supplier_of]
        shape = (n, days + 1)
        self.sold = np.zeros(shape, np.int64)
        self.shipped = np.zeros(shape, np.int64)
        self.released = np.zeros(shape, np.int64)  # commitments freed by cancellations
        self.arriving = np.zeros(shape, np.int64)
        self.on_hand_end = np.zeros((n, days), np.int64)
        self.committed_end = np.zeros((n, days), np.int64)
        self.incoming_end = np.zeros((n, days), np.int64)
        self.working = np.is_busday(world.calendar.days, holidays=world.calendar.holidays)
        self.on_hand = np.zeros(n, np.int64)
        self.committed = np.zeros(n, np.int64)
        self.incoming = np.zeros(n, np.int64)
        self.po_rows: list[dict[str, np.ndarray]] = []
        self._stock_up_opening()

    def _stock_up_opening(self) -> None:
        """Opening stock for SKUs on sale on day one; a launch order for later launches."""
        first_month = self.expected[:, :30].mean(axis=1)
        cover = self.lead + self.rng.uniform(14, 50, self.catalog.n)
        opening = np.ceil(first_month * cover / self.pack) * self.pack
        on_sale = self.catalog.listed[:, 0]
        self.on_hand[:] = np.where(on_sale, opening, 0)
        launches = np.flatnonzero(~on_sale & self.catalog.listed.any(axis=1))
        launch_day = self.catalog.listed[launches].argmax(axis=1)
        first_weeks = np.array([self.expected[s, d:d + 30].mean()
                                for s, d in zip(launches, launch_day)])
        pack = self.pack[launches]
        quantity = np.ceil(first_weeks * (self.lead[launches] + COVER_DAYS) / pack) * pack
        self._order(launches, np.maximum(quantity, pack), launch_day - self.lead[launches],
                    launch_day)

    def _order(self, skus: np.ndarray, quantity: np.ndarray, day: np.ndarray,
               arrival: np.ndarray) -> None:
        """Place purchase order lines (the arrival day may lie after `until`)."""
        if not len(skus):
            return
        n_days = self.world.calendar.n_days
        column = np.clip(arrival, 0, n_days)
        np.add.at(self.arriving, (skus, column), quantity.astype(np.int64))
        self.incoming[skus] += quantity.astype(np.int64)
        self.po_rows.append({"sku": skus, "quantity": quantity.astype(np.int64),
                             "day": np.asarray(day), "expected": day + self.lead[skus],
                             "arrival": np.asarray(arrival)})

    def morning(self, day: int) -> np.ndarray:
        """Receive today's deliveries; return what can be sold today (available units)."""
        arrived = self.arriving[:, day]
        self.on_hand += arrived
        self.incoming -= arrived
        return self.on_hand - self.committed

    def choose_skus(self, day: int, quantity: np.ndarray, available: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """Pick the SKU of each of today's order lines, in time order.

        Lines pick by demand share among SKUs in stock; a line that would take more than
        is left is re-picked among SKUs with stock to spare, so sales stop at zero.
        """
        share = self.catalog.share[:, day]
        sku = _draw(share * (available > 0), len(quantity), rng, fallback=share)
        for _ in range(3):
            over = _over_stock(sku, quantity, available)
            if not over.any():
                break
            spare = available - np.bincount(sku[~over], quantity[~over],
                                            minlength=len(available))
            sku[over] = _draw(share * (spare >= 5), int(over.sum()), rng, fallback=share)
        return sku

    def book(self, day: int, sku: np.ndarray, quantity: np.ndarray, ship_day: np.ndarray,
             cancel_day: np.ndarray) -> None:
        """Record today's sold lines and when each will ship or be cancelled (-1: never)."""
        n_days = self.world.calendar.n_days
        self.sold[:, day] += np.bincount(sku, quantity, minlength=self.catalog.n).astype(
            np.int64)
        ships = ship_day >= 0
        np.add.at(self.shipped, (sku[ships], np.minimum(ship_day[ships], n_days)),
                  quantity[ships])
        cancels = cancel_day >= 0
        np.add.at(self.released, (sku[cancels], np.minimum(cancel_day[cancels], n_days)),
                  quantity[cancels])

    def evening(self, day: int) -> None:
        """Ship today's parcels, reorder what runs low, take the end-of-day snapshot."""
        self.on_hand -= self.shipped[:, day]
        self.committed += self.sold[:, day] - self.shipped[:, day] - self.released[:, day]
        self.on_hand_end[:, day] = self.on_hand
        self.committed_end[:, day] = self.committed
        if self.working[day]:
            self._reorder(day)
        self.incoming_end[:, day] = self.incoming

    def _reorder(self, day: int) -> None:
        first = max(0, day - VELOCITY_DAYS + 1)
        window = slice(first, day + 1)
        available = self.on_hand_end[:, window] - self.committed_end[:, window]
        in_stock_days = (available > 0).sum(axis=1)
        horizon = np.minimum(day + self.lead + SAFETY_DAYS, self.world.calendar.n_days)
        rows = np.arange(self.catalog.n)
        forecast = (self.cumulative[rows, horizon] - self.cumulative[:, day]) / \
            np.maximum(horizon - day, 1)
        trailing = self.sold[:, window].sum(axis=1) / np.maximum(in_stock_days, 1)
        velocity = np.where(in_stock_days >= 7,
                            np.maximum(trailing, SEASON_PLANNING * forecast), forecast)
        position = self.on_hand - self.committed + self.incoming
        n_days = self.world.calendar.n_days
        stays_listed = self.catalog.listed[:, min(day + 60, n_days - 1)] & \
            self.catalog.listed[:, day]
        need = stays_listed & (self.incoming == 0) & (velocity > 0) & \
            (position <= velocity * (self.lead + SAFETY_DAYS))
        skus = np.flatnonzero(need)
        if not len(skus):
            return
        target = velocity[skus] * (self.lead[skus] + SAFETY_DAYS + COVER_DAYS) - position[skus]
        pack = self.pack[skus]
        quantity = np.maximum(np.ceil(target / pack), 1) * pack
        lead = self.lead[skus] * self.rng.uniform(0.85, 1.1, len(skus))
        late = self.rng.random(len(skus)) < self.late_rate[skus]
        lead = lead + late * self.lead[skus] * self.rng.uniform(0.3, 1.0, len(skus))
        arrival = np.busday_offset(self.world.calendar.days[day] + np.ceil(lead).astype(int),
                                   0, roll="forward", holidays=self.world.calendar.holidays)
        arrival_day = (arrival - self.world.calendar.days[0]).astype(np.int64)
        if day >= n_days - BACKORDER_DAYS:
            stuck = self.catalog.backordered[skus]
            arrival_day[stuck] = np.maximum(arrival_day[stuck],
                                            n_days + self.rng.integers(3, 15, int(stuck.sum())))
        self._order(skus, quantity, np.full(len(skus), day), arrival_day)

    def snapshots(self) -> pd.DataFrame:
        """inventory_snapshots: every listed SKU on every day it was on sale."""
        sku_i, day_i = np.nonzero(self.catalog.listed)
        return pd.DataFrame({
            "snapshot_date": self.world.calendar.days[day_i],
            "sku": self.catalog.products["sku"].to_numpy()[sku_i],
            "on_hand": self.on_hand_end[sku_i, day_i],
            "committed": self.committed_end[sku_i, day_i],
            "incoming": self.incoming_end[sku_i, day_i],
        })

    def purchase_orders(self, rng: np.random.Generator) -> pd.DataFrame:
        """purchase_orders: one line per SKU; lines of a supplier on one day share a PO."""
        cal = self.world.calendar
        rows = {k: np.concatenate([r[k] for r in self.po_rows]) for k in self.po_rows[0]}
        supplier = self.catalog.supplier_of[rows["sku"]]
        order = np.lexsort((rows["sku"], supplier, rows["day"]))
        rows = {k: v[order] for k, v in rows.items()}
        supplier = supplier[order]
        new_po = np.r_[True, (np.diff(rows["day"]) != 0) | (np.diff(supplier) != 0)]
        po_number = np.cumsum(new_po)
        n = len(order)
        ordered_at = cal.at(rows["day"], rng.uniform(9, 16, n) * 3600)
        expected_at = cal.at(rows["expected"], np.full(n, 12 * 3600))
        received_at = cal.at(rows["arrival"], rng.uniform(8, 15, n) * 3600)
        received = received_at < cal.end
        terms = np.array([s.payment_terms_days for s in self.catalog.suppliers])[supplier]
        unit_cost = np.round(self.catalog.cost_cents[rows["sku"]]
                             * rng.uniform(0.97, 1.03, n)) / 100
        return pd.DataFrame({
            "po_id": [f"PO-{i:05d}" for i in po_number],
            "supplier": [self.catalog.suppliers[i].name for i in supplier],
            "sku": self.catalog.products["sku"].to_numpy()[rows["sku"]],
            "quantity": rows["quantity"], "unit_cost": unit_cost,
            "ordered_at": cal.to_utc(ordered_at),
            "expected_at": cal.to_utc(expected_at),
            "received_at": cal.to_utc(np.where(received, received_at, np.datetime64("NaT"))),
            "payment_due_date": (ordered_at.astype("datetime64[D]") + terms),
            "status": np.where(received, "received", "ordered"),
        })


def _draw(weights: np.ndarray, k: int, rng: np.random.Generator, *,
          fallback: np.ndarray) -> np.ndarray:
    """k indexes drawn with probability ∝ weights (∝ fallback when weights are all zero)."""
    if weights.sum() <= 0:
        weights = fallback
    cumulative = np.cumsum(weights)
    return np.minimum(np.searchsorted(cumulative, rng.random(k) * cumulative[-1], side="right"),
                      len(weights) - 1)


def _over_stock(sku: np.ndarray, quantity: np.ndarray, available: np.ndarray) -> np.ndarray:
    """Lines that, taken in time order, would sell more of their SKU than is available."""
    order = np.argsort(sku, kind="stable")
    s, q = sku[order], quantity[order]
    running = np.cumsum(q)
    first = np.r_[True, s[1:] != s[:-1]]
    offset = np.maximum.accumulate(np.where(first, running - q, 0))
    over = np.empty(len(sku), dtype=bool)
    over[order] = (running - offset) > available[s]
    return over

