"""WooCommerce's Analytics → Orders report, imported through its shipped mapping.

The report (Date, Order #, Status, Customer, Customer type, Product(s), Items sold,
Coupon(s), Net Sales) is a plain CSV, so it goes through the general mapping engine with
examples/mappings/woocommerce-orders.toml; that file says what is mapped and what the report
does not carry. Pass `--mapping` to use an edited copy.
"""

from __future__ import annotations

from pathlib import Path

from opslib.errors import MissingFileError
from opslib.ingest.mapping import MappingImporter, load_mapping

__all__ = ["woocommerce_importer", "SHIPPED_MAPPING"]

SHIPPED_MAPPING = Path(__file__).resolve().parents[2] / "examples" / "mappings" / \
    "woocommerce-orders.toml"


def woocommerce_importer(mapping: str | Path | None = None) -> MappingImporter:
    """The importer of the WooCommerce orders report (shipped mapping unless one is given)."""
    path = Path(mapping) if mapping is not None else SHIPPED_MAPPING
    if not path.is_file():
        raise MissingFileError(f"the WooCommerce mapping '{path}' is missing", file=str(path),
                               fix="Pass --mapping with a copy of "
                                   "examples/mappings/woocommerce-orders.toml.")
    return MappingImporter(load_mapping(path), source="woocommerce-orders")
