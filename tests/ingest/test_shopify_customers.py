"""Shopify customers export: consent values that are not yes or no are never silent."""

from __future__ import annotations

import csv

from opslib.ingest import import_files
from opslib.schema import read_for_validation, table_path

HEADER = ["First Name", "Last Name", "Email", "Accepts Email Marketing", "City", "Country"]


def test_an_unreadable_consent_loads_as_no_consent_and_the_report_says_so(tmp_path,
                                                                          usd_settings):
    """'maybe' cannot be read as consent: the customer loads without it, and a note names
    the value and how many customers carry it."""
    path = tmp_path / "customers_export.csv"
    rows = [["Ann", "A", "ann@example.invalid", "yes", "Leeds", "GB"],
            ["Bob", "B", "bob@example.invalid", "maybe", "York", "GB"],
            ["Cy", "C", "cy@example.invalid", "no", "Bath", "GB"]]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    report = import_files("shopify-customers", [path], data_dir=tmp_path / "data",
                          settings=usd_settings)
    result = report.files[0]
    assert result.adds_up and result.rows_loaded == 3, report.text()
    customers = read_for_validation(table_path(tmp_path / "data", "customers"))
    consent = dict(zip(customers["email"], customers["has_marketing_consent"]))
    assert consent == {"ann@example.invalid": True, "bob@example.invalid": False,
                       "cy@example.invalid": False}
    notes = [n for n in result.notes if "not consenting" in n]
    assert len(notes) == 1 and notes[0].startswith("1 customer(s)") and "'maybe'" in notes[0]
