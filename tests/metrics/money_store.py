"""A tiny hand-built store for the profit, sources and goals tests (June 2025, UTC+1).

products: A costs 4 (Cups); B has no cost of its own, its latest purchase order before the
  end of June says 7 (an older one 6, one placed in July 9); C has no cost at all (Plates).
orders (customers cu1 London GB, cu2 Paris FR):
  o1 1 Jun 09:00 cu1, online_store / google / GB, code SAVE5: A 2×10 + B 1×20 = 40,
     discount 5, shipping 4.50
  o2 1 Jun 12:00 cu2, online_store / instagram / FR: C 1×15, free shipping
  o3 2 Jun 10:00 cu1 again, marketplace / google / GB: A 3×10 = 30, shipping 4.50
  o4 2 Jun 11:00 cu2, cancelled at 12:00 the same day: A 5×10 — never counts
returns: r1 o1's A, refunded 2 Jun 15:00, 10.
shipments: o1 DPD 6.00; o3 two Royal Mail parcels 3.20 + 2.00; o2 not shipped.
bank: fees −3.50 on 2 Jun (and −50 on 1 Jul, outside June); ads: 10 on 1 Jun (99 in May).
"""

from __future__ import annotations

from handbuilt import at


def _order(order_id, created, customer, channel, source, country, *, code=None,
           discount=0.0, shipping=0.0, cancelled=None):
    return {"order_id": order_id, "order_number": f"#{order_id}", "created_at": at(created),
            "customer_id": customer, "email": f"{customer}@example.com", "channel": channel,
            "source": source, "shipping_country": country, "discount_code": code,
            "discount_amount": discount, "shipping_amount": shipping,
            "cancelled_at": at(cancelled)}


def _line(order_id, number, created, sku, quantity, price):
    return {"order_id": order_id, "line_number": number, "created_at": at(created), "sku": sku,
            "quantity": quantity, "unit_price": price}


def _ship(shipment_id, order_id, carrier, shipped, cost):
    return {"shipment_id": shipment_id, "order_id": order_id, "carrier": carrier,
            "shipped_at": at(shipped), "shipping_cost": cost}


def _po(po_id, sku, ordered, cost):
    return {"po_id": po_id, "supplier": "S", "sku": sku, "quantity": 10, "unit_cost": cost,
            "ordered_at": at(ordered), "status": "received"}


def _bank(transaction_id, booked, amount, category):
    return {"transaction_id": transaction_id, "account": "main", "booked_date": booked,
            "amount": amount, "balance_after": 0.0, "currency": "GBP", "category": category}


TABLES = {
    "products": [
        {"sku": "A", "title": "Mug", "category": "Cups", "price": 10.0, "unit_cost": 4.0},
        {"sku": "B", "title": "Plate", "category": "Plates", "price": 20.0, "unit_cost": None},
        {"sku": "C", "title": "Bowl", "category": "Plates", "price": 15.0, "unit_cost": None},
    ],
    "purchase_orders": [_po("p1", "B", "2025-05-01 09:00", 6.0),
                        _po("p2", "B", "2025-05-20 09:00", 7.0),
                        _po("p3", "B", "2025-07-05 09:00", 9.0)],
    "customers": [
        {"customer_id": "cu1", "email": "cu1@example.com", "city": "London", "country": "GB",
         "created_at": at("2025-05-01 09:00")},
        {"customer_id": "cu2", "email": "cu2@example.com", "city": "Paris", "country": "FR",
         "created_at": at("2025-05-01 09:00")},
    ],
    "orders": [
        _order("o1", "2025-06-01 09:00", "cu1", "online_store", "google", "GB", code="SAVE5",
               discount=5.0, shipping=4.5),
        _order("o2", "2025-06-01 12:00", "cu2", "online_store", "instagram", "FR"),
        _order("o3", "2025-06-02 10:00", "cu1", "marketplace", "google", "GB", shipping=4.5),
        _order("o4", "2025-06-02 11:00", "cu2", "online_store", "google", "FR",
               cancelled="2025-06-02 12:00"),
    ],
    "order_lines": [
        _line("o1", 1, "2025-06-01 09:00", "A", 2, 10.0),
        _line("o1", 2, "2025-06-01 09:00", "B", 1, 20.0),
        _line("o2", 1, "2025-06-01 12:00", "C", 1, 15.0),
        _line("o3", 1, "2025-06-02 10:00", "A", 3, 10.0),
        _line("o4", 1, "2025-06-02 11:00", "A", 5, 10.0),
    ],
    "returns": [
        {"return_id": "r1", "order_id": "o1", "sku": "A", "quantity": 1,
         "requested_at": at("2025-06-02 08:00"), "refunded_at": at("2025-06-02 15:00"),
         "refund_amount": 10.0, "status": "refunded"},
    ],
    "shipments": [_ship("s1", "o1", "DPD", "2025-06-01 15:00", 6.0),
                  _ship("s2", "o3", "Royal Mail", "2025-06-02 16:00", 3.2),
                  _ship("s3", "o3", "Royal Mail", "2025-06-02 17:00", 2.0)],
    "bank_transactions": [_bank("t1", "2025-06-02", -3.5, "fees"),
                          _bank("t2", "2025-06-02", 100.0, "payout"),
                          _bank("t3", "2025-07-01", -50.0, "fees")],
    "ad_spend_daily": [
        {"date_day": "2025-06-01", "platform": "meta", "campaign": "c", "spend": 10.0},
        {"date_day": "2025-05-30", "platform": "meta", "campaign": "c", "spend": 99.0},
    ],
}
