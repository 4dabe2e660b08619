"""Stock history: each import of current stock appends that day's snapshot."""

from __future__ import annotations

import datetime as dt

from opslib.ingest import import_files
from opslib.schema import read_for_validation, table_path, validate_store

INVENTORY = ("Handle,Title,Option1 Name,Option1 Value,SKU,Location,Incoming,Unavailable,"
             "Committed,Available,On hand\n"
             "tee,Tee,Size,S,TEE-S,Shop,0,0,1,4,5\n"
             "tee,Tee,Size,S,TEE-S,Warehouse,10,0,0,20,20\n"
             "tee,Tee,Size,M,'00123,Shop,0,0,0,0,0\n")

PRODUCTS = ("Handle,Title,Body (HTML),Vendor,Type,Variant SKU,Variant Price,Cost per item,"
            "Variant Inventory Qty,Image Src,Status,Option1 Value\n"
            "tee,Tee,<p>Soft</p>,Acme,Shirts,TEE-S,20.00,8.00,7,https://img/1.jpg,active,S\n"
            "tee,,,,,TEE-M,20.00,8.00,3,https://img/2.jpg,,M\n"
            "tee,,,,,,,,,https://img/3.jpg,,\n")


def _snapshots(data_dir):
    return read_for_validation(table_path(data_dir, "inventory_snapshots")) \
        .sort_values(["snapshot_date", "sku"]).reset_index(drop=True)


def test_inventory_export_adds_a_snapshot_per_day_summed_over_locations(tmp_path,
                                                                       usd_settings):
    """Two days, two snapshots; locations added up; '00123 keeps its zeros."""
    first, second = tmp_path / "inv1.csv", tmp_path / "inv2.csv"
    first.write_text(INVENTORY, encoding="utf-8")
    second.write_text(INVENTORY.replace("Warehouse,10,0,0,20,20", "Warehouse,0,0,0,15,15"),
                      encoding="utf-8")
    import_files("shopify-inventory", [first], data_dir=tmp_path / "d", settings=usd_settings,
                 today=dt.date(2024, 5, 1))
    import_files("shopify-inventory", [second], data_dir=tmp_path / "d", settings=usd_settings,
                 today=dt.date(2024, 5, 2))
    snaps = _snapshots(tmp_path / "d")
    assert [(str(d), s, o, c, i) for d, s, o, c, i in snaps[
        ["snapshot_date", "sku", "on_hand", "committed", "incoming"]].values] == [
        ("2024-05-01", "00123", 0, 0, 0), ("2024-05-01", "TEE-S", 25, 1, 10),
        ("2024-05-02", "00123", 0, 0, 0), ("2024-05-02", "TEE-S", 20, 1, 0)]
    assert validate_store(tmp_path / "d")[1] == []


def test_products_export_gives_variants_images_and_todays_stock(tmp_path, usd_settings):
    """Variants keyed by SKU, product fields from the first row, images counted."""
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS, encoding="utf-8")
    report = import_files("shopify-products", [path], data_dir=tmp_path / "d",
                          settings=usd_settings, today=dt.date(2024, 5, 1))
    result = report.files[0]
    assert report.ok and (result.rows_loaded, result.rows_skipped) == (2, 1), report.text()
    assert result.skipped_by_reason == {"image-only rows": 1}
    products = read_for_validation(table_path(tmp_path / "d", "products")).set_index("sku")
    assert products.loc["TEE-M", "title"] == "Tee - M"
    assert products.loc["TEE-M", "vendor"] == "Acme"
    assert products.loc["TEE-S", "unit_cost"] == 8.0
    assert products.loc["TEE-S", "image_count"] == 3
    assert bool(products.loc["TEE-S", "has_description"]) is True
    snaps = _snapshots(tmp_path / "d")
    assert snaps[["sku", "on_hand"]].values.tolist() == [["TEE-M", 3], ["TEE-S", 7]]
