"""The import ledger: which export files were imported, when, and how many rows each gave.

A file is known by the SHA-256 of its bytes, so re-importing the same export (even renamed)
is recognised and skipped, while a later export with the same name is a new file.

>>> ledger = Ledger([])
>>> entry = LedgerEntry(sha256="ab" * 32, source="shopify-orders", file="orders.csv",
...                     raw_path="raw/shopify-orders/orders.csv",
...                     imported_at="2025-01-02T03:04:05+00:00", rows_read=3, rows_loaded=2,
...                     rows_rejected=1, rows_duplicate=0, tables={"orders": 2})
>>> ledger.add(entry).find("ab" * 32, "shopify-orders").file
'orders.csv'
>>> ledger.find("ab" * 32, "shopify-orders") is None
True
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Ledger", "LedgerEntry", "LEDGER_FILE", "load_ledger"]

LEDGER_FILE = "import-ledger.json"


@dataclass(frozen=True)
class LedgerEntry:
    """One imported file."""

    sha256: str
    source: str
    file: str
    raw_path: str
    imported_at: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rows_duplicate: int
    tables: dict[str, int] = field(default_factory=dict)
    rows_skipped: int = 0  # rows with no record of their own (e.g. image-only rows)


@dataclass(frozen=True)
class Ledger:
    """Every import so far, oldest first (never edited, only added to)."""

    entries: list[LedgerEntry]

    def find(self, sha256: str, source: str) -> LedgerEntry | None:
        """The earlier import of these exact bytes by this importer, if any."""
        return next((e for e in self.entries if e.sha256 == sha256 and e.source == source),
                    None)

    def add(self, entry: LedgerEntry) -> "Ledger":
        """A new ledger with `entry` appended (this one is left as it is)."""
        return Ledger([*self.entries, entry])

    def to_bytes(self) -> bytes:
        return json.dumps([asdict(e) for e in self.entries], indent=1,
                          ensure_ascii=False).encode("utf-8")


def load_ledger(data_dir: str | Path) -> Ledger:
    """The ledger of a data folder (empty if nothing was imported yet)."""
    path = Path(data_dir) / LEDGER_FILE
    if not path.exists():
        return Ledger([])
    return Ledger([LedgerEntry(**e) for e in json.loads(path.read_text(encoding="utf-8"))])
