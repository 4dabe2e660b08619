"""The data contract: every canonical table, declared once.

Each table lists its columns (type, unit, nullability, allowed values, lower bound), its key
and its foreign keys. `pandera_schema(name)` turns a declaration into a pandera schema;
`validate_table` and `validate_store` check data against it; `contract_markdown()` renders
docs/data-contract.md (a test keeps the two identical).

>>> TABLES["orders"].key
('order_id',)
>>> TABLES["order_lines"].foreign_keys[0]
ForeignKey(column='order_id', table='orders', ref='order_id')
>>> "wrong_item" in TABLES["returns"].column("reason").allowed
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pyarrow_lib
import pyarrow.compute as pc
import pyarrow.dataset as pads

from opslib.errors import SchemaViolation

__all__ = [
    "Column", "ForeignKey", "Table", "TABLES", "TYPES",
    "pandera_schema", "read_for_validation", "validate_table", "validate_store",
    "contract_markdown", "Violation", "PANDAS_TYPES", "late_columns_missing",
]

# Contract type -> (pandas dtype used for validation, arrow type written to Parquet, doc text).
# "date" stands for pandera's Date: pandera is imported only to validate (it costs every
# notebook and page kernel 0.15 s and ~30 MB otherwise).
TYPES: dict[str, tuple[object, pyarrow_lib.DataType, str]] = {
    "text": (str, pyarrow_lib.string(), "text"),
    "int": ("Int64", pyarrow_lib.int64(), "integer"),
    "money": (float, pyarrow_lib.float64(), "money, store currency"),
    "float": (float, pyarrow_lib.float64(), "number"),
    "bool": ("boolean", pyarrow_lib.bool_(), "true/false"),
    "timestamp": (pd.DatetimeTZDtype("us", "UTC"), pyarrow_lib.timestamp("us", tz="UTC"),
                  "timestamp, UTC"),
    "date": ("date", pyarrow_lib.date32(), "date, store time zone"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str
    nullable: bool = False
    allowed: tuple[str, ...] = ()
    min: float | None = None
    added: bool = False  # not in DESIGN §3: added by the project, reason in `doc`
    late: bool = False  # added after stores were written: a table without it reads it empty


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str
    ref: str


@dataclass(frozen=True)
class Table:
    name: str
    row: str  # what one row is
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    time_column: str | None = None  # the column a date window filters on
    note: str = ""

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pyarrow_lib.Schema:
        return pyarrow_lib.schema([(c.name, TYPES[c.type][1]) for c in self.columns])


def _c(name, type_, doc, **kw) -> Column:
    return Column(name, type_, doc, **kw)


def _fk(column, table, ref=None) -> ForeignKey:
    return ForeignKey(column, table, ref or column)


RETURN_REASONS = ("wrong_item", "damaged", "not_as_described", "size", "late", "changed_mind",
                  "other")
TICKET_CHANNELS = ("email", "chat", "phone", "whatsapp", "facebook", "instagram", "marketplace")
SOCIAL_TICKET_CHANNELS = ("whatsapp", "facebook", "instagram")
TICKET_CATEGORIES = ("where_is_my_order", "return", "product_question", "complaint", "payment",
                     "other")

_TABLE_LIST = [
    Table("customers", "a customer", (
        _c("customer_id", "text", "platform customer id"),
        _c("email", "text", "email address (contact detail: masked in reports, except the owner's "
           "call lists)", nullable=True),
        _c("name", "text", "full name (contact detail)", nullable=True),
        _c("phone", "text", "phone number (contact detail: masked in reports, except the owner's "
           "call lists)", nullable=True),
        _c("city", "text", "city of the default address", nullable=True),
        _c("country", "text", "ISO 3166-1 alpha-2 country code of the default address",
           nullable=True),
        _c("created_at", "timestamp", "when the customer record was created"),
        _c("has_marketing_consent", "bool", "subscribed to email marketing"),
    ), key=("customer_id",), time_column="created_at"),
    Table("products", "a sellable variant (SKU)", (
        _c("sku", "text", "stock keeping unit, unique per variant"),
        _c("product_id", "text", "the product the variant belongs to"),
        _c("title", "text", "product title with variant"),
        _c("category", "text", "product category or type"),
        _c("vendor", "text", "brand or vendor", nullable=True),
        _c("price", "money", "current selling price per unit", min=0),
        _c("unit_cost", "money", "purchase cost per unit", nullable=True, min=0),
        _c("status", "text", "listing status", allowed=("active", "draft", "archived")),
        _c("supplier", "text", "who we buy it from", nullable=True),
        _c("lead_time_days", "int", "days from purchase order to receipt", nullable=True, min=0),
        _c("has_description", "bool", "the product page has a description"),
        _c("image_count", "int", "number of product images", min=0),
    ), key=("sku",)),
    Table("orders", "an order", (
        _c("order_id", "text", "platform order id (stable; the upsert key)"),
        _c("order_number", "text", "the number shown to the customer, e.g. #1001"),
        _c("customer_id", "text", "who ordered; empty for guest checkouts", nullable=True),
        _c("email", "text", "email on the order (contact detail)", nullable=True),
        _c("created_at", "timestamp", "when the order was placed"),
        _c("currency", "text", "ISO 4217 code of the amounts"),
        _c("financial_status", "text", "payment state", allowed=(
            "pending", "authorized", "paid", "partially_paid", "partially_refunded", "refunded",
            "voided")),
        _c("fulfillment_status", "text", "shipping state now (use shipments for as-of views)",
           allowed=("unfulfilled", "partial", "fulfilled")),
        _c("cancelled_at", "timestamp", "when the order was cancelled; empty if not",
           nullable=True),
        _c("channel", "text", "sales channel, e.g. online_store, marketplace, pos"),
        _c("source", "text", "marketing source of the visit (utm source or referrer)",
           nullable=True),
        _c("discount_code", "text", "discount code used", nullable=True),
        _c("payment_method", "text", "payment method", nullable=True),
        _c("subtotal", "money", "Σ quantity × unit price of the lines, before discounts",
           min=0),
        _c("discount_amount", "money", "all discounts on the order (lines and order level)",
           min=0),
        _c("shipping_amount", "money", "shipping charged to the customer", min=0),
        _c("tax_amount", "money", "tax charged", min=0),
        _c("total_amount", "money", "subtotal − discount + shipping + tax", min=0),
        _c("shipping_country", "text", "ISO 3166-1 alpha-2 destination", nullable=True),
    ), key=("order_id",), foreign_keys=(_fk("customer_id", "customers"),),
        time_column="created_at"),
    Table("order_lines", "a line of an order", (
        _c("order_id", "text", "the order"),
        _c("line_number", "int", "1, 2, ... within the order", min=1),
        _c("sku", "text", "the variant sold; empty for custom items", nullable=True),
        _c("quantity", "int", "units ordered", min=1),
        _c("unit_price", "money", "price per unit before discounts", min=0),
        _c("discount_amount", "money", "discount on the whole line", min=0),
        _c("created_at", "timestamp", "the order's created_at, repeated so a day's lines are "
           "read without scanning every order", added=True),
        _c("title", "text", "the line's title as the shop wrote it (product and variant "
           "name, or the text of a custom item, tip or gift wrap; escape when shown): the "
           "only name of a line without a SKU", nullable=True, added=True, late=True),
    ), key=("order_id", "line_number"),
        foreign_keys=(_fk("order_id", "orders"), _fk("sku", "products")),
        time_column="created_at"),
    Table("shipments", "a parcel sent", (
        _c("shipment_id", "text", "parcel id"),
        _c("order_id", "text", "the order shipped"),
        _c("carrier", "text", "carrier name"),
        _c("service", "text", "carrier service, e.g. standard, express"),
        _c("tracking_number", "text", "carrier tracking number", nullable=True),
        _c("shipped_at", "timestamp", "handed to the carrier"),
        _c("promised_at", "timestamp", "delivery promised to the customer", nullable=True),
        _c("delivered_at", "timestamp", "delivered; empty while in transit", nullable=True),
        _c("status", "text", "carrier status now", allowed=(
            "in_transit", "delivered", "exception", "returned_to_sender")),
        _c("shipping_cost", "money", "what the carrier charged us", nullable=True, min=0),
        _c("tracking_sent_at", "timestamp", "tracking number sent to the customer; empty if "
           "never", nullable=True),
    ), key=("shipment_id",), foreign_keys=(_fk("order_id", "orders"),),
        time_column="shipped_at"),
    Table("returns", "a returned or refunded item; an order-level refund without item detail "
          "is one row with no sku", (
        _c("return_id", "text", "return or refund id"),
        _c("order_id", "text", "the order"),
        _c("sku", "text", "the variant returned; empty for an order-level refund",
           nullable=True),
        _c("quantity", "int", "units returned; empty for an order-level refund", nullable=True,
           min=1),
        _c("reason", "text", "why", allowed=RETURN_REASONS),
        _c("requested_at", "timestamp", "when the customer asked"),
        _c("received_at", "timestamp", "when the item came back; empty if not (yet)",
           nullable=True),
        _c("refunded_at", "timestamp", "when money went back; empty if not (yet)",
           nullable=True),
        _c("refund_amount", "money", "amount refunded, or to refund once received",
           nullable=True, min=0),
        _c("resolution", "text", "how it is settled", nullable=True,
           allowed=("refund", "exchange", "store_credit")),
        _c("status", "text", "state now", allowed=(
            "requested", "in_transit", "received", "refunded", "rejected", "closed")),
    ), key=("return_id",), foreign_keys=(_fk("order_id", "orders"), _fk("sku", "products")),
        time_column="requested_at"),
    Table("inventory_snapshots", "stock of a SKU at the end of a day", (
        _c("snapshot_date", "date", "the day"),
        _c("sku", "text", "the variant"),
        _c("on_hand", "int", "units in the warehouse (negative when oversold)"),
        _c("committed", "int", "units reserved for unshipped orders", min=0),
        _c("incoming", "int", "units on open purchase orders", min=0),
    ), key=("snapshot_date", "sku"), foreign_keys=(_fk("sku", "products"),),
        time_column="snapshot_date"),
    Table("purchase_orders", "a supplier order line", (
        _c("po_id", "text", "purchase order number"),
        _c("supplier", "text", "supplier"),
        _c("sku", "text", "the variant ordered"),
        _c("quantity", "int", "units ordered", min=1),
        _c("unit_cost", "money", "cost per unit", min=0),
        _c("ordered_at", "timestamp", "when the order was placed with the supplier"),
        _c("expected_at", "timestamp", "expected arrival", nullable=True),
        _c("received_at", "timestamp", "arrival; empty if not yet", nullable=True),
        _c("payment_due_date", "date", "when the supplier invoice is due", nullable=True),
        _c("status", "text", "state now", allowed=(
            "draft", "ordered", "partially_received", "received", "cancelled")),
    ), key=("po_id", "sku"), foreign_keys=(_fk("sku", "products"),), time_column="ordered_at"),
    Table("tickets", "a customer contact", (
        _c("ticket_id", "text", "helpdesk ticket id"),
        _c("channel", "text", "where the customer wrote", allowed=TICKET_CHANNELS),
        _c("customer_id", "text", "who; empty when unknown", nullable=True),
        _c("order_id", "text", "the order it is about", nullable=True),
        _c("sku", "text", "the product it is about", nullable=True),
        _c("subject", "text", "subject line as the customer wrote it (escape when shown)",
           nullable=True),
        _c("category", "text", "topic", allowed=TICKET_CATEGORIES),
        _c("created_at", "timestamp", "when the contact came in"),
        _c("first_response_at", "timestamp", "first reply by us; empty if none yet",
           nullable=True),
        _c("resolved_at", "timestamp", "when solved; empty if open", nullable=True),
        _c("status", "text", "state now", allowed=("open", "pending", "resolved", "closed")),
        _c("is_escalated", "bool", "handed to a manager"),
    ), key=("ticket_id",), foreign_keys=(
        _fk("customer_id", "customers"), _fk("order_id", "orders"), _fk("sku", "products")),
        time_column="created_at"),
    Table("web_traffic_daily", "a day × traffic source and medium", (
        _c("date_day", "date", "the day"),
        _c("source", "text", "traffic source, e.g. google, instagram, (direct)"),
        _c("medium", "text", "medium, e.g. organic, cpc, email, social, (none)"),
        _c("sessions", "int", "sessions", min=0),
        _c("users", "int", "users", min=0),
        _c("pageviews", "int", "page views", min=0),
        _c("bounces", "int", "single-page sessions", min=0),
        _c("add_to_cart_sessions", "int", "sessions with an add to cart", min=0),
        _c("checkout_sessions", "int", "sessions that reached checkout", min=0),
        _c("orders", "int", "orders attributed to these sessions", min=0),
    ), key=("date_day", "source", "medium"), time_column="date_day"),
    Table("product_views_daily", "a day × SKU", (
        _c("date_day", "date", "the day"),
        _c("sku", "text", "the variant"),
        _c("views", "int", "product page views", min=0),
        _c("add_to_carts", "int", "add-to-cart events", min=0),
    ), key=("date_day", "sku"), foreign_keys=(_fk("sku", "products"),), time_column="date_day"),
    Table("checkouts", "a started checkout", (
        _c("checkout_id", "text", "checkout id"),
        _c("customer_id", "text", "who, when known", nullable=True),
        _c("email", "text", "email given at checkout (contact detail)", nullable=True),
        _c("created_at", "timestamp", "when the checkout started"),
        _c("value", "money", "cart value", min=0),
        _c("completed_order_id", "text", "the order it became; empty if abandoned",
           nullable=True),
    ), key=("checkout_id",), foreign_keys=(
        _fk("customer_id", "customers"), _fk("completed_order_id", "orders", "order_id")),
        time_column="created_at"),
    Table("email_campaigns", "a sent campaign or flow", (
        _c("campaign_id", "text", "campaign id"),
        _c("name", "text", "campaign name"),
        _c("kind", "text", "a one-off campaign or an automated flow (flows are reported "
           "apart; the design's table had no way to tell them apart)",
           allowed=("campaign", "flow"), added=True),
        _c("sent_at", "timestamp", "when it was sent (flows: the day's send)"),
        _c("audience", "text", "list or segment", nullable=True),
        _c("sent", "int", "emails sent", min=0),
        _c("delivered", "int", "emails delivered", min=0),
        _c("unique_opens", "int", "recipients who opened", min=0),
        _c("unique_clicks", "int", "recipients who clicked", min=0),
        _c("unsubscribes", "int", "unsubscribes", min=0),
        _c("spam_complaints", "int", "spam complaints", min=0),
        _c("bounces", "int", "bounces", min=0),
        _c("attributed_orders", "int", "orders attributed by the email tool", min=0),
        _c("attributed_revenue", "money", "revenue attributed by the email tool", min=0),
    ), key=("campaign_id",), time_column="sent_at"),
    Table("email_list_daily", "a day of the mailing list", (
        _c("date_day", "date", "the day"),
        _c("subscribers", "int", "subscribers at the end of the day", min=0),
        _c("new_subscribers", "int", "sign-ups", min=0),
        _c("unsubscribes", "int", "unsubscribes", min=0),
        _c("spam_complaints", "int", "spam complaints", min=0),
        _c("hard_bounces", "int", "addresses removed after a hard bounce", min=0),
    ), key=("date_day",), time_column="date_day"),
    Table("social_posts", "a published post", (
        _c("post_id", "text", "post id"),
        _c("platform", "text", "instagram, facebook, tiktok, pinterest, ..."),
        _c("published_at", "timestamp", "when it went live"),
        _c("format", "text", "image, video, carousel, story, reel, text, ..."),
        _c("impressions", "int", "times shown", min=0),
        _c("reach", "int", "accounts reached", min=0),
        _c("engagements", "int", "likes, comments, shares and saves", min=0),
        _c("link_clicks", "int", "clicks to the shop", min=0),
    ), key=("post_id",), time_column="published_at"),
    Table("social_accounts_daily", "a day × platform", (
        _c("date_day", "date", "the day"),
        _c("platform", "text", "platform"),
        _c("followers", "int", "followers at the end of the day", min=0),
    ), key=("date_day", "platform"), time_column="date_day"),
    Table("ad_spend_daily", "a day × ad campaign", (
        _c("date_day", "date", "the day"),
        _c("platform", "text", "google, meta, tiktok, ..."),
        _c("campaign", "text", "campaign name"),
        _c("spend", "money", "amount spent", min=0),
        _c("impressions", "int", "impressions", min=0),
        _c("clicks", "int", "clicks", min=0),
        _c("conversions", "float", "conversions reported by the platform (may be fractional)",
           min=0),
        _c("conversion_value", "money", "revenue reported by the platform", min=0),
    ), key=("date_day", "platform", "campaign"), time_column="date_day"),
    Table("content_calendar", "a planned marketing action", (
        _c("item_id", "text", "item id"),
        _c("planned_date", "date", "the day it should happen"),
        _c("channel", "text", "kind of action",
           allowed=("social", "email", "site", "promotion", "banner")),
        _c("title", "text", "what to do"),
        _c("owner", "text", "who does it", nullable=True),
        _c("status", "text", "state now", allowed=("planned", "ready", "done", "skipped")),
        _c("done_at", "timestamp", "when it was done", nullable=True),
    ), key=("item_id",), time_column="planned_date"),
    Table("promotions", "a promotion", (
        _c("promo_code", "text", "the code customers enter (or the automatic promotion's id)"),
        _c("name", "text", "promotion name"),
        _c("starts_at", "timestamp", "start"),
        _c("ends_at", "timestamp", "end; empty if open-ended", nullable=True),
        _c("kind", "text", "type of discount",
           allowed=("percent", "fixed_amount", "free_shipping", "bundle")),
        _c("value", "float", "percent (0–100) or amount, per kind", min=0),
    ), key=("promo_code",), time_column="starts_at"),
    Table("bank_transactions", "a booked bank line", (
        _c("transaction_id", "text", "bank line id"),
        _c("account", "text", "account name"),
        _c("booked_date", "date", "booking date"),
        _c("amount", "money", "signed: money in > 0, money out < 0"),
        _c("balance_after", "money", "account balance after the line", nullable=True),
        _c("currency", "text", "ISO 4217 code"),
        _c("counterparty", "text", "who paid or was paid", nullable=True),
        _c("description", "text", "bank text", nullable=True),
        _c("category", "text",
           "what it is for; `fees` lines (card, payment and bank fees) are the payment fees"
           " of the contribution margin", allowed=(
            "payout", "supplier", "shipping", "ads", "rent", "payroll", "software", "fees",
            "tax", "refund", "transfer", "other")),
    ), key=("transaction_id",), time_column="booked_date"),
    Table("competitor_prices", "an observed competitor price", (
        _c("observed_date", "date", "when seen"),
        _c("competitor", "text", "competitor shop"),
        _c("sku", "text", "our matching variant"),
        _c("price", "money", "their price", min=0),
        _c("note", "text", "free note, e.g. 'on sale'", nullable=True),
    ), key=("observed_date", "competitor", "sku"), foreign_keys=(_fk("sku", "products"),),
        time_column="observed_date"),
    Table("surveys", "a customer score (the one home of CSAT, NPS and review scores)", (
        _c("response_id", "text", "response id"),
        _c("customer_id", "text", "who", nullable=True),
        _c("order_id", "text", "the order rated", nullable=True),
        _c("ticket_id", "text", "the ticket rated", nullable=True),
        _c("submitted_at", "timestamp", "when"),
        _c("kind", "text", "csat 1–5, nps 0–10, review 1–5", allowed=("csat", "nps", "review")),
        _c("score", "int", "the score, in the kind's range", min=0),
        _c("comment", "text", "free text (escape when shown)", nullable=True),
    ), key=("response_id",), foreign_keys=(
        _fk("customer_id", "customers"), _fk("order_id", "orders"), _fk("ticket_id", "tickets")),
        time_column="submitted_at"),
]

TABLES: dict[str, Table] = {t.name: t for t in _TABLE_LIST}

SCORE_RANGES = {"csat": (1, 5), "nps": (0, 10), "review": (1, 5)}


def pandera_schema(name: str):
    """The pandera schema of a table: types, nullability, allowed values, bounds, key."""
    import pandera.pandas as pa

    table = TABLES[name]
    columns = {}
    for col in table.columns:
        checks = []
        if col.allowed:
            checks.append(pa.Check.isin(col.allowed))
        if col.min is not None:
            checks.append(pa.Check.ge(col.min))
        dtype = pa.Date if col.type == "date" else TYPES[col.type][0]
        columns[col.name] = pa.Column(dtype, checks=checks, nullable=col.nullable,
                                      required=not col.late)
    frame_checks = [pa.Check(check, error=error)
                    for error, ((table_name, _), check) in _FRAME_CHECKS.items()
                    if table_name == name]
    return pa.DataFrameSchema(columns, checks=frame_checks, unique=list(table.key),
                              strict=False, name=name)


def _scores_in_range(frame: pd.DataFrame) -> pd.Series:
    low = frame["kind"].map({k: v[0] for k, v in SCORE_RANGES.items()})
    high = frame["kind"].map({k: v[1] for k, v in SCORE_RANGES.items()})
    return frame["score"].between(low, high) | frame["kind"].isna()


# Rules across columns of one row: error text -> ((table, column reported), check function)
_FRAME_CHECKS = {
    "score outside its kind's range (csat 1–5, nps 0–10, review 1–5)":
        (("surveys", "score"), _scores_in_range),
}


@dataclass
class Violation:
    """One broken rule: which table and column, what rule, how many rows, a few examples."""

    table: str
    column: str | None
    rule: str
    failing_rows: int
    examples: list = field(default_factory=list)

    def __str__(self) -> str:
        where = self.table + (f".{self.column}" if self.column else "")
        shown = ", ".join(repr(e) for e in self.examples[:5])
        return f"{where}: {self.rule} — {self.failing_rows} row(s) fail, e.g. {shown}"

    def to_error(self) -> SchemaViolation:
        return SchemaViolation(self.table, column=self.column, rule=self.rule,
                               failing_rows=self.failing_rows, examples=self.examples,
                               what=str(self),
                               fix="Fix the source data and import again.")


# Arrow types read back as pandas nullable types (integers with gaps stay integers).
PANDAS_TYPES = {
    pyarrow_lib.int64(): pd.Int64Dtype(),
    pyarrow_lib.int32(): pd.Int64Dtype(),
    pyarrow_lib.bool_(): pd.BooleanDtype(),
}


def late_columns_missing(name: str, present: list[str]) -> list[Column]:
    """The late columns of table `name` (see `Column.late`) that a stored table lacks."""
    return [c for c in TABLES[name].columns if c.late and c.name not in present]


def read_for_validation(path: Path, name: str | None = None) -> pd.DataFrame:
    """Read a Parquet file or folder of parts with the pandas types the contract checks.

    `name` (by default the file's: <name>.parquet) is the table: a late column that a
    table written before it existed lacks is read as empty.
    """
    table = pads.dataset(path, format="parquet").to_table()
    name = name or Path(path).name.removesuffix(".parquet")
    if name in TABLES:
        for col in late_columns_missing(name, table.column_names):
            table = table.append_column(col.name, pyarrow_lib.nulls(table.num_rows,
                                                                    TYPES[col.type][1]))
    return table.to_pandas(types_mapper=PANDAS_TYPES.get)


def validate_table(name: str, frame: pd.DataFrame) -> list[Violation]:
    """Check one table against its own rules (not foreign keys); return what fails.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"date_day": [], "subscribers": []})
    >>> [v.rule for v in validate_table("email_list_daily", frame)][:1]
    ['column is missing (expected columns: date_day, subscribers, new_subscribers, unsubscribes, spam_complaints, hard_bounces)']
    """
    table = TABLES[name]
    missing = [c.name for c in table.columns if c.name not in frame.columns and not c.late]
    if missing:
        expected = ", ".join(table.column_names)
        return [Violation(name, col, f"column is missing (expected columns: {expected})", 0)
                for col in missing]
    from pandera.errors import SchemaErrors

    try:
        pandera_schema(name).validate(frame, lazy=True)
    except SchemaErrors as err:
        return _violations_from_pandera(name, err.failure_cases)
    return []


def _violations_from_pandera(name: str, cases: pd.DataFrame) -> list[Violation]:
    out = []
    cases = cases.astype({"column": object, "check": object})
    for error, ((_, column), _) in _FRAME_CHECKS.items():  # one report per row rule
        cases = cases[(cases["check"] != error) | (cases["column"] == column)]
    mistyped = set(cases.loc[cases["check"].str.startswith("dtype("), "column"])
    cases = cases[~cases["column"].isin(mistyped) | cases["check"].str.startswith("dtype(")]
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        column = None if pd.isna(column) else str(column)
        check = str(check)
        if check == "not_nullable":
            rule, count = "must not be empty", len(group)
        elif check.startswith("dtype("):
            expected = TABLES[name].column(column).type
            rule = f"wrong type: expected {TYPES[expected][2]} ({check}), found " \
                   f"{group['failure_case'].iloc[0]}"
            count = -1  # the whole column
        elif check.startswith("isin("):
            rule, count = f"value not allowed (allowed: {', '.join(TABLES[name].column(column).allowed)})", len(group)
        elif check.startswith("greater_than_or_equal_to"):
            rule, count = f"must be ≥ {TABLES[name].column(column).min:g}", len(group)
        elif check == "column_in_dataframe":
            rule, count = "column is missing", -1
        elif "unique" in check or check == "multiple_fields_uniqueness":
            key = ", ".join(TABLES[name].key)
            rule, count, column = f"duplicate key ({key})", len(group), column or key
        else:
            rule, count = check, len(group)
        examples = [] if count < 0 else group["failure_case"].drop_duplicates().head(5).tolist()
        out.append(Violation(name, column, rule, count, examples))
    return out


def check_foreign_keys(frames: dict[str, pd.DataFrame]) -> list[Violation]:
    """Orphan references between tables that are both present."""
    out = []
    for name, frame in frames.items():
        for fk in TABLES[name].foreign_keys:
            if fk.table not in frames or fk.column not in frame.columns:
                continue
            values = frame[fk.column].dropna()
            # pyarrow's is_in: pandas' isin on Arrow strings is ten times slower here.
            known = pyarrow_lib.array(frames[fk.table][fk.ref].dropna())
            orphans = values[~pc.is_in(pyarrow_lib.array(values),
                                       value_set=known).to_numpy(zero_copy_only=False)]
            if len(orphans):
                out.append(Violation(
                    name, fk.column, f"refers to a missing {fk.table}.{fk.ref}",
                    len(orphans), orphans.drop_duplicates().head(5).tolist()))
    return out


def table_path(data_dir: Path, name: str) -> Path:
    """Where a canonical table lives: data/tables/<name>.parquet (a file or a folder)."""
    return Path(data_dir) / "tables" / f"{name}.parquet"


def validate_store(data_dir: Path, *, only: set[str] | None = None
                   ) -> tuple[dict[str, int], list[Violation]]:
    """Validate every present table (or those in `only`) and the links between them.

    Returns the row count of each present table and every violation found. An unreadable
    file, or one that cannot be checked, is reported as a violation of the table as a whole.
    """
    frames: dict[str, pd.DataFrame] = {}
    counts: dict[str, int] = {}
    violations: list[Violation] = []
    for name in TABLES:
        path = table_path(data_dir, name)
        if (only is not None and name not in only) or not path.exists():
            continue
        try:
            frame = read_for_validation(path)
        except Exception as err:  # pyarrow's and the file system's errors alike
            violations.append(Violation(name, None, f"unreadable Parquet ({err})", -1))
            continue
        counts[name] = len(frame)
        try:
            found = validate_table(name, frame)
        except Exception as err:
            found = [Violation(name, None, f"could not be checked ({type(err).__name__}: "
                                           f"{err})", -1)]
        violations.extend(found)
        if not found:
            frames[name] = frame
    violations.extend(check_foreign_keys(frames))
    return counts, violations


def contract_markdown() -> str:
    """docs/data-contract.md, rendered from the declarations above."""
    lines = [
        "# Data contract",
        "",
        "<!-- Generated from opslib/schema.py by `python -m opslib.schema`; "
        "tests/test_schema.py fails when the two differ. -->",
        "",
        "Every canonical table lives in `data/tables/<table>.parquet` (one file, or a folder "
        "of Parquet parts read as one table). The names are fixed: checks, importers and "
        "other tools rely on them.",
        "",
        "Rules for every table:",
        "",
        "* **Time zone.** Timestamps (`*_at`) are stored in UTC and shown in the store's time "
        "zone (`[store] timezone` in playbook.toml). Dates (`*_date`, `date_day`) are calendar "
        "days in the store's time zone: a sale at 23:30 local time belongs to that local day.",
        "* **Money** is in the store currency (`[store] currency`), as a decimal number of "
        "currency units (12.5 = 12.50), rounded to cents by the writer.",
        "* **Keys** are `<entity>_id`; booleans `is_`/`has_`; timestamps `<event>_at`; dates "
        "`<event>_date`; the grain column of every `*_daily` table is `date_day`.",
        "* **Absent vs broken.** A table that is absent means \"no data of that kind\": "
        "reports say so and go on. A table that is present but unreadable or breaks a rule "
        "below is an error (`playbook check` names table, column, rule and examples).",
        "* **Foreign keys** are checked when both tables are present; an empty reference is "
        "allowed where the column may be empty.",
        "* **Accepted numbers.** Imports take finite numbers only: amounts and other numbers "
        "from -10^12 to 10^12, whole numbers (quantities, counts) from -10^9 to 10^9. Other "
        "values are rejected with their line: `not_a_number` (`inf`, `NaN`) or "
        "`out_of_range` (the message names the range).",
        "* Columns marked *added* are not in the design's table list; the reason is given.",
        "* Columns marked *added later* may be missing from a table written before they "
        "existed: such a table still opens, checks and imports, and reads the column as "
        "empty (the next import of that table writes it).",
        "",
    ]
    for table in TABLES.values():
        lines += [f"## {table.name}", "", f"One row is {table.row}. "
                  f"Key: `{', '.join(table.key)}`."]
        if table.foreign_keys:
            refs = ", ".join(f"`{fk.column}` → `{fk.table}.{fk.ref}`" for fk in table.foreign_keys)
            lines[-1] += f" References: {refs}."
        lines += ["", "| column | type | may be empty | rule | meaning |",
                  "|---|---|---|---|---|"]
        for col in table.columns:
            rule = []
            if col.allowed:
                rule.append("one of " + ", ".join(f"`{v}`" for v in col.allowed))
            if col.min is not None:
                rule.append(f"≥ {col.min:g}")
            meaning = col.doc + (" *(added later)*" if col.late else
                                 " *(added)*" if col.added else "")
            lines.append(f"| `{col.name}` | {TYPES[col.type][2]} | "
                         f"{'yes' if col.nullable else 'no'} | {'; '.join(rule)} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(contract_markdown(), end="")
