"""Shopify admin CSV exports: orders, products, customers and inventory levels.

Orders export (Orders → Export → "All orders" or a date range, "CSV for Excel, Numbers, or
other spreadsheet programs"): one row per line item. Shopify's own export puts the order's
fields (status, totals, discount, shipping, payment) on the order's first row only; some
third-party exporters repeat them on every row. Both are read the same way: each order field
is the first non-empty value among the order's rows, never a sum across rows. The platform's
order id (column `Id`) is the key, so a later, overlapping export updates orders in place.

Decisions (docs/data-sources.md explains them to users):

* customers are keyed by their email in lower case: the orders export carries no customer
  id, and both exports carry the email. An order without an email is a guest order.
* a customer or SKU seen only in orders gets a placeholder row (customers: name, city and
  country from the billing address, created at their first order; products: the line item
  name as title, category "uncategorised", the last price sold). A later customers or
  products import fills them in; placeholders never overwrite richer rows.
* the refund of an order (`Refunded Amount`) becomes one order-level row in returns (no
  SKU: the export has no item detail), booked on the refund date when the export has one
  (a `Refunded at` column), else on the cancellation date, else on the order date, and the
  report says how many were dated which way.
* `Fulfilled at` becomes a shipment (carrier "unknown", service = shipping method): the
  export says nothing of carriers, tracking or delivery.
* amounts must be in the store currency: an order in another currency is rejected
  (`currency_mismatch`), a file entirely in another currency stops with an error.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from opslib.ingest.base import FileImporter, reject_bad, reject_parsed
from opslib.ingest.columns import Want, column_or_empty
from opslib.ingest.engine import LINES, Candidate, Context, below_minimum_rule, lines_by, \
    release_memory, single_lines
from opslib.ingest.parse import clean_text, parse_bool, parse_int, parse_number, \
    parse_timestamp, range_text
from opslib.ingest.readers import LINE, ImportFileError, RawTable, RowsOnDisk
from opslib.ingest.rejects import Rejects
from opslib.schema import TABLES

__all__ = ["ShopifyOrders", "ShopifyProducts", "ShopifyCustomers", "ShopifyInventory",
           "FINANCIAL_STATUS", "FULFILLMENT_STATUS", "channel_of"]

FIELDS_LINE = "__fields_line"  # the line of the row that carries its order's fields
BATCH_ORDERS = 50_000  # orders an orders export is built from at a time
NO_LINES = (np.empty(0, "int64"), np.empty(0, "int64"))  # placeholders: no line is theirs

FINANCIAL_STATUS = {
    "paid": "paid", "pending": "pending", "authorized": "authorized",
    "partially_paid": "partially_paid", "partially_refunded": "partially_refunded",
    "refunded": "refunded", "voided": "voided", "expired": "voided",
    "partially paid": "partially_paid", "partially refunded": "partially_refunded",
}
FULFILLMENT_STATUS = {
    "fulfilled": "fulfilled", "unfulfilled": "unfulfilled", "partial": "partial",
    "partially fulfilled": "partial", "restocked": "unfulfilled", "scheduled": "unfulfilled",
    "on_hold": "unfulfilled", "on hold": "unfulfilled", "in progress": "unfulfilled",
}
_CHANNELS = {"web": "online_store", "online store": "online_store", "pos": "pos",
             "shopify_draft_order": "draft_order", "iphone": "mobile_app",
             "android": "mobile_app", "buy_button": "buy_button"}


def channel_of(source: pd.Series) -> pd.Series:
    """Shopify's `Source` column as a sales channel.

    >>> channel_of(pd.Series(["web", "pos", "3525187", None])).tolist()
    ['online_store', 'pos', '3525187', 'unknown']
    """
    values = [None if pd.isna(v) else str(v).strip().lower() for v in source]
    return pd.Series(["unknown" if not v else _CHANNELS.get(v, v) for v in values],
                     index=source.index, dtype="object")


def _raw(frame: pd.DataFrame, columns: dict[str, str], field: str) -> pd.Series:
    """A field's text, decoded from the dictionary it may be read into."""
    return column_or_empty(frame, columns, field).astype("str")


def _first_per(values: pd.Series, group: pd.Series) -> pd.Series:
    """Each row gets its group's first non-empty value (order fields on the first row)."""
    return values.groupby(group, sort=False).transform("first")


class ShopifyOrders(FileImporter):
    """Shopify orders export → orders, order_lines, returns, shipments (+ placeholders)."""

    source = "shopify-orders"
    what = "Shopify orders export"
    dictionary = True  # order fields, empty on most rows, and line fields repeat few values
    spec = {
        "number": Want(("Name", "Order Number")),
        "id": Want(("Id", "ID", "Order ID")),
        "email": Want(("Email",), False),
        "financial_status": Want(("Financial Status",)),
        "fulfillment_status": Want(("Fulfillment Status",), False),
        "fulfilled_at": Want(("Fulfilled at",), False),
        "accepts_marketing": Want(("Accepts Marketing", "Accepts Email Marketing"), False),
        "currency": Want(("Currency",)),
        "shipping": Want(("Shipping",)),
        "taxes": Want(("Taxes",)),
        "total": Want(("Total",)),
        "discount_code": Want(("Discount Code",), False),
        "discount_amount": Want(("Discount Amount",)),
        "shipping_method": Want(("Shipping Method",), False),
        "created_at": Want(("Created at",)),
        "quantity": Want(("Lineitem quantity",)),
        "line_name": Want(("Lineitem name",), False),
        "price": Want(("Lineitem price",)),
        "sku": Want(("Lineitem sku",), False),
        "line_discount": Want(("Lineitem discount",), False),
        "billing_name": Want(("Billing Name",), False),
        "billing_city": Want(("Billing City",), False),
        "billing_country": Want(("Billing Country",), False),
        "shipping_country": Want(("Shipping Country",), False),
        "cancelled_at": Want(("Cancelled at",), False),
        "payment_method": Want(("Payment Method",), False),
        "refunded_amount": Want(("Refunded Amount",), False),
        "refunded_at": Want(("Refunded at", "Refund Date", "Refund: Created At",
                             "Refunded At"), False),
        "vendor": Want(("Vendor",), False),
        "channel": Want(("Source",), False),
        "utm_source": Want(("Referring Site", "UTM Source", "Landing Site Ref"), False),
    }

    def prepare(self, frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
        """Note, on each row, the line of its order's first row with an Id (the row that
        carries the order's fields), so a rejected first row can be named."""
        number = clean_text(_raw(frame, columns, "number"))
        with_id = frame[LINE].where(clean_text(_raw(frame, columns, "id")).notna())
        return frame.assign(**{  # the text columns are shared, not copied
            FIELDS_LINE: with_id.groupby(number, sort=False).transform("first")})

    batch_orders = BATCH_ORDERS  # orders built at a time

    def read(self, path, columns: dict[str, str], digest: str, ctx: Context,
             rejects: Rejects) -> tuple[RawTable, list[str]]:
        """The rows as text; during an import they wait in an Arrow file on disk, mapped
        back into memory only while `build` builds the batches."""
        raw, notes = super().read(path, columns, digest, ctx, rejects)
        if self.aside_folder is not None:
            raw.lines = raw.line_numbers()
            rows = RowsOnDisk(self.aside_folder / "rows.arrow")
            table = pa.Table.from_pandas(raw.frame, preserve_index=False)
            with pa.OSFile(str(rows.path), "wb") as sink, \
                    pa.ipc.new_stream(sink, table.schema) as writer:
                writer.write_table(table)
            raw.frame = rows
        return raw, notes

    def build(self, frame: pd.DataFrame | RowsOnDisk, columns: dict[str, str], ctx: Context,
              rejects: Rejects) -> list[Candidate]:
        """Build `batch_orders` orders at a time (every row of an order in the same batch,
        so an order is still kept or rejected whole), then put the batches together: the
        same rows, in the same order, as building them all at once, with far less held
        at once (during an import, a batch's tables wait on disk, and so do the rows read
        once every batch is built)."""
        mapped = None
        if isinstance(frame, RowsOnDisk):  # whole rows are read batch by batch from disk
            mapped = _MappedRows(frame)
            frame = mapped.columns([columns.get(f, "") for f in ("number", "id", "currency")])
        number = clean_text(_raw(frame, columns, "number"), strip_apostrophe=True)
        missing_number = number.isna()
        rejects.add(frame.loc[missing_number, LINE], column=columns["number"], raw=None,
                    rule="missing_value", message=f"'{columns['number']}' (the order number) "
                    "is empty; every line item row must name its order")
        codes = pd.factorize(number)[0]
        del number
        self._one_currency(frame, columns, ctx, codes)
        batch = self._batch_keys(frame, columns, codes)
        parts = []
        for start in range(0, max(int(batch.max(initial=-1)) + 1, 1), self.batch_orders):
            rows = frame[(batch >= start) & (batch < start + self.batch_orders)]
            if mapped is not None:
                rows = mapped.rows(rows.index)
            parts.append(self._put_aside(self._build_part(rows, columns, ctx, rejects),
                                         len(parts)))
            del rows
            release_memory()  # what the batch needed only for a while
        del frame, batch, mapped
        release_memory()  # the rows read: only the batches' tables are needed now
        return self._joined(parts, columns, ctx)

    _LARGE_PARTS = ("orders", "order_lines", "returns", "shipments")

    def _put_aside(self, part: dict[str, object], number: int) -> dict[str, object]:
        """During an import, a batch's large tables wait on disk (Parquet) for the others."""
        if self.aside_folder is not None:
            for name in self._LARGE_PARTS:
                path = self.aside_folder / f"part-{number}-{name}.parquet"
                part[name].to_parquet(path, index=False)
                part[name] = path
        return part

    @staticmethod
    def _batch_keys(frame: pd.DataFrame, columns: dict[str, str],
                    codes: np.ndarray) -> np.ndarray:
        """Per row, its order's place among the orders (-1: no order number), counting
        orders that give the same platform id as one: their rows are built together (an
        id repeated by two orders makes one group, whose key clash must be seen whole)."""
        has = codes >= 0
        ids = clean_text(_raw(frame, columns, "id"), strip_apostrophe=True)
        first_id = ids[has].groupby(codes[has]).first() \
            .reindex(range(int(codes.max(initial=-1)) + 1))
        no_id = first_id.isna()
        key = first_id.astype("object").where(~no_id, "\0" + no_id.index.astype(str))
        keys = np.full(len(codes), -1, dtype="int64")
        keys[has] = pd.factorize(key.to_numpy()[codes[has]])[0]
        return keys

    def _one_currency(self, frame: pd.DataFrame, columns: dict[str, str], ctx: Context,
                      codes: np.ndarray) -> None:
        """Stop when the file has currencies but no order in the store's (each order's
        currency: the first one its rows give)."""
        currency = clean_text(_raw(frame, columns, "currency"), strip_apostrophe=True)
        has = codes >= 0
        currency = currency[has].groupby(codes[has]).first().str.upper()
        store_currency = ctx.settings.store.currency
        if currency.notna().any() and not (currency == store_currency).any():
            found = ", ".join(sorted(currency.dropna().unique()))
            raise ImportFileError(
                f"{self.what} '{ctx.file}': every order is in {found}, but the store "
                f"currency is {store_currency}", file=ctx.file, column=columns["currency"],
                fix=f"Set [store] currency = \"{found.split(',')[0]}\" in playbook.toml if "
                    "that is your shop's currency, then import again.")

    def _build_part(self, frame: pd.DataFrame, columns: dict[str, str], ctx: Context,
                    rejects: Rejects) -> dict[str, object]:
        """The tables of the orders whose every row is in `frame` (all with a number)."""
        def raw(field: str) -> pd.Series:
            return _raw(frame, columns, field)

        def text(field: str) -> pd.Series:
            return clean_text(raw(field), strip_apostrophe=True)

        zone = ctx.settings.store.timezone
        number = text("number")
        ok = pd.Series(True, index=frame.index)

        # Order fields are read once per order (its first non-empty value), not per row:
        # `codes` gives each row its order (-1: no number) and `of_rows` spreads an order
        # value or mask to the rows.
        codes = pd.factorize(number)[0]
        has = codes >= 0
        count = int(codes.max()) + 1 if len(codes) else 0

        def order_text(field: str) -> pd.Series:
            values = text(field)
            return values[has].groupby(codes[has]).first().reindex(range(count))

        def of_rows(mask: np.ndarray | pd.Series) -> pd.Series:
            return pd.Series(np.asarray(mask, dtype=bool)[codes] & has, index=frame.index)

        order_id = order_text("id")
        fields = {name: order_text(name) for name in (
            "email", "financial_status", "fulfillment_status", "fulfilled_at", "currency",
            "shipping", "taxes", "total", "discount_code", "discount_amount",
            "shipping_method", "cancelled_at", "payment_method", "refunded_amount",
            "refunded_at", "billing_name", "billing_city", "billing_country",
            "shipping_country", "accepts_marketing", "channel", "utm_source")}
        created_raw = order_text("created_at")
        first_line = frame[LINE][has].groupby(codes[has]).first().reindex(range(count))

        def reject_orders(bad: pd.Series, column: str | None, shown: pd.Series, rule: str,
                          message: Callable[[str, str, int, int], str]) -> None:
            """Reject every row of the orders marked in `bad` (order grain); `message`
            gets the order number, the value shown, the order's first line and its code."""
            rows = of_rows(bad)
            at = codes[rows.to_numpy()]
            values = shown.iloc[at]
            rejects.add(frame.loc[rows, LINE], column=column, raw=values, rule=rule,
                        message=[message(n, v, f, c) for n, v, f, c in zip(
                            number[rows], values, first_line.iloc[at], at)])

        # Line values first, so that a row names its own defect even when its order is
        # rejected too; a bad one rejects that row only.
        quantity = parse_int(raw("quantity"))
        price = parse_number(raw("price"))
        line_discount = parse_number(raw("line_discount"))
        for field, parsed, expected, rule in (
                ("quantity", quantity, "a whole number", "not_a_whole_number"),
                ("price", price, "an amount", "not_a_number"),
                ("line_discount", line_discount, "an amount", "not_a_number")):
            reject_parsed(rejects, frame, parsed, ok, column=columns[field],
                          raw=raw(field), rule=rule, expected=expected)
        line_bad = quantity.bad | price.bad | line_discount.bad
        for field, parsed in (("quantity", quantity), ("price", price)):
            empty = ok & ~line_bad & parsed.values.isna()
            rejects.add(frame.loc[empty, LINE], column=columns[field], raw=None,
                        rule="missing_value", message=f"'{columns[field]}' is empty; every "
                        "line item row needs one. Fill it in the export.")
            line_bad = line_bad | empty
        contract = {c.name: c for c in TABLES["order_lines"].columns}
        for field, parsed, name in (("quantity", quantity, "quantity"),
                                    ("price", price, "unit_price"),
                                    ("line_discount", line_discount, "discount_amount")):
            column = contract[name]
            below = ok & ~line_bad & (parsed.values < column.min).fillna(False)
            if below.any():
                rule, hint = below_minimum_rule(name, column.type, column.min)
                rejects.add(frame.loc[below, LINE], column=columns[field],
                            raw=raw(field)[below], rule=rule,
                            message=[f"{columns[field]} = {v} {hint}"
                                     for v in raw(field)[below]])
                line_bad = line_bad | below

        # Parse order-level values; a bad one rejects every row of its order.
        order_bad = pd.Series(False, index=range(count))

        def order_value(field: str, parsed, expected: str, rule: str) -> pd.Series:
            nonlocal order_bad
            bad = parsed.bad & ~order_bad
            if bad.any():
                header = columns.get(field, field)
                shown = fields[field] if field in fields else created_raw
                over = bad & parsed.out_of_range if parsed.out_of_range is not None else \
                    pd.Series(False, index=bad.index)
                for mask, wanted, why in (
                        (over, f"within the accepted range {range_text(parsed.limit or 0)}",
                         "out_of_range"), (bad & ~over, expected, rule)):
                    if mask.any():
                        reject_orders(mask, header, shown, why, lambda n, v, f, c, w=wanted: (
                            f"order {n}: '{header}' = '{v}' (line {f}) is not {w}; the "
                            "whole order is kept out"))
                order_bad |= bad
            return parsed.values

        created_at = order_value("created_at", parse_timestamp(
            created_raw, order="year-first", zone=zone), "a date and time", "not_a_date")
        fulfilled_at = order_value("fulfilled_at", parse_timestamp(
            fields["fulfilled_at"], order="year-first", zone=zone), "a date and time",
            "not_a_date")
        cancelled_at = order_value("cancelled_at", parse_timestamp(
            fields["cancelled_at"], order="year-first", zone=zone), "a date and time",
            "not_a_date")
        refunded_at = order_value("refunded_at", parse_timestamp(
            fields["refunded_at"], order="year-first", zone=zone), "a date and time",
            "not_a_date")
        money = {}
        for field in ("shipping", "taxes", "total", "discount_amount", "refunded_amount"):
            money[field] = order_value(field, parse_number(fields[field]), "an amount",
                                       "not_a_number")


        # Rules across values.
        currency = fields["currency"].str.upper()
        store_currency = ctx.settings.store.currency
        foreign = ~order_bad & currency.notna() & (currency != store_currency)
        reject_orders(foreign, columns["currency"], currency, "currency_mismatch",
                      lambda n, c, f, _: f"order {n} is in {c}, the store currency is "
                      f"{store_currency}; amounts in two currencies cannot be added up. "
                      "Convert the order or set the store currency.")
        order_bad |= foreign
        early = ~order_bad & fulfilled_at.notna() & created_at.notna() & \
            (fulfilled_at < created_at)
        reject_orders(early, columns.get("fulfilled_at"), fields["fulfilled_at"],
                      "ship_before_order", lambda n, f, _, c: (
                          f"order {n} was fulfilled ({f}) before it was placed "
                          f"({created_raw.iloc[c]}); fix the dates in Shopify or leave the "
                          "order out"))
        order_bad |= early
        missing_id = ~order_bad & order_id.isna()
        if FIELDS_LINE in frame:
            fields_line = frame[FIELDS_LINE]
            lost_rows = of_rows(missing_id) & fields_line.isin(rejects.lines)
            if lost_rows.any():
                rule_of = rejects.frame().set_index("line")["rule"]
                rejects.add(frame.loc[lost_rows, LINE], column=columns["id"], raw=None,
                            rule="incomplete_order", message=[
                                f"order {n}: its first row (line {f:.0f}, which carries the "
                                f"order's fields) is rejected ({rule_of[int(f)]}), so its other "
                                f"rows cannot be loaded; fix line {f:.0f} and import again"
                                for n, f in zip(number[lost_rows], fields_line[lost_rows])])
                lost = pd.Series(False, index=range(count))
                lost.iloc[np.unique(codes[lost_rows.to_numpy()])] = True
                order_bad |= lost
                missing_id &= ~lost
        missing_rows = of_rows(missing_id)
        rejects.add(frame.loc[missing_rows, LINE], column=columns["id"], raw=None,
                    rule="missing_value", message=[
                        f"order {n} has no '{columns['id']}' (the platform order id, the key "
                        "that lets a later export update it); export with the Id column"
                        for n in number[missing_rows]])
        order_bad |= missing_id

        keep = (ok & ~of_rows(order_bad) & ~line_bad).to_numpy()
        kept = codes[keep]  # the order of each kept row

        def per_row(values: pd.Series) -> pd.Series:
            return values.iloc[kept].reset_index(drop=True)

        rows = pd.DataFrame({
            LINE: frame[LINE][keep].to_numpy(), "order_id": per_row(order_id),
            "number": number[keep].reset_index(drop=True), "created_at": per_row(created_at),
            "quantity": quantity.values[keep].reset_index(drop=True),
            "price": price.values[keep].reset_index(drop=True),
            "line_discount": line_discount.values[keep].fillna(0.0).reset_index(drop=True),
            **{name: text(name)[keep].reset_index(drop=True)
               for name in ("sku", "line_name", "vendor")},
        })
        rows["position"] = rows.groupby("number", sort=False).cumcount() + 1
        # An order's rows are one group named by its first kept line (`members`).
        rows["group"] = rows.groupby("order_id", sort=False)[LINE].transform("first")
        by_group = np.argsort(rows["group"].to_numpy(), kind="stable")
        members = (rows["group"].to_numpy()[by_group], rows[LINE].to_numpy()[by_group])
        # One row per order: the order fields of each order with a kept row.
        first_of_order = ~rows["order_id"].duplicated()
        chosen = kept[first_of_order.to_numpy()]
        first = pd.DataFrame({name: values.iloc[chosen].reset_index(drop=True)
                              for name, values in {
            "order_id": order_id, "created_at": created_at, "fulfilled_at": fulfilled_at,
            "cancelled_at": cancelled_at, "refunded_at": refunded_at,
            **{f: fields[f] for f in (
                "email", "financial_status", "fulfillment_status", "currency",
                "discount_code", "shipping_method", "payment_method", "billing_name",
                "billing_city", "billing_country", "shipping_country", "accepts_marketing",
                "channel", "utm_source")},
            **money,
        }.items()})
        first.insert(1, "number", rows["number"][first_of_order].to_numpy())
        first[LINES] = rows["group"][first_of_order].to_numpy()
        fields.clear()  # the order fields are no longer needed: free them now
        money.clear()

        lines = pd.DataFrame({
            "order_id": rows["order_id"], "line_number": rows["position"],
            "sku": rows["sku"], "quantity": rows["quantity"], "unit_price": rows["price"],
            "discount_amount": rows["line_discount"], "created_at": rows["created_at"],
            "title": rows["line_name"], LINES: rows[LINE],
        })
        gross = (rows["quantity"].astype("float64") * rows["price"]).groupby(
            rows["order_id"], sort=False).sum()
        first = first.set_index("order_id", drop=False)
        email = first["email"].str.lower()
        orders = pd.DataFrame({
            "order_id": first["order_id"], "order_number": first["number"],
            "customer_id": email, "email": first["email"], "created_at": first["created_at"],
            "currency": first["currency"].str.upper(),
            "financial_status": first["financial_status"].str.lower().map(
                lambda v: FINANCIAL_STATUS.get(v, v)),
            "fulfillment_status": first["fulfillment_status"].fillna("unfulfilled")
                .str.lower().map(lambda v: FULFILLMENT_STATUS.get(v, v)),
            "cancelled_at": first["cancelled_at"], "channel": channel_of(first["channel"]),
            "source": first["utm_source"], "discount_code": first["discount_code"],
            "payment_method": first["payment_method"],
            "subtotal": gross.reindex(first.index).fillna(0.0),
            "discount_amount": first["discount_amount"].fillna(0.0),
            "shipping_amount": first["shipping"].fillna(0.0),
            "tax_amount": first["taxes"].fillna(0.0),
            "total_amount": first["total"].fillna(0.0),
            "shipping_country": first["shipping_country"].fillna(first["billing_country"]),
            LINES: first[LINES],
        }).reset_index(drop=True)
        return {
            "orders": orders, "order_lines": lines.reset_index(drop=True),
            "returns": self._refunds(first, orders, ctx),
            "shipments": self._shipments(first, orders), "members": members,
            "buyers": _deciding_buyers(first),
            "sold": _deciding_sales(rows), "no_sku": int(rows["sku"].isna().sum()),
            "refunds": first.loc[first["refunded_amount"].fillna(0) > 0, [
                LINES, "refunded_amount", "refunded_at", "cancelled_at"]]
            .reset_index(drop=True),
        }

    def _joined(self, parts: list[dict[str, object]], columns: dict[str, str],
                ctx: Context) -> list[Candidate]:
        """The candidates of all batches: each table's rows in the order one build of the
        whole file gives (orders by their first line, lines by line)."""
        def joined(name: str, by: str = LINES) -> pd.DataFrame:
            frames = [pd.read_parquet(frame) if isinstance(frame, Path) else frame
                      for frame in (part.pop(name) for part in parts)]
            frames = [f for f in frames if len(f)] or frames[:1]  # empty ones add no type
            frame = pd.concat(frames, ignore_index=True)
            del frames
            if frame[by].is_monotonic_increasing:  # orders one after the other in the file
                return frame
            return frame.sort_values(by, kind="stable", ignore_index=True)

        groups = np.concatenate([part["members"][0] for part in parts])
        lines = np.concatenate([part.pop("members")[1] for part in parts])
        order = np.argsort(groups, kind="stable")
        members = (groups[order], lines[order])
        del groups, lines, order
        origin = {"order_id": columns["id"], "order_number": columns["number"],
                  "financial_status": columns["financial_status"],
                  "currency": columns["currency"], "created_at": columns["created_at"],
                  "total_amount": columns["total"], "subtotal": columns["price"],
                  "discount_amount": columns["discount_amount"],
                  "shipping_amount": columns["shipping"], "tax_amount": columns["taxes"],
                  "quantity": columns["quantity"], "unit_price": columns["price"],
                  "sku": columns.get("sku", "Lineitem sku"),
                  "title": columns.get("line_name", "Lineitem name"),
                  "fulfillment_status": columns.get("fulfillment_status",
                                                    "Fulfillment Status")}
        sold = joined("sold", LINE)
        refunds = joined("refunds")
        self._notes(ctx, sum(part.pop("no_sku") for part in parts), refunds)
        made: list[Candidate] = []

        def keep(candidate: Candidate) -> None:
            """Keep a table that has rows (orders and lines always); during an import it
            waits on disk while the next is put together."""
            if candidate.table in ("orders", "order_lines") or len(candidate.frame):
                if self.aside_folder is not None:
                    candidate.put_aside(self.aside_folder /
                                        f"table-{candidate.table}.parquet")
                made.append(candidate)

        keep(Candidate("orders", joined("orders"), origin=origin, members=members))
        keep(Candidate("order_lines", joined("order_lines"), merge="replace_orders",
                       origin=origin))
        keep(Candidate("returns", joined("returns"), origin={
            "refund_amount": columns.get("refunded_amount", "Refunded Amount")},
            members=members))
        keep(Candidate("shipments", joined("shipments"), members=members))
        keep(Candidate("customers", self._customers(joined("buyers")), merge="insert_missing",
                       primary=False, earliest=("created_at",), members=NO_LINES))
        keep(Candidate("products", _placeholder_products(sold), merge="insert_missing",
                       primary=False, members=NO_LINES))
        return made

    @staticmethod
    def _refunds(first: pd.DataFrame, orders: pd.DataFrame, ctx: Context) -> pd.DataFrame:
        refunded = first.loc[first["refunded_amount"].fillna(0) > 0, [
            "order_id", "refunded_at", "cancelled_at", "created_at", "refunded_amount"]]
        when = refunded["refunded_at"].fillna(refunded["cancelled_at"]).fillna(
            refunded["created_at"])
        lines = orders.set_index("order_id")[LINES]
        return pd.DataFrame({
            "return_id": refunded["order_id"] + "-refund", "order_id": refunded["order_id"],
            "sku": None, "quantity": pd.array([pd.NA] * len(refunded), dtype="Int64"),
            "reason": "other", "requested_at": when, "received_at": pd.NaT,
            "refunded_at": when, "refund_amount": refunded["refunded_amount"],
            "resolution": "refund", "status": "refunded",
            LINES: lines.reindex(refunded["order_id"]).to_numpy(),
        }).reset_index(drop=True)

    @staticmethod
    def _shipments(first: pd.DataFrame, orders: pd.DataFrame) -> pd.DataFrame:
        shipped = first.loc[first["fulfilled_at"].notna(),
                            ["order_id", "shipping_method", "fulfilled_at"]]
        lines = orders.set_index("order_id")[LINES]
        return pd.DataFrame({
            "shipment_id": shipped["order_id"] + "-f1", "order_id": shipped["order_id"],
            "carrier": "unknown",
            "service": shipped["shipping_method"].fillna("standard"),
            "tracking_number": None, "shipped_at": shipped["fulfilled_at"],
            "promised_at": pd.NaT, "delivered_at": pd.NaT, "status": "in_transit",
            "shipping_cost": np.nan, "tracking_sent_at": pd.NaT,
            LINES: lines.reindex(shipped["order_id"]).to_numpy(),
        }).reset_index(drop=True)

    @staticmethod
    def _customers(first: pd.DataFrame) -> pd.DataFrame:
        known = first.loc[first["email"].notna(), [
            "email", "billing_name", "billing_city", "billing_country", "created_at",
            "accepts_marketing"]]
        known["customer_id"] = known["email"].str.lower()
        known = known.sort_values("created_at", kind="stable")
        grouped = known.groupby("customer_id", sort=False)
        firsts = grouped.first()
        consent = parse_bool(firsts["accepts_marketing"].fillna("no")).values.fillna(False)
        return pd.DataFrame({
            "customer_id": firsts.index, "email": firsts["email"].to_numpy(),
            "name": firsts["billing_name"].to_numpy(), "phone": None,
            "city": firsts["billing_city"].to_numpy(),
            "country": firsts["billing_country"].str.upper().to_numpy(),
            "created_at": grouped["created_at"].min().to_numpy(),
            "has_marketing_consent": consent.to_numpy(),
            LINES: np.arange(len(firsts)),  # rows of no line of their own: see NO_LINES
        })

    @staticmethod
    def _notes(ctx: Context, no_sku: int, first: pd.DataFrame) -> None:
        refunded = first[first["refunded_amount"].fillna(0) > 0]  # (only those, in batches)
        if len(refunded):
            dated = int(refunded["refunded_at"].notna().sum())
            by_cancel = int((refunded["refunded_at"].isna()
                             & refunded["cancelled_at"].notna()).sum())
            by_order = len(refunded) - dated - by_cancel
            ctx.notes.append(
                f"{len(refunded):,} refunded order(s) → returns: {dated:,} on their refund "
                f"date, {by_cancel:,} on their cancellation date and {by_order:,} on their "
                "order date (the export has no refund date for them)")
        if no_sku:
            ctx.notes.append(f"{no_sku:,} line item(s) have no SKU: kept with an empty sku "
                             "(give the variants SKUs in Shopify to see them per product)")


class _MappedRows:
    """Rows kept in an Arrow file, mapped into memory rather than read (text columns as
    the reading gave them: Arrow dictionaries), but those left out since. A batch's rows
    are copied out and the mapped pages handed back, so the file is never resident whole
    (an export lists an order's rows together: a batch's rows lie side by side)."""

    def __init__(self, rows: RowsOnDisk) -> None:
        with open(rows.path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        table = pa.ipc.open_stream(pa.BufferReader(pa.py_buffer(self._map))).read_all()
        self._frame = table.to_pandas(types_mapper=lambda kind: pd.ArrowDtype(kind)
                                      if pa.types.is_dictionary(kind) else None)
        lines = self._frame[LINE].to_numpy(dtype="int64")
        self._kept = ~np.isin(lines, rows.without) if len(rows.without) else None

    def columns(self, names: list[str]) -> pd.DataFrame:
        """`__line` and the named columns of the rows kept (index: place in the file)."""
        frame = self._frame[[LINE, *(n for n in names if n in self._frame)]]
        return frame if self._kept is None else frame[self._kept]

    def rows(self, places: pd.Index) -> pd.DataFrame:
        """Every column of the rows at `places` (copied out of the mapped file)."""
        rows = self._frame.take(np.asarray(places, dtype="int64"))
        if hasattr(mmap, "MADV_DONTNEED"):  # pages are read from the file again if needed
            self._map.madvise(mmap.MADV_DONTNEED)
        return rows


def _deciding_buyers(first: pd.DataFrame) -> pd.DataFrame:
    """The order rows `_customers` can take a value from: per customer, the earliest order
    and the earliest with each value (a batch keeps only these, as `_deciding_sales`)."""
    known = first.loc[first["email"].notna(), [
        LINES, "email", "billing_name", "billing_city", "billing_country", "created_at",
        "accepts_marketing"]].sort_values("created_at", kind="stable")
    keys = known["email"].str.lower()
    keep = ~keys.duplicated()
    for column in ("billing_name", "billing_city", "billing_country", "accepts_marketing"):
        given = known[column].notna()
        keep |= given & ~keys.where(given).duplicated()
    return known[keep].sort_values(LINES, ignore_index=True)


def _deciding_sales(rows: pd.DataFrame) -> pd.DataFrame:
    """The line rows `_placeholder_products` can take a value from: per SKU, its earliest
    line (which places the SKU) and the latest with each value. A batch keeps only these;
    the products of all batches' kept rows are those of all the rows."""
    sold = rows.loc[rows["sku"].notna(), [LINE, "sku", "line_name", "vendor", "price",
                                          "created_at"]].sort_values("created_at", kind="stable")
    keys = sold["sku"]
    keep = ~keys.duplicated()
    for column in ("line_name", "vendor", "price"):
        given = sold[column].notna()
        keep |= given & ~keys.where(given).duplicated(keep="last")
    return sold[keep].sort_values(LINE, ignore_index=True)


def _placeholder_products(rows: pd.DataFrame) -> pd.DataFrame:
    """A product row for every SKU sold, from the latest line that sold it."""
    sold = rows[rows["sku"].notna()].sort_values("created_at", kind="stable")
    latest = sold.groupby("sku", sort=False).last()
    title = latest["line_name"].fillna(pd.Series(latest.index, index=latest.index))
    return pd.DataFrame({
        "sku": latest.index, "product_id": title.str.split(" - ").str[0].to_numpy(),
        "title": title.to_numpy(), "category": "uncategorised",
        "vendor": latest["vendor"].to_numpy(), "price": latest["price"].to_numpy(),
        "unit_cost": np.nan, "status": "active", "supplier": None,
        "lead_time_days": pd.array([pd.NA] * len(latest), dtype="Int64"),
        "has_description": False, "image_count": 0,
        LINES: np.arange(len(latest)),  # rows of no line of their own: see NO_LINES
    })


class ShopifyCustomers(FileImporter):
    """Shopify customers export → customers (keyed by email, like the orders)."""

    source = "shopify-customers"
    what = "Shopify customers export"
    spec = {
        "email": Want(("Email",)),
        "customer_id": Want(("Customer ID", "ID", "Id"), False),
        "first_name": Want(("First Name",), False),
        "last_name": Want(("Last Name",), False),
        "consent": Want(("Accepts Email Marketing", "Accepts Marketing"), False),
        "city": Want(("City", "Default Address City"), False),
        "country": Want(("Country Code", "Default Address Country Code"), False),
        "phone": Want(("Phone", "Default Address Phone"), False),
        "created_at": Want(("Created at", "Customer Since", "Created At"), False),
    }

    def build(self, frame: pd.DataFrame, columns: dict[str, str], ctx: Context,
              rejects: Rejects) -> list[Candidate]:
        def text(field: str, **kw) -> pd.Series:
            return clean_text(column_or_empty(frame, columns, field), **kw)

        email = text("email")
        platform_id = text("customer_id")
        key = email.str.lower().fillna("id:" + platform_id)
        missing = key.isna()
        rejects.add(frame.loc[missing, LINE], column=columns["email"], raw=None,
                    rule="missing_value", message="the customer has no email (and no "
                    "customer id): it cannot be linked to orders. Add an email in Shopify")
        created = parse_timestamp(text("created_at").fillna(""), order="year-first",
                                  zone=ctx.settings.store.timezone)
        reject_bad(rejects, frame, created.bad & ~missing, column=columns.get("created_at", ""),
                   raw=column_or_empty(frame, columns, "created_at"), rule="not_a_date",
                   expected="a date and time")
        keep = ~missing & ~created.bad
        name = (text("first_name").fillna("") + " " + text("last_name").fillna("")).str.strip()
        consent = parse_bool(text("consent").fillna("no"))
        unreadable = consent.bad & keep
        if unreadable.any():
            seen = sorted(text("consent")[unreadable].unique())
            ctx.notes.append(
                f"{int(unreadable.sum()):,} customer(s) whose '{columns['consent']}' is not "
                f"yes or no ({_named(seen, 5)}) loaded as not consenting to marketing, the "
                "safe reading; correct the value in Shopify to change it")
        out = pd.DataFrame({
            "customer_id": key, "email": email, "name": name.where(name != "", None),
            "phone": text("phone", strip_apostrophe=True), "city": text("city"),
            "country": text("country").str.upper(), "created_at": created.values,
            "has_marketing_consent": consent.values.fillna(False),
            LINES: frame[LINE].pipe(single_lines),
        })[keep]
        out["created_at"] = self._creation_dates(out, ctx)
        return [Candidate("customers", out.reset_index(drop=True),
                          origin={"customer_id": columns["email"]})]

    @staticmethod
    def _creation_dates(out: pd.DataFrame, ctx: Context) -> pd.Series:
        """The export's date if any, else the stored one (first order), else today."""
        created = out["created_at"].copy()
        stored = ctx.existing("customers")
        if stored is not None:
            known = stored.set_index("customer_id")["created_at"]
            created = created.fillna(out["customer_id"].map(known))
        orders = ctx.existing("orders")
        if orders is not None:
            first = orders.dropna(subset=["customer_id"]).groupby("customer_id")[
                "created_at"].min()
            created = created.fillna(out["customer_id"].map(first))
        undated = int(created.isna().sum())
        if undated:
            ctx.notes.append(f"{undated:,} customer(s) with no creation date and no order "
                             f"yet: dated {ctx.today} (the day of this import)")
        start = pd.Timestamp(ctx.today).tz_localize(ctx.settings.store.timezone) \
            .tz_convert("UTC")
        return pd.to_datetime(created.fillna(start), utc=True)


_PRODUCT = "__product_"  # + field: a product's value (from its first row) on all its rows
_PRODUCT_FIELDS = ("title", "body", "vendor", "type", "category", "status")
_IMAGES = "__images"  # a product's number of distinct images, on all its rows
SKIPPED_IMAGE_ONLY = "image-only rows"
SKIPPED_NO_SKU = "variants without SKU"


def _named(values, limit: int = 10) -> str:
    """'a, b, c' or 'a, b, c and 7 more' for report notes."""
    values = list(values)
    shown = ", ".join(f"'{v}'" for v in values[:limit])
    return shown + (f" and {len(values) - limit:,} more" if len(values) > limit else "")


def _money(value: float) -> str:
    return "empty" if pd.isna(value) else f"{value:.2f}"


class ShopifyProducts(FileImporter):
    """Shopify products export → products (one row per SKU) and today's stock.

    One row per variant, plus image-only rows (Handle and Image Src only) that are skipped
    and counted in their product's `image_count`. A product's fields (title, vendor, type,
    status, description) are on its first row: they are spread over its rows from the whole
    file, so a rejected variant never changes its product's other variants. Stores reuse one
    SKU on several variants: those that agree on price and cost are one product; a variant
    whose price or cost differs from the SKU's first variant is rejected (`conflicting_sku`)
    and named in the report. Variants without a SKU are skipped and counted apart (orders
    sell them with a blank SKU).
    """

    source = "shopify-products"
    what = "Shopify products export"
    spec = {
        "handle": Want(("Handle",)),
        "title": Want(("Title",), False),
        "body": Want(("Body (HTML)", "Body HTML"), False),
        "vendor": Want(("Vendor",), False),
        "type": Want(("Type",), False),
        "category": Want(("Product Category",), False),
        "sku": Want(("Variant SKU",)),
        "price": Want(("Variant Price",)),
        "cost": Want(("Cost per item", "Variant Cost"), False),
        "stock": Want(("Variant Inventory Qty",), False),
        "image": Want(("Image Src",), False),
        "status": Want(("Status",), False),
        "option1": Want(("Option1 Value",), False),
        "option2": Want(("Option2 Value",), False),
        "option3": Want(("Option3 Value",), False),
    }

    def prepare(self, frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
        # SKUs whose variants disagree, kept across the engine's rounds: later rounds no
        # longer see the rejected variants, yet the report names them.
        self._conflicting: dict[str, None] = {}
        handle = clean_text(frame[columns["handle"]])
        out = frame.copy()
        for name in _PRODUCT_FIELDS:
            out[_PRODUCT + name] = _first_per(clean_text(column_or_empty(frame, columns, name)),
                                              handle)
        out[_IMAGES] = clean_text(column_or_empty(frame, columns, "image")).groupby(
            handle, sort=False).transform("nunique")
        return out

    def build(self, frame: pd.DataFrame, columns: dict[str, str], ctx: Context,
              rejects: Rejects) -> list[Candidate]:
        def raw(field: str) -> pd.Series:
            return column_or_empty(frame, columns, field)

        def text(field: str) -> pd.Series:
            return clean_text(raw(field))

        def product(field: str) -> pd.Series:
            return frame[_PRODUCT + field]

        handle = text("handle")
        sku = clean_text(raw("sku"), strip_apostrophe=True)
        image = text("image")
        filled = pd.concat([text(f).notna() for f in self.spec if f not in ("handle", "image")],
                           axis=1).any(axis=1)
        rejects.add(frame.loc[handle.isna(), LINE], column=columns["handle"], raw=None,
                    rule="missing_value", message="the row has no Handle, so it belongs to "
                    "no product; fill in its product's Handle")
        bare = handle.notna() & ~filled & image.isna()
        rejects.add(frame.loc[bare, LINE], column=columns["handle"], raw=handle[bare],
                    rule="missing_value", message="the row has a Handle and nothing else (no "
                    "variant, no image); fill it in or delete it")
        ctx.skip(frame.loc[handle.notna() & ~filled & image.notna(), LINE], SKIPPED_IMAGE_ONLY)
        variant = handle.notna() & filled
        no_sku = variant & sku.isna()
        ctx.skip(frame.loc[no_sku, LINE], SKIPPED_NO_SKU)
        if no_sku.any():
            handles = handle[no_sku].unique()
            ctx.notes.append(
                f"{int(no_sku.sum()):,} variant(s) without a SKU, of {len(handles):,} "
                f"product(s) ({_named(handles, 5)}), are not products: products are keyed by "
                "SKU, and orders sell these variants with a blank SKU. Give them SKUs in "
                "Shopify to see them per product.")

        # Every check a variant can fail, before variants of one SKU are compared, so the
        # first variant kept for a SKU is always a valid one.
        price, cost, stock = parse_number(raw("price")), parse_number(raw("cost")), \
            parse_int(raw("stock"))
        title = product("title")
        status = product("status").str.lower().fillna("active")
        bad = ~(variant & sku.notna())

        def reject(mask: pd.Series, field: str, rule: str, message, shown=None) -> None:
            nonlocal bad
            mask = mask & ~bad
            if mask.any():
                values = (shown if shown is not None else raw(field))[mask]
                rejects.add(frame.loc[mask, LINE], column=columns.get(field, field),
                            raw=values, rule=rule, message=message(mask))
                bad |= mask

        price_header, cost_header = columns["price"], columns.get("cost", "Cost per item")
        reject(price.values.isna() & ~price.bad, "price", "missing_value",
               lambda m: f"'{price_header}' is empty; every variant needs its price")
        for field, parsed, expected, rule in (
                ("price", price, "an amount", "not_a_number"),
                ("cost", cost, "an amount", "not_a_number"),
                ("stock", stock, "a whole number", "not_a_whole_number")):
            if field in columns:
                reject_parsed(rejects, frame, parsed, ~bad, column=columns[field],
                              raw=raw(field), rule=rule, expected=expected)
                bad |= parsed.bad
        for field, parsed, header in (("price", price, price_header),
                                      ("cost", cost, cost_header)):
            reject(parsed.values < 0, field, "negative_amount", lambda m, p=parsed, h=header: [
                f"'{h}' = {v:g} is below zero; amounts must be positive" for v in p.values[m]])
        reject(title.isna(), "title", "missing_value", lambda m: [
            f"product '{h}' has no Title on any of its rows (Shopify writes Title, Vendor, "
            "Type and Status on a product's first row); export the product again"
            for h in handle[m]], title)
        allowed = TABLES["products"].column("status").allowed
        reject(~status.isin(allowed), "status", "not_allowed", lambda m: [
            f"product '{h}' has Status '{s}', not one of {', '.join(allowed)}"
            for h, s in zip(handle[m], product("status")[m])], product("status"))

        options = [text(f"option{i}") for i in (1, 2, 3)]
        variant_name = options[0].fillna("")
        for extra in options[1:]:
            variant_name = variant_name.str.cat(extra.fillna(""), sep=" / ").str.rstrip(" /")
        variant_name = variant_name.where(~variant_name.isin(["", "Default Title"]), None)
        body = product("body").fillna("").str.replace(r"<[^>]+>", "", regex=True).str.strip()
        variants = pd.DataFrame({
            "sku": sku, "product_id": handle,
            "title": title.where(variant_name.isna(), title + " - " + variant_name),
            "category": product("type").fillna(product("category")).fillna("uncategorised"),
            "vendor": product("vendor"), "price": price.values, "unit_cost": cost.values,
            "status": status, "has_description": body != "",
            "image_count": frame[_IMAGES].fillna(0).astype("int64"), "stock": stock.values,
            LINE: frame[LINE],
        })[~bad]
        products = self._one_per_sku(variants, columns, ctx, rejects)
        candidates = [Candidate("products", products.drop(columns="stock"), origin={
            "sku": columns["sku"], "price": price_header, "unit_cost": cost_header,
            "title": columns.get("title", "Title"), "status": columns.get("status", "Status")})]
        if "stock" in columns:
            stocked = products[products["stock"].notna()]
            candidates.append(Candidate("inventory_snapshots", pd.DataFrame({
                "snapshot_date": ctx.today, "sku": stocked["sku"],
                "on_hand": stocked["stock"], "committed": 0, "incoming": 0,
                LINES: stocked[LINES],
            }).reset_index(drop=True)))
            ctx.notes.append(f"stock of {len(stocked):,} SKU(s) recorded as the snapshot of "
                             f"{ctx.today}")
        return candidates

    def _one_per_sku(self, variants: pd.DataFrame, columns: dict[str, str], ctx: Context,
                     rejects: Rejects) -> pd.DataFrame:
        """One product per SKU: variants agreeing with the SKU's first on price and cost
        merge into it (their stock added up); the others are rejected and named."""
        first = variants.drop_duplicates("sku").set_index("sku")
        first_price = variants["sku"].map(first["price"])
        first_cost = variants["sku"].map(first["unit_cost"])
        same_cost = (variants["unit_cost"] == first_cost) | \
            (variants["unit_cost"].isna() & first_cost.isna())
        other_price = variants["price"] != first_price
        other_cost = ~other_price & ~same_cost
        for differs, header in ((other_price, columns["price"]),
                                (other_cost, columns.get("cost", "Cost per item"))):
            rows = variants[differs]
            rejects.add(rows[LINE], column=header, raw=[
                f"{_money(p)} / {_money(c)}" for p, c in zip(rows["price"], rows["unit_cost"])],
                rule="conflicting_sku", message=[
                f"SKU '{s}' is also on line {first.at[s, LINE]} ('{first.at[s, 'title']}', "
                f"price {_money(first.at[s, 'price'])}, cost {_money(first.at[s, 'unit_cost'])})"
                f"; this variant ('{t}') has price {_money(p)}, cost {_money(c)}. The first is "
                "kept: give each variant its own SKU in Shopify, or make their price and cost "
                "agree" for s, t, p, c in zip(rows["sku"], rows["title"], rows["price"],
                                              rows["unit_cost"])])
        conflict = other_price | other_cost
        self._conflicting.update(dict.fromkeys(variants.loc[conflict, "sku"]))
        if self._conflicting:
            ctx.notes.append(
                f"{len(self._conflicting):,} SKU(s) are on variants whose price or cost "
                f"differ: each keeps its first variant, the other "
                f"{rejects.by_rule().get('conflicting_sku', 0):,} row(s) are rejected "
                f"(conflicting_sku): {_named(self._conflicting)}")
        kept = variants[~conflict]
        shared = kept["sku"].duplicated(keep=False)
        if shared.any():
            ctx.notes.append(
                f"{kept.loc[shared, 'sku'].nunique():,} SKU(s) are on several variants with the "
                f"same price and cost ({int(shared.sum()):,} rows): each is one product")
        products = kept.drop_duplicates("sku").reset_index(drop=True)
        products["stock"] = products["sku"].map(
            kept.groupby("sku", sort=False)["stock"].sum(min_count=1)).astype("Int64")
        products[LINES] = lines_by(kept["sku"], kept[LINE]).reindex(products["sku"]).to_numpy()
        return products.assign(supplier=None, lead_time_days=pd.array(
            [pd.NA] * len(products), dtype="Int64")).drop(columns=LINE)


class ShopifyInventory(FileImporter):
    """Shopify inventory export (Products → Inventory → Export) → today's stock snapshot.

    Quantities of one SKU at several locations are added up.
    """

    source = "shopify-inventory"
    what = "Shopify inventory export"
    spec = {
        "sku": Want(("SKU", "Variant SKU")),
        "title": Want(("Title",), False),
        "handle": Want(("Handle",), False),
        "on_hand": Want(("On hand", "On Hand"), False),
        "available": Want(("Available",), False),
        "committed": Want(("Committed",), False),
        "unavailable": Want(("Unavailable",), False),
        "incoming": Want(("Incoming",), False),
        "option1": Want(("Option1 Value",), False),
    }

    def columns(self, path) -> dict[str, str]:
        found = super().columns(path)
        if "on_hand" not in found and "available" not in found:
            spec = {"on_hand": Want(("On hand", "Available"))}
            from opslib.ingest.base import read_header
            from opslib.ingest.columns import resolve_columns

            resolve_columns(read_header(path), spec, what=self.what, file=path.name)
        return found

    def build(self, frame: pd.DataFrame, columns: dict[str, str], ctx: Context,
              rejects: Rejects) -> list[Candidate]:
        sku = clean_text(frame[columns["sku"]], strip_apostrophe=True)
        rejects.add(frame.loc[sku.isna(), LINE], column=columns["sku"], raw=None,
                    rule="missing_value", message="the row has no SKU; give every variant a "
                    "SKU in Shopify")
        parsed = {}
        bad = sku.isna()
        for field in ("on_hand", "available", "committed", "unavailable", "incoming"):
            values = column_or_empty(frame, columns, field)
            result = parse_int(values)
            if field in columns:
                reject_parsed(rejects, frame, result, ~bad, column=columns[field], raw=values,
                              rule="not_a_whole_number", expected="a whole number")
            bad |= result.bad
            parsed[field] = result.values.fillna(0)
        for field in ("committed", "incoming"):  # checked per location, before the sum
            negative = ~bad & (parsed[field] < 0)
            if field in columns:
                reject_bad(rejects, frame, negative, column=columns[field],
                           raw=frame[columns[field]], rule="negative_quantity",
                           expected="zero or more (a count of units)")
            bad |= negative
        on_hand = parsed["on_hand"] if "on_hand" in columns else \
            parsed["available"] + parsed["committed"] + parsed["unavailable"]
        rows = pd.DataFrame({"sku": sku, "on_hand": on_hand, "committed": parsed["committed"],
                             "incoming": parsed["incoming"], LINE: frame[LINE],
                             "title": clean_text(column_or_empty(frame, columns, "title")),
                             "handle": clean_text(column_or_empty(frame, columns, "handle"))
                             })[~bad]
        grouped = rows.groupby("sku", sort=False)
        snapshot = pd.DataFrame({
            "snapshot_date": ctx.today, "sku": grouped.size().index,
            "on_hand": grouped["on_hand"].sum().to_numpy(),
            "committed": grouped["committed"].sum().to_numpy(),
            "incoming": grouped["incoming"].sum().to_numpy(),
            LINES: grouped[LINE].agg(list).to_numpy(),
        })
        named = grouped.first()
        placeholders = pd.DataFrame({
            "sku": named.index, "product_id": named["handle"].fillna(
                pd.Series(named.index, index=named.index)).to_numpy(),
            "title": named["title"].fillna(pd.Series(named.index, index=named.index))
                .to_numpy(),
            "category": "uncategorised", "vendor": None, "price": 0.0, "unit_cost": np.nan,
            "status": "active", "supplier": None,
            "lead_time_days": pd.array([pd.NA] * len(named), dtype="Int64"),
            "has_description": False, "image_count": 0,
            LINES: [[] for _ in range(len(named))],
        })
        ctx.notes.append(f"stock of {len(snapshot):,} SKU(s) recorded as the snapshot of "
                         f"{ctx.today}")
        return [Candidate("inventory_snapshots", snapshot,
                          origin={"on_hand": columns.get("on_hand", columns.get("available",
                                                                               "On hand"))}),
                Candidate("products", placeholders, merge="insert_missing", primary=False)]
