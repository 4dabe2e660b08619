"""Shopify products exports as stores keep them.

Image-only rows are skipped (not errors), a SKU reused on several variants is one product
(variants that disagree on price or cost: the first is kept, the others rejected and named),
variants without a SKU are counted apart, and a broken row changes nothing stored for any
other SKU. Every check reads the file independently with the csv module.
"""

from __future__ import annotations

import csv
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from ingest_support import need_realdata

from opslib.config import Settings
from opslib.ingest import import_files
from opslib.ingest.rejects import read_rejected
from opslib.schema import TABLES, read_for_validation, table_path, validate_store

USD = Settings.from_dict({"store": {"name": "Pet shop", "timezone": "America/New_York",
                                    "currency": "USD"}})
HEADER = ["Handle", "Title", "Body (HTML)", "Vendor", "Type", "Option1 Name", "Option1 Value",
          "Variant SKU", "Variant Price", "Cost per item", "Variant Inventory Qty", "Image Src",
          "Image Position", "Status"]
IMAGE_COLUMNS = {"Handle", "Image Src", "Image Position", "Image Alt Text"}


# --- reading an export independently ---------------------------------------------------------

@dataclass
class Row:
    line: int  # the file line the row starts on
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()

    @property
    def sku(self) -> str:
        """The SKU as the playbook keys it: trimmed, without the apostrophe a spreadsheet puts
        before a number to keep its leading zeros."""
        return re.sub(r"^'(?=[\d+(][\d\s()+\-./]*$)", "", self.get("Variant SKU"))

    @property
    def image_only(self) -> bool:
        return bool(self.get("Handle") and self.get("Image Src")) and not any(
            v.strip() for k, v in self.values.items() if k not in IMAGE_COLUMNS)

    @property
    def variant(self) -> bool:
        return bool(self.get("Handle")) and not self.image_only

    @property
    def price_cost(self) -> tuple[float, float | None]:
        cost = self.get("Cost per item")
        return float(self.get("Variant Price")), float(cost) if cost else None


def read_rows(path: Path) -> tuple[list[str], list[Row]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows, end = [], reader.line_num
        for record in reader:
            rows.append(Row(end + 1, dict(zip(header, record))))
            end = reader.line_num
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[Row]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([[row.values.get(c, "") for c in header] for row in rows])
    return path


@dataclass
class Imported:
    result: object
    products: pd.DataFrame  # indexed by sku
    stock: pd.Series  # on_hand by sku
    rejected: pd.DataFrame  # indexed by line

    @property
    def rules(self) -> dict[int, str]:
        return self.rejected["rule"].to_dict()


def import_products(path: Path, data_dir: Path) -> Imported:
    report = import_files("shopify-products", [path], data_dir=data_dir, settings=USD)
    result = report.files[0]
    assert report.ok, report.text()
    assert result.rows_read == (result.rows_loaded + result.rows_rejected
                                + result.rows_duplicate + result.rows_skipped)
    assert validate_store(data_dir)[1] == []
    return Imported(result, _table(data_dir, "products").set_index("sku"),
                    _table(data_dir, "inventory_snapshots").set_index("sku")["on_hand"],
                    read_rejected(data_dir).set_index("line"))


def _table(data_dir: Path, name: str) -> pd.DataFrame:
    path = table_path(data_dir, name)
    return read_for_validation(path) if path.exists() else \
        pd.DataFrame(columns=TABLES[name].column_names)


# --- what the file says, checked against what was stored -------------------------------------

def check_every_sku_accounted_for(rows: list[Row], imported: Imported) -> None:
    """Every distinct SKU is a product or rejected with its reason; stored prices and costs
    are ones the file gives that SKU; image-only rows and variants without SKU are skipped."""
    result, products = imported.result, imported.products
    image_only = sum(row.image_only for row in rows)
    no_sku = sum(row.variant and not row.sku for row in rows)
    assert result.skipped_by_reason == {name: count for name, count in (
        ("image-only rows", image_only), ("variants without SKU", no_sku)) if count}
    assert result.rows_skipped == image_only + no_sku
    by_sku: dict[str, list[Row]] = {}
    for row in rows:
        if row.variant and row.sku:
            by_sku.setdefault(row.sku, []).append(row)
    assert set(products.index) <= set(by_sku), "a product the file does not have"
    for sku, sku_rows in by_sku.items():
        if sku in products.index:
            stored = products.loc[sku]
            given_pairs = {r.price_cost for r in sku_rows if r.line not in imported.rules}
            cost = None if pd.isna(stored["unit_cost"]) else stored["unit_cost"]
            assert (stored["price"], cost) in given_pairs, (sku, stored["price"], cost)
        else:
            for row in sku_rows:
                assert row.line in imported.rules, f"SKU {sku} line {row.line}: nowhere"
                message = imported.rejected.loc[row.line, "message"]
                assert imported.rules[row.line] and message


def check_reused_skus(rows: list[Row], imported: Imported) -> None:
    """In a file without broken rows: one product per SKU; variants that agree with the
    SKU's first on price and cost are loaded with it, the others rejected and named."""
    first: dict[str, Row] = {}
    conflicts: dict[str, list[int]] = {}
    for row in rows:
        if row.variant and row.sku:
            kept = first.setdefault(row.sku, row)
            if row.price_cost != kept.price_cost:
                conflicts.setdefault(row.sku, []).append(row.line)
    assert set(imported.products.index) == set(first)
    for sku, row in first.items():
        cost = imported.products.loc[sku, "unit_cost"]
        assert (imported.products.loc[sku, "price"],
                None if pd.isna(cost) else cost) == row.price_cost
        assert imported.products.loc[sku, "product_id"] == row.get("Handle")
    conflicting = {line for lines in conflicts.values() for line in lines}
    assert {line for line, rule in imported.rules.items() if rule == "conflicting_sku"} \
        == conflicting
    assert set(imported.rules) == conflicting
    assert imported.result.rows_loaded == sum(
        row.variant and bool(row.sku) for row in rows) - len(conflicting)
    if conflicts:
        note = next(n for n in imported.result.notes if "conflicting_sku" in n)
        assert note.startswith(f"{len(conflicts):,} SKU(s)")
        assert all(f"'{sku}'" in note for sku in list(conflicts)[:10])


# --- generated exports -----------------------------------------------------------------------

PRICES = ("10.00", "12.50", "0", "7")
COSTS = ("", "4.00", "5.25")
SKUS = ("TEE-S", "TEE-M", "MUG", "'00123", "BOOT", "")


@st.composite
def exports(draw) -> list[Row]:
    """A products export as Shopify writes it: product fields on the first row, one row per
    variant, further images on image-only rows; SKUs reused, some variants without one."""
    rows: list[Row] = []
    for number in range(draw(st.integers(1, 5))):
        handle = f"product-{number}"
        variants = draw(st.lists(st.tuples(st.sampled_from(SKUS), st.sampled_from(PRICES),
                                           st.sampled_from(COSTS), st.integers(-3, 40)),
                                 min_size=1, max_size=4))
        images = draw(st.integers(0, 4))
        for index in range(max(len(variants), images)):
            values = {"Handle": handle}
            if index == 0:
                values.update({"Title": f"Product {number}", "Vendor": "Acme",
                               "Type": draw(st.sampled_from(["Toys", ""])),
                               "Body (HTML)": draw(st.sampled_from(["<p>Soft</p>", ""])),
                               "Status": draw(st.sampled_from(["active", "draft", "archived"]))})
            if index < len(variants):
                sku, price, cost, stock = variants[index]
                values.update({"Option1 Name": "Size", "Option1 Value": f"V{index}",
                               "Variant SKU": sku, "Variant Price": price,
                               "Cost per item": cost, "Variant Inventory Qty": str(stock)})
            if index < images:
                values.update({"Image Src": f"https://img.example/{handle}/{index}.jpg",
                               "Image Position": str(index + 1)})
            rows.append(Row(len(rows) + 2, values))
    return rows


@settings(max_examples=40, deadline=None)
@given(exports())
def test_generated_export_every_sku_is_a_product_or_a_rejection(rows):
    with tempfile.TemporaryDirectory() as folder:
        path = write_rows(Path(folder) / "products_export.csv", HEADER, rows)
        imported = import_products(path, Path(folder) / "data")
    check_every_sku_accounted_for(rows, imported)
    check_reused_skus(rows, imported)
    for sku in imported.products.index:  # stock of a SKU: all its loaded variants
        loaded = [r for r in rows if r.variant and r.sku == sku and r.line not in
                  imported.rules]
        assert imported.stock[sku] == sum(int(r.get("Variant Inventory Qty")) for r in loaded)
        handle = imported.products.loc[sku, "product_id"]
        assert imported.products.loc[sku, "image_count"] == sum(
            bool(r.get("Image Src")) for r in rows if r.get("Handle") == handle)


def test_a_size_run_under_one_sku_is_one_product(tmp_path):
    """A shoe's sizes all under one SKU at one price: one product, every row loaded."""
    rows = [Row(n + 2, {"Handle": "boot", "Option1 Value": size, "Variant SKU": "BOOT",
                        "Variant Price": "80.00", "Cost per item": "30.00",
                        **({"Title": "Boot", "Status": "active"} if n == 0 else {})})
            for n, size in enumerate(["40", "41", "42"])]
    rows.append(Row(5, {"Handle": "boot", "Image Src": "https://img.example/boot.jpg"}))
    imported = import_products(write_rows(tmp_path / "p.csv", HEADER, rows), tmp_path / "d")
    assert (imported.result.rows_loaded, imported.result.rows_rejected,
            imported.result.rows_skipped) == (3, 0, 1)
    assert imported.products.loc["BOOT", ["title", "price", "unit_cost"]].tolist() == \
        ["Boot - 40", 80.0, 30.0]


def test_variants_that_disagree_keep_the_first_and_are_named(tmp_path):
    rows = [Row(2, {"Handle": "mug", "Title": "Mug", "Status": "draft", "Variant SKU": "MUG",
                    "Variant Price": "9.00", "Cost per item": "3.00", "Option1 Value": "Red"}),
            Row(3, {"Handle": "mug", "Variant SKU": "MUG", "Variant Price": "11.00",
                    "Cost per item": "3.00", "Option1 Value": "Blue"}),
            Row(4, {"Handle": "mug", "Variant Price": "9.00", "Option1 Value": "Green"})]
    imported = import_products(write_rows(tmp_path / "p.csv", HEADER, rows), tmp_path / "d")
    assert imported.products.loc["MUG", ["price", "status"]].tolist() == [9.0, "draft"]
    assert imported.rules == {3: "conflicting_sku"}
    assert "line 2" in imported.rejected.loc[3, "message"]
    assert imported.result.skipped_by_reason == {"variants without SKU": 1}
    assert any("1 SKU(s)" in note and "'MUG'" in note for note in imported.result.notes)
    assert any("1 variant(s) without a SKU" in note for note in imported.result.notes)


# --- broken rows change nothing else ---------------------------------------------------------

BREAKS = {  # how a row is broken -> (new values, rule it is rejected with; None: skipped)
    "negative price": (lambda r: {"Variant Price": f"-{float(r.get('Variant Price')) + 1:.2f}"},
                       "negative_amount"),
    "negative cost": (lambda r: {"Cost per item": "-0.01"}, "negative_amount"),
    "price not a number": (lambda r: {"Variant Price": "12.3.4"}, "not_a_number"),
    "cost not a number": (lambda r: {"Cost per item": "n/a"}, "not_a_number"),
    "empty price": (lambda r: {"Variant Price": ""}, "missing_value"),
    "empty handle": (lambda r: {"Handle": ""}, "missing_value"),
    "empty SKU": (lambda r: {"Variant SKU": ""}, None),
}


def check_broken_rows_change_nothing_else(rows: list[Row], clean: Imported, broken_at,
                                          data_dir: Path) -> None:
    """Break the rows at `broken_at` (position -> kind): they are rejected (or skipped) for
    their own fault, and every SKU they do not touch is stored exactly as from `rows`."""
    broken_rows = list(rows)
    touched: set[str] = set()
    for position, kind in broken_at.items():
        row = rows[position]
        change, _ = BREAKS[kind]
        broken_rows[position] = Row(row.line, {**row.values, **change(row)})
        touched.add(row.sku)
        if kind == "empty handle":  # the product's fields and images may sit on this row
            touched |= {r.sku for r in rows if r.get("Handle") == row.get("Handle") and r.sku}
    header = list(rows[0].values) if len(rows[0].values) > len(HEADER) else HEADER
    data_dir.mkdir()
    imported = import_products(write_rows(data_dir / "broken.csv", header, broken_rows),
                               data_dir / "data")
    for position, kind in broken_at.items():
        line, rule = rows[position].line, BREAKS[kind][1]
        assert imported.rules.get(line) == rule, (kind, line, imported.rules.get(line))
    skipped = sum(BREAKS[k][1] is None for k in broken_at.values())
    assert imported.result.rows_skipped == clean.result.rows_skipped + skipped
    assert not (set(imported.products.index) - set(clean.products.index))
    untouched = sorted(set(clean.products.index) - touched)
    if untouched:
        pd.testing.assert_frame_equal(imported.products.loc[untouched],
                                      clean.products.loc[untouched])
    stock = sorted(set(clean.stock.index) - touched)
    if stock:
        pd.testing.assert_series_equal(imported.stock.loc[stock], clean.stock.loc[stock])
    touched_lines = {r.line for r in rows if r.sku in touched}
    newly_rejected = set(imported.rules) - set(clean.rules)
    assert newly_rejected <= touched_lines, sorted(newly_rejected - touched_lines)
    assert {line: rule for line, rule in clean.rules.items() if line not in touched_lines} \
        == {line: rule for line, rule in imported.rules.items() if line not in touched_lines}


@st.composite
def exports_with_breaks(draw):
    rows = draw(exports())
    candidates = [i for i, row in enumerate(rows) if row.variant and row.sku]
    if not candidates:
        return rows, {}
    positions = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=3,
                              unique=True))
    return rows, {p: draw(st.sampled_from(sorted(BREAKS))) for p in positions}


@settings(max_examples=40, deadline=None)
@given(exports_with_breaks())
def test_generated_export_broken_rows_change_nothing_else(case):
    rows, broken_at = case
    with tempfile.TemporaryDirectory() as folder:
        clean = import_products(write_rows(Path(folder) / "clean.csv", HEADER, rows),
                                Path(folder) / "clean")
        check_broken_rows_change_nothing_else(rows, clean, broken_at, Path(folder) / "broken")


# --- the real export -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_export(tmp_path_factory):
    """The real store's export as read, what importing it stores, and what importing it
    written again (as the broken copies are written) stores."""
    path = need_realdata("shopify_alphapaw") / "products_export_1.csv"
    header, rows = read_rows(path)
    folder = tmp_path_factory.mktemp("real")
    rewritten = write_rows(folder / "clean.csv", header, rows)
    return header, rows, import_products(path, folder / "original"), \
        import_products(rewritten, folder / "rewritten")


@pytest.mark.realdata
def test_real_export_every_sku_is_a_product_or_a_rejection(real_export):
    """3,399 rows: 609 image-only rows and 501 variants without SKU skipped, 2,152 SKUs."""
    _, rows, imported, rewritten = real_export
    assert (len(rows), sum(r.image_only for r in rows),
            sum(r.variant and not r.sku for r in rows),
            len({r.sku for r in rows if r.variant and r.sku}),
            len({r.get("Handle") for r in rows})) == (3399, 609, 501, 2152, 514)
    check_every_sku_accounted_for(rows, imported)
    check_reused_skus(rows, imported)
    assert len(imported.products) == 2152
    pd.testing.assert_frame_equal(rewritten.products, imported.products)


@pytest.mark.realdata
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_real_export_broken_rows_change_nothing_else(real_export, data):
    header, rows, _, clean = real_export
    candidates = [i for i, row in enumerate(rows) if row.variant and row.sku]
    positions = data.draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=4,
                                   unique=True))
    broken_at = {p: data.draw(st.sampled_from(sorted(BREAKS))) for p in positions}
    with tempfile.TemporaryDirectory() as folder:
        check_broken_rows_change_nothing_else(rows, clean, broken_at, Path(folder) / "broken")
