"""The data contract: declarations, pandera validation, foreign keys, and its document."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest

from opslib.schema import TABLES, contract_markdown, validate_store, validate_table
from opslib.tables import write_table

ROOT = Path(__file__).resolve().parents[1]
DESIGN_TABLES = [
    "customers", "products", "orders", "order_lines", "shipments", "returns",
    "inventory_snapshots", "purchase_orders", "tickets", "web_traffic_daily",
    "product_views_daily", "checkouts", "email_campaigns", "email_list_daily", "social_posts",
    "social_accounts_daily", "ad_spend_daily", "content_calendar", "promotions",
    "bank_transactions", "competitor_prices", "surveys",
]
UTC = dt.timezone.utc


def _customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["c1", "c2"], "email": ["a@example.com", None], "name": ["Ann", "Bo"],
        "phone": [None, None], "city": ["Leeds", "York"], "country": ["GB", "GB"],
        "created_at": pd.to_datetime(["2024-01-01T10:00Z", "2024-01-02T11:00Z"]),
        "has_marketing_consent": [True, False]})


def _orders() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": ["o1", "o2"], "order_number": ["#1001", "#1002"],
        "customer_id": ["c1", None], "email": ["a@example.com", None],
        "created_at": pd.to_datetime(["2024-01-03T10:00Z", "2024-01-03T12:00Z"]),
        "currency": ["GBP", "GBP"], "financial_status": ["paid", "paid"],
        "fulfillment_status": ["fulfilled", "unfulfilled"], "cancelled_at": [pd.NaT, pd.NaT],
        "channel": ["online_store", "online_store"], "source": ["google", None],
        "discount_code": [None, None], "payment_method": ["card", "card"],
        "subtotal": [20.0, 10.0], "discount_amount": [0.0, 0.0], "shipping_amount": [3.0, 3.0],
        "tax_amount": [0.0, 0.0], "total_amount": [23.0, 13.0], "shipping_country": ["GB", "GB"]})


def _frame_roundtrip(tmp_path: Path, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    from opslib.schema import read_for_validation

    return read_for_validation(write_table(tmp_path, name, frame))


def test_every_design_table_is_declared_with_its_fixed_name():
    """DESIGN §3 fixes 22 table names; the contract declares exactly those (none renamed)."""
    assert list(TABLES) == DESIGN_TABLES


def test_design_columns_are_all_present():
    """Spot-check DESIGN §3 key columns: renaming any of them must fail this test."""
    expected = {
        "orders": ["order_id", "order_number", "customer_id", "email", "created_at", "currency",
                   "financial_status", "fulfillment_status", "cancelled_at", "channel",
                   "source", "discount_code", "payment_method", "subtotal", "discount_amount",
                   "shipping_amount", "tax_amount", "total_amount", "shipping_country"],
        "shipments": ["shipment_id", "order_id", "carrier", "service", "tracking_number",
                      "shipped_at", "promised_at", "delivered_at", "status", "shipping_cost",
                      "tracking_sent_at"],
        "surveys": ["response_id", "customer_id", "order_id", "ticket_id", "submitted_at",
                    "kind", "score", "comment"],
    }
    for name, columns in expected.items():
        assert [c for c in TABLES[name].column_names if c in columns] == columns


def test_contract_document_matches_the_code():
    """docs/data-contract.md is rendered from opslib/schema.py; regenerate it with
    `python -m opslib.schema > docs/data-contract.md` when the contract changes."""
    assert (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8") == contract_markdown()


def test_document_lists_every_column_of_every_table():
    """Each table has a section and each column a row in the contract document."""
    text = contract_markdown()
    for table in TABLES.values():
        section = text.split(f"## {table.name}\n", 1)[1].split("\n## ", 1)[0]
        documented = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
        assert documented == table.column_names


def test_valid_tables_pass(tmp_path):
    """Two tiny, correct tables pass, foreign key included."""
    write_table(tmp_path, "customers", _customers())
    write_table(tmp_path, "orders", _orders())
    counts, violations = validate_store(tmp_path)
    assert counts == {"customers": 2, "orders": 2}
    assert violations == []


def test_missing_column_is_named(tmp_path):
    """Dropping a column is reported with table and column."""
    frame = _orders().drop(columns=["currency"])
    violations = validate_table("orders", frame)
    assert [(v.table, v.column) for v in violations] == [("orders", "currency")]
    assert "missing" in violations[0].rule


def test_a_late_column_may_be_missing_but_is_checked_when_present():
    """A column added after stores were written (order_lines.title) is nullable; a frame
    without it passes, one with it is checked like any other column."""
    late = [(t.name, c.name) for t in TABLES.values() for c in t.columns if c.late]
    assert ("order_lines", "title") in late
    assert all(TABLES[t].column(c).nullable for t, c in late)
    lines = pd.DataFrame({
        "order_id": ["o1"], "line_number": pd.array([1], "Int64"), "sku": [None],
        "quantity": pd.array([1], "Int64"), "unit_price": [3.5], "discount_amount": [0.0],
        "created_at": pd.to_datetime(["2024-01-03T10:00Z"])})
    assert validate_table("order_lines", lines) == []
    assert validate_table("order_lines", lines.assign(title=["Gift wrap"])) == []
    wrong = validate_table("order_lines", lines.assign(title=[1.5]))
    assert [(v.column, v.rule.split(":")[0]) for v in wrong] == [("title", "wrong type")]


def test_wrong_type_is_named(tmp_path):
    """A total stored as text is a type violation of orders.total_amount."""
    frame = _frame_roundtrip(tmp_path, "orders", _orders())
    frame["total_amount"] = frame["total_amount"].astype(str)
    violations = validate_table("orders", frame)
    assert [(v.table, v.column) for v in violations] == [("orders", "total_amount")]
    assert "wrong type" in violations[0].rule


def test_duplicate_key_is_reported(tmp_path):
    """Two orders with the same order_id break the key."""
    frame = _frame_roundtrip(tmp_path, "orders", _orders())
    frame.loc[1, "order_id"] = "o1"
    violations = validate_table("orders", frame)
    assert len(violations) == 1
    assert violations[0].table == "orders" and "duplicate key (order_id)" in violations[0].rule
    assert violations[0].failing_rows == 2


def test_orphan_foreign_key_is_reported(tmp_path):
    """An order pointing at an unknown customer names orders.customer_id and the value."""
    orders = _orders()
    orders.loc[0, "customer_id"] = "ghost"
    write_table(tmp_path, "customers", _customers())
    write_table(tmp_path, "orders", orders)
    _, violations = validate_store(tmp_path)
    assert [(v.table, v.column, v.examples) for v in violations] == [
        ("orders", "customer_id", ["ghost"])]


def test_unknown_category_value_is_reported(tmp_path):
    """A financial status outside the allowed list is named with the allowed values."""
    frame = _frame_roundtrip(tmp_path, "orders", _orders())
    frame.loc[0, "financial_status"] = "kinda_paid"
    violations = validate_table("orders", frame)
    assert [(v.table, v.column, v.examples) for v in violations] == [
        ("orders", "financial_status", ["kinda_paid"])]
    assert "allowed" in violations[0].rule and "partially_refunded" in violations[0].rule


def test_empty_required_value_and_negative_money_are_reported(tmp_path):
    """A required column left empty and a negative subtotal are both reported."""
    frame = _frame_roundtrip(tmp_path, "orders", _orders())
    frame.loc[0, "channel"] = None
    frame.loc[1, "subtotal"] = -5.0
    rules = {(v.column, v.rule) for v in validate_table("orders", frame)}
    assert ("channel", "must not be empty") in rules
    assert ("subtotal", "must be ≥ 0") in rules


def test_survey_score_must_fit_its_kind(tmp_path):
    """An NPS of 10 is fine; a CSAT of 7 is not (CSAT is 1–5)."""
    frame = pd.DataFrame({
        "response_id": ["r1", "r2"], "customer_id": [None, None], "order_id": [None, None],
        "ticket_id": [None, None],
        "submitted_at": pd.to_datetime(["2024-01-01T10:00Z", "2024-01-01T11:00Z"]),
        "kind": ["nps", "csat"], "score": [10, 7], "comment": [None, None]})
    violations = validate_table("surveys", _frame_roundtrip(tmp_path, "surveys", frame))
    assert len(violations) == 1 and "range" in violations[0].rule


def test_unreadable_table_is_a_violation_not_a_crash(tmp_path):
    """A corrupt Parquet file is reported against its table."""
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "orders.parquet").write_bytes(b"not parquet at all")
    counts, violations = validate_store(tmp_path)
    assert counts == {}
    assert violations[0].table == "orders" and "unreadable" in violations[0].rule


@pytest.mark.parametrize("name", DESIGN_TABLES)
def test_time_column_and_key_columns_exist(name):
    """Keys, foreign keys and time columns all name declared columns."""
    table = TABLES[name]
    columns = set(table.column_names)
    assert set(table.key) <= columns
    assert all(fk.column in columns and fk.ref in TABLES[fk.table].column_names
               for fk in table.foreign_keys)
    assert table.time_column is None or table.time_column in columns
