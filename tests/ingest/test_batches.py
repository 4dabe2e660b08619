"""Large files are built in batches; the batches never show in what is stored.

A Shopify orders export is built `batch_orders` orders at a time and a mapped CSV is typed
`batch_rows` rows at a time. Whatever the batch size, an import stores exactly the rows and
rejects exactly the lines (with the same reasons) that one batch holding the whole file
gives: an order whose rows are far apart in the file is still kept or rejected whole, and
a key repeated in two batches is still caught.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_support import shopify_order, write_shopify_orders

from opslib.ingest import importer_for
from opslib.ingest.rejects import read_rejected
from opslib.schema import TABLES, read_for_validation, table_path

MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"
WHOLE = 10**9  # a batch larger than any test file: the file at once
_FIXED = [HealthCheck.function_scoped_fixture]  # the settings fixture never changes


def _stored(data_dir: Path) -> dict[str, pd.DataFrame]:
    """Every stored table (sorted by key) and the rejected lines with their reasons."""
    out = {}
    for name, table in TABLES.items():
        path = table_path(data_dir, name)
        if path.exists():
            out[name] = read_for_validation(path).sort_values(list(table.key)) \
                .reset_index(drop=True)
    rejected = read_rejected(data_dir)
    out["rejected"] = rejected[["line", "column", "raw_value", "rule", "message"]] \
        .sort_values("line").reset_index(drop=True) if len(rejected) else rejected
    return out


def _import(importer, path: Path, data_dir: Path, usd):
    result = importer.run(path, data_dir=data_dir, settings=usd)
    assert result.adds_up, "\n".join(result.lines())
    return result, _stored(data_dir)


def _same(left: tuple, right: tuple) -> None:
    """Same counts, notes and stored rows (the rejects file's name has the time in it)."""
    (result, stored), (expected, wanted) = left, right
    assert [line for line in result.lines() if "kept in data folder" not in line] == \
        [line for line in expected.lines() if "kept in data folder" not in line]
    assert stored.keys() == wanted.keys()
    for name in stored:
        pd.testing.assert_frame_equal(stored[name], wanted[name], obj=name)


def _shopify(path: Path, orders: list[dict], order: list[int] | None = None) -> Path:
    """An orders export; `order` rearranges its data rows (an order's rows need not be
    next to each other)."""
    write_shopify_orders(path, orders)
    with open(path, encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows[i] for i in (order or range(len(rows))))
    return path


def _orders_importer(batch: int):
    importer = importer_for("shopify-orders")
    importer.batch_orders = batch
    return importer


_ORDERS = st.lists(st.tuples(st.integers(1, 3), st.sampled_from(["ok", "bad_total",
                                                                  "bad_price", "same_id"])),
                   min_size=1, max_size=7)


@settings(max_examples=25, deadline=None, suppress_health_check=_FIXED)
@given(orders=_ORDERS, batch=st.integers(1, 3), data=st.data())
def test_any_batch_size_stores_what_the_whole_file_stores(tmp_path_factory, usd_settings,
                                                          orders, batch, data):
    """Broken totals reject a whole order, a broken price its own line, an id used by an
    earlier order is a clashing key; the rows of an order may lie anywhere in the file."""
    made = []
    for n, (lines, fault) in enumerate(orders, start=1):
        items = [(f"SKU{n}{k}", k + 1, f"{n + k}.50") for k in range(lines)]
        fields = {"Email": f"buyer{n % 3}@example.invalid",  # customers span batches
                  **({"Total": "-1.00"} if fault == "bad_total" else {})}
        order = shopify_order(f"#{n}", "1" if fault == "same_id" else str(1000 + n),
                              f"2024-05-{n:02d} 10:00:00 -0400", items, **fields)
        if fault == "bad_price":
            order["lines"][-1] = (order["lines"][-1][0], 1, "abc")
        made.append(order)
    rows = sum(len(o["lines"]) for o in made)
    order = data.draw(st.permutations(range(rows)))
    folder = tmp_path_factory.mktemp("batches")
    path = _shopify(folder / "orders.csv", made, list(order))
    whole = _import(_orders_importer(WHOLE), path, folder / "whole", usd_settings)
    batched = _import(_orders_importer(batch), path, folder / "batched", usd_settings)
    _same(batched, whole)


def test_an_order_split_across_the_file_is_rejected_whole_in_batches_of_one(
        tmp_path, usd_settings):
    """Order #1's second row is the file's last line, two orders later: with a batch of
    one order, its negative total still rejects both its rows and nothing else."""
    orders = [shopify_order("#1", "101", "2024-05-01 10:00:00 -0400",
                            [("A", 1, "5.00"), ("B", 1, "6.00")], Total="-1.00"),
              shopify_order("#2", "102", "2024-05-02 10:00:00 -0400", [("C", 1, "7.00")]),
              shopify_order("#3", "103", "2024-05-03 10:00:00 -0400", [("D", 1, "8.00")])]
    path = _shopify(tmp_path / "orders.csv", orders, [0, 2, 3, 1])  # #1 on lines 2 and 5
    result, stored = _import(_orders_importer(1), path, tmp_path / "d", usd_settings)
    assert stored["rejected"]["line"].tolist() == [2, 5]
    assert set(stored["rejected"]["rule"]) == {"negative_amount"}
    assert sorted(stored["orders"]["order_number"]) == ["#2", "#3"]
    assert sorted(stored["order_lines"]["sku"]) == ["C", "D"]
    assert result.rows_loaded == 2 and result.rows_rejected == 2


def test_a_key_repeated_in_a_later_batch_is_rejected(tmp_path, usd_settings):
    """Orders #1 and #2 give the same platform id with different contents: with one order
    per batch, the later one is still rejected as a clashing key, naming the first."""
    orders = [shopify_order("#1", "500", "2024-05-01 10:00:00 -0400", [("A", 1, "5.00")]),
              shopify_order("#2", "500", "2024-05-02 10:00:00 -0400", [("B", 2, "6.00")])]
    path = _shopify(tmp_path / "orders.csv", orders)
    _, stored = _import(_orders_importer(1), path, tmp_path / "d", usd_settings)
    rejected = stored["rejected"]
    assert rejected["line"].tolist() == [3] and rejected["rule"].tolist() == ["duplicate_key"]
    assert "first on line 2" in rejected["message"][0]
    assert stored["orders"]["order_number"].tolist() == ["#1"]


_SUPERSTORE = ["Row ID", "Order ID", "Order Date", "Ship Date", "Ship Mode", "Customer ID",
               "Customer Name", "Country", "City", "Product ID", "Category", "Sub-Category",
               "Product Name", "Sales", "Quantity", "Discount", "Profit"]

_MAPPED_LINES = st.lists(st.tuples(st.integers(1, 4), st.sampled_from(
    ["ok", "ok", "negative_quantity", "ship_before_order", "not_a_number"])),
    min_size=1, max_size=12)  # (order, fault) per line of a Superstore-shaped file


def _superstore_file(path: Path, lines: list[tuple[int, str]]) -> Path:
    """Superstore-shaped lines, (order, fault) each: the fault breaks that line."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_SUPERSTORE)
        for n, (order, fault) in enumerate(lines, start=1):
            shipped = "2/13/2024" if fault == "ship_before_order" else "2/25/2024"
            writer.writerow([n, f"CA-2024-{order}", "2/20/2024", shipped, "Second Class",
                             f"C{order % 2}", "Person A", "United States", "Boston",
                             f"P{n % 3}", "Office", "Paper", f"Paper {n % 3}",
                             "x" if fault == "not_a_number" else f"{10 + n}.5",
                             -1 if fault == "negative_quantity" else 2, "0.2", "1.5"])
    return path


@settings(max_examples=20, deadline=None, suppress_health_check=_FIXED)
@given(lines=_MAPPED_LINES, batch=st.integers(1, 4))
def test_a_mapped_file_typed_in_any_batch_size_stores_the_same(tmp_path_factory, usd_settings,
                                                                lines, batch):
    """Superstore-shaped lines through the example mapping, typed a few rows at a time:
    the same tables, rejects and counts as the whole file at once."""
    folder = tmp_path_factory.mktemp("mapped")
    path = _superstore_file(folder / "superstore.csv", lines)
    mapping = MAPPINGS / "superstore.toml"
    whole = _import(importer_for("csv", mapping), path, folder / "whole", usd_settings)
    importer = importer_for("csv", mapping)
    importer.batch_rows = batch
    batched = _import(importer, path, folder / "batched", usd_settings)
    _same(batched, whole)


# -- rows and tables waiting on disk between stages --------------------------------------
# During an import, the rows read and each table built wait on disk (Parquet, Arrow) and
# the engine checks and merges one table at a time: what is stored must not change.

@settings(max_examples=20, deadline=None, suppress_health_check=_FIXED)
@given(orders=_ORDERS, batch=st.integers(1, 3), data=st.data())
def test_orders_kept_on_disk_in_tiny_batches_store_what_one_batch_in_memory_stores(
        tmp_path_factory, usd_settings, orders, batch, data):
    made = []
    for n, (lines, fault) in enumerate(orders, start=1):
        items = [(f"SKU{n}{k}", k + 1, f"{n + k}.50") for k in range(lines)]
        order = shopify_order(f"#{n}", "1" if fault == "same_id" else str(1000 + n),
                              f"2024-05-{n:02d} 10:00:00 -0400", items,
                              Email=f"buyer{n % 3}@example.invalid",
                              **({"Total": "-1.00"} if fault == "bad_total" else {}))
        if fault == "bad_price":
            order["lines"][0] = (order["lines"][0][0], "-2", order["lines"][0][2])
        made.append(order)
    rows = sum(len(o["lines"]) for o in made)
    folder = tmp_path_factory.mktemp("aside")
    path = _shopify(folder / "orders.csv", made, list(data.draw(st.permutations(range(rows)))))
    in_memory = _orders_importer(WHOLE)
    in_memory.aside = False
    whole = _import(in_memory, path, folder / "memory", usd_settings)
    on_disk = _orders_importer(batch)
    assert on_disk.aside
    _same(_import(on_disk, path, folder / "disk", usd_settings), whole)


@settings(max_examples=15, deadline=None, suppress_health_check=_FIXED)
@given(lines=_MAPPED_LINES, batch=st.integers(1, 4))
def test_a_mapped_file_kept_on_disk_stores_what_memory_stores(tmp_path_factory, usd_settings,
                                                              lines, batch):
    folder = tmp_path_factory.mktemp("mapped-aside")
    path = _superstore_file(folder / "superstore.csv", lines)
    mapping = MAPPINGS / "superstore.toml"
    in_memory = importer_for("csv", mapping)
    in_memory.aside = False
    whole = _import(in_memory, path, folder / "memory", usd_settings)
    on_disk = importer_for("csv", mapping)
    on_disk.batch_rows = batch
    _same(_import(on_disk, path, folder / "disk", usd_settings), whole)


def _held_while_checking(monkeypatch) -> list[tuple[str, int]]:
    """For each contract check of an import: what holds the rows read, and how many
    tables are in memory when it starts."""
    from opslib.ingest import engine

    seen = []
    settle, check = engine.settle, engine._check_rows

    def watched_settle(raw, *args):
        seen.append(("rows read", type(raw.frame).__name__))
        return settle(raw, *args)

    def watched_check(checked, candidates, *args):
        seen.append(("tables in memory", sum(c.frame is not None for c in candidates)))
        return check(checked, candidates, *args)

    monkeypatch.setattr(engine, "settle", watched_settle)
    monkeypatch.setattr(engine, "_check_rows", watched_check)
    return seen


def test_an_import_holds_neither_the_rows_read_nor_every_table_while_checking(
        tmp_path, usd_settings, monkeypatch):
    """The rows read wait on disk, and the tables too: the checks read one at a time."""
    orders = [shopify_order(f"#{n}", str(100 + n), "2024-05-01 10:00:00 -0400",
                            [("A", 1, "5.00"), ("B", 2, "6.00")],
                            **({"Total": "-1.00"} if n == 2 else {})) for n in range(1, 4)]
    path = _shopify(tmp_path / "orders.csv", orders)
    seen = _held_while_checking(monkeypatch)
    result, stored = _import(_orders_importer(1), path, tmp_path / "d", usd_settings)
    assert result.rows_rejected == 2 and len(stored["orders"]) == 2
    assert seen[0] == ("rows read", "RowsOnDisk")
    assert {held for what, held in seen[1:]} == {0}, seen

    superstore = tmp_path / "superstore.csv"
    with open(superstore, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_SUPERSTORE)
        writer.writerow([1, "CA-1", "2/20/2024", "2/25/2024", "Second Class", "C1", "A",
                         "United States", "Boston", "P1", "Office", "Paper", "Paper", "10.5",
                         2, "0.2", "1.5"])
    seen.clear()
    _import(importer_for("csv", MAPPINGS / "superstore.toml"), superstore, tmp_path / "m",
            usd_settings)
    assert seen[0] == ("rows read", "RowsOnDisk")
    assert {held for what, held in seen[1:]} == {0}, seen
