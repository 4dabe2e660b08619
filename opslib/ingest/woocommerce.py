"""WooCommerce's Analytics → Orders report, imported through its shipped mapping.

The report (Date, Order #, Status, Customer, Customer type, Product(s), Items sold,
Coupon(s), Net Sales) is a plain CSV, so it goes through the general mapping engine with
the shipped mapping woocommerce-orders (examples/mappings/woocommerce-orders.toml); that file
says what is mapped and what the report does not carry. Pass `--mapping` to use an edited copy.
"""

from __future__ import annotations

from pathlib import Path

from opslib.ingest.mapping import SHIPPED_MAPPINGS, MappingImporter, load_mapping

__all__ = ["woocommerce_importer", "SHIPPED_MAPPING"]

SHIPPED_MAPPING = SHIPPED_MAPPINGS / "woocommerce-orders.toml"


def woocommerce_importer(mapping: str | Path | None = None) -> MappingImporter:
    """The importer of the WooCommerce orders report (shipped mapping unless one is given)."""
    return MappingImporter(load_mapping(SHIPPED_MAPPING if mapping is None else mapping),
                           source="woocommerce-orders")
