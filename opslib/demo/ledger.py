"""Day-level totals collected while the months are generated.

Whole-history tables (web traffic, email, ads, bank) are built from these small arrays at the
end, so no month's orders have to stay in memory. Every array has one extra last row that
collects events after `until`; the tables never read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from opslib.demo.plan import TRAFFIC, World

__all__ = ["Ledger", "PAYMENT_METHODS"]

PAYMENT_METHODS = ("card", "paypal", "apple_pay", "klarna", "gift_card", "bank_transfer",
                   "marketplace")


@dataclass
class Ledger:
    """Per-day counts and cents; index a day with `row(day)` (after `until` → extra row)."""

    n_days: int
    n_carriers: int
    online_orders: np.ndarray = field(init=False)  # [day, TRAFFIC]
    online_revenue: np.ndarray = field(init=False)  # [day, TRAFFIC] cents
    abandoned: np.ndarray = field(init=False)  # [day, TRAFFIC] abandoned checkouts
    abandoned_with_email: np.ndarray = field(init=False)
    orders: np.ndarray = field(init=False)  # every order, any channel
    new_subscribers: np.ndarray = field(init=False)  # new customers who consented
    payments: np.ndarray = field(init=False)  # [day, PAYMENT_METHODS] cents captured
    refunds: np.ndarray = field(init=False)  # [day, PAYMENT_METHODS] cents refunded
    tax: np.ndarray = field(init=False)  # cents of tax charged
    shipping_cost: np.ndarray = field(init=False)  # [day, carrier] cents

    @classmethod
    def for_world(cls, world: World) -> "Ledger":
        return cls(world.calendar.n_days, len(world.locale.carriers))

    def __post_init__(self) -> None:
        rows, traffic, methods = self.n_days + 1, len(TRAFFIC), len(PAYMENT_METHODS)
        self.online_orders = np.zeros((rows, traffic), np.int64)
        self.online_revenue = np.zeros((rows, traffic), np.int64)
        self.abandoned = np.zeros((rows, traffic), np.int64)
        self.abandoned_with_email = np.zeros(rows, np.int64)
        self.orders = np.zeros(rows, np.int64)
        self.new_subscribers = np.zeros(rows, np.int64)
        self.payments = np.zeros((rows, methods), np.int64)
        self.refunds = np.zeros((rows, methods), np.int64)
        self.tax = np.zeros(rows, np.int64)
        self.shipping_cost = np.zeros((rows, self.n_carriers), np.int64)

    def row(self, day: np.ndarray) -> np.ndarray:
        """Array row of history day indexes; days after `until` share the extra last row."""
        return np.clip(day, 0, self.n_days)

    def add(self, name: str, day: np.ndarray, values: np.ndarray | int = 1,
            column: np.ndarray | None = None) -> None:
        """Add `values` to array `name` at rows `day` (and `column`, for 2-D arrays)."""
        target = getattr(self, name)
        values = np.broadcast_to(np.asarray(values, dtype=np.int64), np.shape(day))
        if column is None:
            np.add.at(target, self.row(day), values)
        else:
            np.add.at(target, (self.row(day), column), values)
