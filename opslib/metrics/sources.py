"""Where sales come from: channel, marketing source, country, discount code; new against
returning customers; customers by country and city.

Definitions (docs/metrics.md, "Profit" and "Where sales come from"):

* Each counted order of the window (opslib.metrics.sales) belongs to one value of the
  dimension (an empty value reads "(none)"). sales_after_discounts = gross − discounts of
  its lines and order; cogs as opslib.metrics.profit; gross_profit_after_discount =
  sales_after_discounts − cogs (lines of unknown cost add no cost: quantity_cost_unknown
  says how many units).
* net_sales = sales_after_discounts − the refunds booked in the window for orders of that
  value (whenever the order was placed; a refund of an unknown order reads "(unknown)"), so
  the rows add up to the store's net sales.
* A new customer's order is the customer's first counted order ever (customer_id, else
  the email of a guest checkout); count_new_customers counts those orders.
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from opslib.metrics.common import require, series_ratio
from opslib.metrics.customers import customer_history
from opslib.metrics.months import order_values
from opslib.metrics.profit import costed_lines
from opslib.metrics.sales import counted_lines
from opslib.store import Window, in_window

__all__ = ["DIMENSIONS", "NONE", "order_facts", "sales_by", "new_vs_returning_categories",
           "customers_by_place"]

DIMENSIONS = ("channel", "source", "shipping_country", "discount_code")
NONE = "(none)"
UNKNOWN = "(unknown)"
_ORDER_COLUMNS = ("order_id", "customer_id", "email", "channel", "source",
                  "shipping_country", "discount_code")


def order_facts(orders: ibis.Table, order_lines: ibis.Table, products: ibis.Table,
                purchase_orders: ibis.Table | None = None, *, window: Window,
                history: ibis.Table | None = None) -> ibis.Table:
    """The counted orders of the window with their value, cost and customer (engine side).

    Grain: order. Columns: order_id, customer_key, channel, source, shipping_country,
    discount_code, sales_amount (gross − discounts), cogs, quantity_cost_unknown,
    is_new_customer. `history` is customers.customer_history as of the window's end or a
    later day (computed when not given).
    """
    require(orders, "orders", _ORDER_COLUMNS)
    placed = order_values(orders, order_lines, window=window)
    costs = costed_lines(orders, order_lines, products, purchase_orders, window) \
        .group_by("order_id").aggregate(cogs=_.line_cogs.sum(),
                                        quantity_cost_unknown=_.quantity_cost_unknown.sum())
    seen = customer_history(orders, order_lines, as_of=window, history=history)
    firsts = seen.filter(seen.order_sequence == 1).select(first_order_id="order_id")
    dims = orders.select(*_ORDER_COLUMNS[:1], *DIMENSIONS)
    joined = placed.select("order_id", "customer_key", "sales_amount") \
        .left_join(dims, "order_id").left_join(costs, "order_id") \
        .left_join(firsts, _.order_id == firsts.first_order_id)
    return joined.select(
        "order_id", "customer_key",
        *[ibis.coalesce(joined[d].cast("string"), ibis.literal(NONE)).name(d)
          for d in DIMENSIONS],
        sales_amount=joined.sales_amount, cogs=joined.cogs.fill_null(0.0).cast("float64"),
        quantity_cost_unknown=joined.quantity_cost_unknown.fill_null(0),
        is_new_customer=joined.first_order_id.notnull())


def sales_by(orders: ibis.Table, order_lines: ibis.Table, returns: ibis.Table | None,
             products: ibis.Table, purchase_orders: ibis.Table | None = None, *,
             window: Window, by: str, history: ibis.Table | None = None,
             facts: ibis.Table | None = None) -> pd.DataFrame:
    """Orders, sales, new customers and gross profit per value of one dimension.

    Grain: value of `by` (one of DIMENSIONS), most net sales first. Columns: `by`,
    count_orders, sales_after_discounts, net_sales, avg_order_value,
    count_new_customers, cogs, gross_profit_after_discount, quantity_cost_unknown,
    share_of_net_sales. `facts` is order_facts of the same window, when already computed.
    """
    if by not in DIMENSIONS:
        raise ValueError(f"sales_by: by must be one of {DIMENSIONS}, found {by!r}")
    if facts is None:
        facts = order_facts(orders, order_lines, products, purchase_orders, window=window,
                            history=history)
    frame = facts.group_by(by).aggregate(
        count_orders=_.count(), sales_after_discounts=_.sales_amount.sum(),
        count_new_customers=_.is_new_customer.sum(), cogs=_.cogs.sum(),
        quantity_cost_unknown=_.quantity_cost_unknown.sum()).to_pandas()
    frame = frame.merge(_refunds_by(orders, returns, window, by), on=by, how="outer")
    for column in ("count_orders", "count_new_customers", "quantity_cost_unknown"):
        frame[column] = frame[column].fillna(0).astype("int64")
    for column in ("sales_after_discounts", "cogs", "refunds"):
        frame[column] = frame[column].astype("float64").fillna(0.0)
    frame["net_sales"] = frame.sales_after_discounts - frame.refunds
    frame["avg_order_value"] = series_ratio(frame.sales_after_discounts, frame.count_orders)
    frame["gross_profit_after_discount"] = frame.sales_after_discounts - frame.cogs
    frame["share_of_net_sales"] = series_ratio(
        frame.net_sales, pd.Series(frame.net_sales.sum(), index=frame.index))
    frame = frame.sort_values(["net_sales", by], ascending=[False, True])
    return frame[[by, "count_orders", "sales_after_discounts", "net_sales",
                  "avg_order_value", "count_new_customers", "cogs",
                  "gross_profit_after_discount", "quantity_cost_unknown",
                  "share_of_net_sales"]].reset_index(drop=True)


def _refunds_by(orders: ibis.Table, returns: ibis.Table | None, window: Window,
                by: str) -> pd.DataFrame:
    if returns is None:
        return pd.DataFrame({by: pd.Series(dtype="object"), "refunds": pd.Series(
            dtype="float64")})
    require(returns, "returns", ("order_id", "refunded_at", "refund_amount"))
    booked = returns.filter(in_window(returns.refunded_at, window))
    joined = booked.left_join(orders.select("order_id", value=orders[by],
                                            known=ibis.literal(True)), "order_id")
    value = ibis.ifelse(joined.known.fill_null(False),
                        ibis.coalesce(joined.value.cast("string"), ibis.literal(NONE)),
                        ibis.literal(UNKNOWN))
    return joined.group_by(value.name(by)).aggregate(
        refunds=joined.refund_amount.fill_null(0).sum()).to_pandas()


def new_vs_returning_categories(orders: ibis.Table, order_lines: ibis.Table,
                                products: ibis.Table, *, window: Window,
                                history: ibis.Table | None = None) -> pd.DataFrame:
    """What new and returning customers buy: line sales per category for each.

    Grain: category ("(no product)" for lines without a known product). Columns:
    category, sales_new_customers, sales_returning_customers, share_new_customers,
    share_returning_customers (each group's share of its own line sales). Guests without
    an email are left out (neither new nor returning).
    """
    require(products, "products", ("sku", "category"))
    seen = customer_history(orders, order_lines, as_of=window, history=history)
    orders_in = seen.filter(seen.date_day >= window.start).select(
        "order_id", is_new=seen.order_sequence == 1)
    lines = counted_lines(orders, order_lines, window=window).inner_join(orders_in,
                                                                          "order_id")
    lines = lines.left_join(products.select("sku", "category"), "sku")
    frame = lines.group_by([ibis.coalesce(lines.category, ibis.literal("(no product)"))
                            .name("category"), "is_new"]).aggregate(
        sales=_.line_gross.sum()).to_pandas()
    wide = frame.pivot_table(index="category", columns="is_new", values="sales",
                             aggfunc="sum", fill_value=0.0)
    out = pd.DataFrame({"category": wide.index,
                        "sales_new_customers": wide.get(True, 0.0),
                        "sales_returning_customers": wide.get(False, 0.0)}) \
        .reset_index(drop=True)
    for column in ("sales_new_customers", "sales_returning_customers"):
        out[column] = out[column].astype("float64")
    out["share_new_customers"] = series_ratio(
        out.sales_new_customers, pd.Series(out.sales_new_customers.sum(), index=out.index))
    out["share_returning_customers"] = series_ratio(
        out.sales_returning_customers,
        pd.Series(out.sales_returning_customers.sum(), index=out.index))
    return out.sort_values(["sales_new_customers", "category"],
                           ascending=[False, True]).reset_index(drop=True)


def customers_by_place(orders: ibis.Table, order_lines: ibis.Table,
                       customers: ibis.Table, *, window: Window) -> pd.DataFrame:
    """Customers who ordered in the window by the country and city of their address.

    Grain: country × city (empty reads "(none)"; guests and customers missing from the
    customers table read "(unknown)"). Columns: country, city, count_customers,
    count_orders, sales_after_discounts; most customers first.
    """
    require(customers, "customers", ("customer_id", "city", "country"))
    placed = order_values(orders, order_lines, window=window)
    joined = placed.left_join(customers.select("customer_id", "city", "country",
                                               known=ibis.literal(True)), "customer_id")

    def place(column: ibis.Value) -> ibis.Value:
        return ibis.ifelse(joined.known.fill_null(False),
                           ibis.coalesce(column, ibis.literal(NONE)), ibis.literal(UNKNOWN))

    frame = joined.group_by([place(joined.country).name("country"),
                             place(joined.city).name("city")]).aggregate(
        count_customers=_.customer_key.nunique(), count_orders=_.count(),
        sales_after_discounts=_.sales_amount.sum()).to_pandas()
    frame = frame.astype({"count_customers": "int64", "count_orders": "int64",
                          "sales_after_discounts": "float64"})
    return frame.sort_values(["count_customers", "sales_after_discounts", "country", "city"],
                             ascending=[False, False, True, True]).reset_index(drop=True)
