"""Any CSV through a TOML mapping: encodings, delimiters, dates, rules, every example."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from opslib.ingest import import_files
from opslib.errors import MissingFileError
from opslib.ingest.mapping import SHIPPED_MAPPINGS, MappingError, load_mapping, mapping_path
from opslib.ingest.readers import ImportFileError
from opslib.ingest.rejects import read_rejected
from opslib.schema import read_for_validation, table_path, validate_store

MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"


def _table(data_dir, name):
    return read_for_validation(table_path(data_dir, name))


def _mapping(tmp_path: Path, text: str, name: str = "m") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BANK_ROWS = ("Booking date;Counterparty;Description;Amount;Balance;Currency\r\n"
             "05.03.2024;Café Müller;\"Rent March\nflat 2\";-1.250,00;3.749,50;EUR\r\n"
             "06.03.2024;Shopify;Shopify payout;2.480,10;6.229,60;EUR\r\n"
             "07.03.2024;DHL;labels;-12,5;6.217,10;EUR\r\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_bank_statement_in_any_encoding_with_semicolons_and_decimal_commas(
        tmp_path, encoding, gbp_settings):
    """Accents survive every encoding; 1.250,00 is 1250; the quoted line break is kept."""
    path = tmp_path / "statement.csv"
    path.write_bytes(BANK_ROWS.encode(encoding))
    report = import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                          mapping=MAPPINGS / "bank-statement.toml")
    assert report.ok, report.text()
    bank = _table(tmp_path / "d", "bank_transactions").sort_values("booked_date")
    assert bank.amount.tolist() == [-1250.0, 2480.1, -12.5]
    assert bank.balance_after.tolist() == [3749.5, 6229.6, 6217.1]
    assert bank.counterparty.tolist()[0] == "Café Müller"
    assert bank.description.tolist()[0] == "Rent March\nflat 2"
    assert bank.category.tolist() == ["rent", "payout", "shipping"]
    assert [str(d) for d in bank.booked_date] == ["2024-03-05", "2024-03-06", "2024-03-07"]


def test_overlapping_bank_statement_does_not_duplicate_lines(tmp_path, gbp_settings):
    """Derived transaction ids are stable, so the next month's overlap updates nothing."""
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text(BANK_ROWS, encoding="utf-8")
    second.write_text(BANK_ROWS + "08.03.2024;Google Ads;ads;-40,00;6.177,10;EUR\r\n",
                      encoding="utf-8")
    import_files("csv", [first], data_dir=tmp_path / "d", settings=gbp_settings,
                 mapping=MAPPINGS / "bank-statement.toml")
    report = import_files("csv", [second], data_dir=tmp_path / "d", settings=gbp_settings,
                          mapping=MAPPINGS / "bank-statement.toml")
    result = report.files[0]
    assert (result.rows_loaded, result.rows_duplicate) == (1, 3)
    assert len(_table(tmp_path / "d", "bank_transactions")) == 4


TICKETS = """
    name = "t"
    [read]
    dates = "{dates}"
    [columns]
    "Ticket" = "text"
    "Opened" = "timestamp"
    "Phone" = {{ type = "text", required = false }}
    [tables.tickets.columns]
    ticket_id = '"Ticket"'
    channel = "'email'"
    category = "'other'"
    created_at = '"Opened"'
    status = "'open'"
    is_escalated = "false"
    subject = '"Phone"'
"""


def test_day_first_setting_reads_ambiguous_dates_that_way(tmp_path, gbp_settings):
    """03/04/2024 with dates = day-first is 3 April (London time → UTC)."""
    path = tmp_path / "t.csv"
    path.write_text("Ticket,Opened\n1,03/04/2024 10:00\n2,25/04/2024 09:30\n", encoding="utf-8")
    import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                 mapping=_mapping(tmp_path, TICKETS.format(dates="day-first")))
    created = _table(tmp_path / "d", "tickets").set_index("ticket_id").created_at
    assert created["1"] == pd.Timestamp("2024-04-03 09:00", tz="UTC")  # BST, UTC+1
    assert created["2"] == pd.Timestamp("2024-04-25 08:30", tz="UTC")


def test_dates_contradicting_the_setting_stop_with_file_line_and_column(tmp_path,
                                                                        gbp_settings):
    """25/04/2024 cannot be month-first: a clear error, nothing written."""
    path = tmp_path / "t.csv"
    path.write_text("Ticket,Opened\n1,03/04/2024 10:00\n2,25/04/2024 09:30\n", encoding="utf-8")
    with pytest.raises(ImportFileError) as caught:
        import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                     mapping=_mapping(tmp_path, TICKETS.format(dates="month-first")))
    err = caught.value
    assert (err.line, err.column) == (3, "Opened")
    assert "file 't.csv' line 3 column 'Opened': '25/04/2024 09:30' contradicts dates = " \
           "\"month-first\"" in str(err)
    assert "can only be read day-first" in str(err)
    assert not (tmp_path / "d" / "tables").exists()


def test_auto_date_order_refuses_a_column_it_cannot_decide(tmp_path, gbp_settings):
    """Every value could be read both ways and no setting is given: ask for one."""
    path = tmp_path / "t.csv"
    path.write_text("Ticket,Opened\n1,03/04/2024 10:00\n2,05/06/2024 09:30\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="could be read both ways"):
        import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                     mapping=_mapping(tmp_path, TICKETS.format(dates="auto")))


def test_rejects_quote_the_physical_line_after_a_multiline_field(tmp_path, gbp_settings):
    """A quoted field spanning two lines: the next row's reject says line 4, not 3."""
    path = tmp_path / "t.csv"
    path.write_text('Ticket,Opened,Phone\n1,2024-04-03 10:00,"a\nb"\n2,not a date,x\n',
                    encoding="utf-8")
    report = import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                          mapping=_mapping(tmp_path, TICKETS.format(dates="year-first")))
    assert report.ok
    rejected = read_rejected(tmp_path / "d")
    assert rejected[["line", "column", "raw_value", "rule"]].values.tolist() == \
        [[4, "Opened", "not a date", "not_a_date"]]
    assert rejected.message.iloc[0] == "'Opened' = 'not a date' is not a date and time"


def test_apostrophe_prefixed_numbers_lose_the_apostrophe_only(tmp_path, gbp_settings):
    """'02134 → 02134 (leading zero kept); 'quoted text' stays as written."""
    path = tmp_path / "t.csv"
    path.write_text("Ticket,Opened,Phone\n1,2024-04-03 10:00,'0612 345 678\n"
                    "2,2024-04-03 11:00,'90s style'\n", encoding="utf-8")
    import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                 mapping=_mapping(tmp_path, TICKETS.format(dates="year-first")))
    subjects = _table(tmp_path / "d", "tickets").set_index("ticket_id").subject
    assert subjects["1"] == "0612 345 678"
    assert subjects["2"] == "'90s style'"


def test_row_with_too_many_fields_is_rejected_as_bad_row(tmp_path, gbp_settings):
    """A stray delimiter makes a row wider than the header: rejected, others loaded."""
    path = tmp_path / "t.csv"
    path.write_text("Ticket,Opened\n1,2024-04-03 10:00\n2,2024-04-03,11:00\n", encoding="utf-8")
    report = import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                          mapping=_mapping(tmp_path, TICKETS.format(dates="year-first")))
    assert (report.files[0].rows_loaded, report.files[0].rows_rejected) == (1, 1)
    rejected = read_rejected(tmp_path / "d")
    assert rejected[["line", "rule"]].values.tolist() == [[3, "bad_row"]]
    assert "line has 3 fields, the header has 2" in rejected.message.iloc[0]


def test_a_row_no_table_takes_makes_the_reconciliation_fail(tmp_path, gbp_settings):
    """A `where` that leaves rows out without a [skip] is caught: nothing is written."""
    text = TICKETS.format(dates="year-first").replace(
        "[tables.tickets.columns]", "[tables.tickets]\n    where = \"\\\"Ticket\\\" <> '2'\"\n"
        "    [tables.tickets.columns]")
    path = tmp_path / "t.csv"
    path.write_text("Ticket,Opened\n1,2024-04-03 10:00\n2,2024-04-03 11:00\n", encoding="utf-8")
    report = import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                          mapping=_mapping(tmp_path, text))
    assert not report.ok
    assert report.files[0].unaccounted == [3]
    assert "DOES NOT ADD UP" in report.text()
    assert not (tmp_path / "d" / "tables").exists()


def test_mapping_errors_name_the_key(tmp_path):
    """A table that leaves a required column unmapped is refused with the column names."""
    path = _mapping(tmp_path, """
        [columns]
        "A" = "text"
        [tables.tickets.columns]
        ticket_id = '"A"'
    """)
    with pytest.raises(MappingError, match="tables.tickets does not map channel, category, "
                                           "created_at, status, is_escalated"):
        load_mapping(path)


UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def test_uci_cancellations_become_returns_linked_to_the_sale(tmp_path, gbp_settings):
    """C-invoices: a return of the customer's earlier invoice of that stock code; a guest's
    cancellation cannot be linked and is rejected with the reason."""
    path = tmp_path / "uci.csv"
    path.write_text(UCI_HEADER +
                    "536365,85123A,WHITE HANGING HEART,6,12/01/2010 08:26,2.55,17850,United Kingdom\n"
                    "536366,22633,HAND WARMER,6,12/01/2010 08:28,1.85,NA,United Kingdom\n"
                    "C536379,85123A,WHITE HANGING HEART,-2,12/01/2010 09:41,2.55,17850,United Kingdom\n"
                    "C536383,22633,HAND WARMER,-1,12/01/2010 09:49,1.85,NA,United Kingdom\n",
                    encoding="utf-8")
    report = import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                          mapping=MAPPINGS / "uci-online-retail.toml")
    result = report.files[0]
    assert (result.rows_loaded, result.rows_rejected) == (3, 1), report.text()
    returns = _table(tmp_path / "d", "returns")
    row = returns.iloc[0]
    assert (row.order_id, row.sku, row.quantity, row.refund_amount) == \
        ("536365", "85123A", 2, 5.1)
    assert row.refunded_at == pd.Timestamp("2010-12-01 09:41", tz="UTC")
    rejected = read_rejected(tmp_path / "d")
    assert rejected[["line", "rule"]].values.tolist() == [[5, "missing_value"]]
    assert "guest cancellations cannot be linked" in rejected.message.iloc[0]
    orders = _table(tmp_path / "d", "orders").set_index("order_id")
    assert pd.isna(orders.loc["536366", "customer_id"])  # NA: a guest, not Namibia
    lines = _table(tmp_path / "d", "order_lines").set_index("order_id")
    assert lines.title.to_dict() == {"536365": "WHITE HANGING HEART",
                                     "536366": "HAND WARMER"}  # the optional title column
    assert validate_store(tmp_path / "d")[1] == []


def test_a_shipped_mapping_is_named_without_its_path(tmp_path, monkeypatch):
    """`--mapping superstore` (or superstore.toml) is the shipped file, the same bytes as the
    repository's example; a file of that name in the working folder wins; a path with a
    folder is never swapped for a shipped one; an unknown name lists the shipped ones."""
    example = Path(__file__).resolve().parents[2] / "examples" / "mappings" / "superstore.toml"
    monkeypatch.chdir(tmp_path)
    for name in ("superstore", "superstore.toml"):
        assert mapping_path(name).read_bytes() == example.read_bytes()
        assert mapping_path(name).parent == SHIPPED_MAPPINGS
    (tmp_path / "superstore.toml").write_text(example.read_text(encoding="utf-8"))
    assert mapping_path("superstore.toml") == Path("superstore.toml")
    with pytest.raises(MissingFileError, match="elsewhere.superstore.toml"):
        mapping_path(Path("elsewhere") / "superstore.toml")
    with pytest.raises(MissingFileError, match="woocommerce-orders"):
        load_mapping("no-such-mapping")


def test_woocommerce_orders_report(tmp_path, gbp_settings):
    """Statuses map to the contract; a negative Net Sales row is a refund of its order."""
    path = tmp_path / "wc.csv"
    path.write_text(
        "Date,Order #,Status,Customer,Customer type,Product(s),Items sold,Coupon(s),Net Sales\n"
        "2024-03-05 14:22:10,1201,Completed,Ann Lee,new,\"2× Hoodie, Cap\",3,SPRING,"
        "\"1,234.50\"\n"
        "2024-03-06 09:00:00,1202,Processing,Bob Ray,returning,Cap,1,,12.00\n"
        "2024-03-08 10:00:00,1201,Refunded,Ann Lee,new,Cap,1,,-20.00\n", encoding="utf-8")
    report = import_files("woocommerce-orders", [path], data_dir=tmp_path / "d",
                          settings=gbp_settings)
    assert report.ok, report.text()
    orders = _table(tmp_path / "d", "orders").set_index("order_id")
    assert orders.loc["1201", "total_amount"] == 1234.5
    assert orders.loc["1201", "discount_code"] == "SPRING"
    assert orders.loc["1201", "fulfillment_status"] == "fulfilled"
    assert orders.loc["1202", "financial_status"] == "paid"
    assert orders.loc["1201", "currency"] == "GBP"
    returns = _table(tmp_path / "d", "returns")
    assert returns[["order_id", "refund_amount"]].values.tolist() == [["1201", 20.0]]
    assert sorted(_table(tmp_path / "d", "customers").customer_id) == ["woo:ann lee",
                                                                       "woo:bob ray"]
    assert validate_store(tmp_path / "d")[1] == []


def test_helpdesk_email_ads_and_traffic_examples(tmp_path, gbp_settings):
    """The other shipped mappings each load a small export of their kind."""
    files = {
        "helpdesk-tickets": "Id,Subject,Requester email,Status,Via,Tags,Priority,Created at,"
                            "First reply time in minutes,Solved at\n"
                            "77,Where is my parcel?,a@x.invalid,solved,Email,wismo,normal,"
                            "2024-03-05 09:00:00 +0000,90,2024-03-05 15:00:00 +0000\n"
                            "78,Size?,b@x.invalid,open,Instagram DM,product,urgent,"
                            "2024-03-05 10:00:00 +0000,,\n",
        "email-campaigns": "Unique Id,Campaign Name,Send Date,List,Total Recipients,"
                           "Successful Deliveries,Unique Opens,Unique Clicks,Unsubscribes,"
                           "Abuse Complaints,Total Bounces,Total Orders,Total Revenue\n"
                           "c1,Spring sale,\"Mar 05, 2024 10:00 AM\",Newsletter,1000,990,400,"
                           "80,3,1,10,12,640.50\n",
        "ad-platform-daily": "Campaign report\n\"March 1, 2024 - March 2, 2024\"\n"
                             "Day,Campaign,Cost,Impr.,Clicks,Conversions,Conv. value\n"
                             "2024-03-01,Brand,12.40,1000,50,2.5,150.00\n"
                             "2024-03-02,Brand,10.00,900,40,1,60.00\n"
                             "Total: Campaigns,,22.40,1900,90,3.5,210.00\n",
        "analytics-daily-traffic": "# ----\n# Traffic acquisition\n# Account\n# Property\n"
                                   "# Start date: 20240301\n# End date: 20240301\n"
                                   "Date,Session source,Session medium,Sessions,Total users,"
                                   "Views,Engaged sessions,Add to carts,Checkouts,"
                                   "Ecommerce purchases\n"
                                   "20240301,google,organic,120,100,300,80,20,8,3\n"
                                   "20240301,(direct),(none),60,55,90,30,5,2,1\n",
    }
    expected = {"helpdesk-tickets": ("tickets", 2), "email-campaigns": ("email_campaigns", 1),
                "ad-platform-daily": ("ad_spend_daily", 2),
                "analytics-daily-traffic": ("web_traffic_daily", 2)}
    for name, text in files.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        report = import_files("csv", [path], data_dir=tmp_path / "d", settings=gbp_settings,
                              mapping=MAPPINGS / f"{name}.toml")
        assert report.ok, report.text()
        table, rows = expected[name]
        assert len(_table(tmp_path / "d", table)) == rows, name
    tickets = _table(tmp_path / "d", "tickets").set_index("ticket_id")
    assert tickets.loc["77", "category"] == "where_is_my_order"
    assert tickets.loc["77", "first_response_at"] == pd.Timestamp("2024-03-05 10:30", tz="UTC")
    assert tickets.loc["78", "channel"] == "instagram"
    assert bool(tickets.loc["78", "is_escalated"]) is True
    campaign = _table(tmp_path / "d", "email_campaigns").iloc[0]
    assert campaign.sent_at == pd.Timestamp("2024-03-05 10:00", tz="UTC")
    assert campaign.attributed_revenue == 640.5
    ads = read_rejected(tmp_path / "d")
    assert ads.loc[ads.source == "csv-ad-platform-daily", "rule"].tolist() == \
        ["skipped_by_mapping"]
    traffic = _table(tmp_path / "d", "web_traffic_daily").set_index("source")
    assert traffic.loc["google", "bounces"] == 40
    assert validate_store(tmp_path / "d")[1] == []


def test_helpdesk_reply_times_beyond_ten_years_are_rejected_not_fatal(tmp_path, usd_settings):
    """A reply time too large for a timestamp (10^11 minutes) or below zero rejects its own
    row with the mapping's reason; the other tickets load."""
    path = tmp_path / "tickets.csv"
    path.write_text(
        "Id,Subject,Requester email,Status,Via,Tags,Priority,Created at,"
        "First reply time in minutes,Solved at\n"
        "1,a,x@e.invalid,open,email,,,2024-03-05 09:12,30,\n"
        "2,b,y@e.invalid,open,email,,,2024-03-05 09:12,100000000000,\n"
        "3,c,z@e.invalid,open,chat,,,2024-03-05 09:12,-5,\n", encoding="utf-8")
    report = import_files("csv", [path], data_dir=tmp_path / "d", settings=usd_settings,
                          mapping=MAPPINGS / "helpdesk-tickets.toml")
    result = report.files[0]
    assert report.ok and (result.rows_loaded, result.rows_rejected) == (1, 2), report.text()
    assert result.rejected_by_rule == {"reply_time_out_of_range": 2}
    assert _table(tmp_path / "d", "tickets")["ticket_id"].tolist() == ["1"]
