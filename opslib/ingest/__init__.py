"""Getting a shop's data in: platform exports, any CSV through a mapping, a PostgreSQL copy.

Public surface:

* `import_files(source, files, *, data_dir, mapping=None, settings)`: import exports now.
* `import_raw_folder(data_dir, *, settings)`: import what was dropped into data/raw/<source>/
  since the last import (the runner calls this before each run).
* `import_postgres(url, *, data_dir, settings)`: copy canonical tables from a database.
* `ImportReport`: the reconciliation (`.text()`, `.ok`).

Every import prints and logs rows read = loaded + rejected + duplicates skipped, keeps rejected
rows in data/rejected/, records the file in the import ledger and keeps the export, as
dropped, in data/raw/<source>/. Importing the same file twice does nothing the second time.
Each import holds the data folder's lock (`opslib.datalock`) from before it reads the tables
until its result is written, so imports (and runs' import steps) that start together go one
after the other, each merging into the result of the one before.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from opslib.config import Settings
from opslib.datalock import data_lock
from opslib.errors import BadParameter, MissingFileError, OpslibError
from opslib.ingest.base import FileImporter
from opslib.ingest.commit import recover
from opslib.ingest.engine import RAW_DIR
from opslib.ingest.ledger import load_ledger
from opslib.ingest.readers import ImportFileError, file_sha256
from opslib.ingest.report import FileResult, ImportReport
from opslib.ingest.templates import TEMPLATE_TABLES

__all__ = ["import_files", "import_raw_folder", "import_postgres", "ImportReport",
           "FileResult", "ImportFileError", "SOURCES", "importer_for", "MAPPINGS_DIR"]

log = logging.getLogger("opslib.ingest")

SOURCES = ("shopify-orders", "shopify-products", "shopify-customers", "shopify-inventory",
           "woocommerce-orders", "csv", "postgres")
MAPPINGS_DIR = "mappings"  # data/mappings/<name>.toml: mappings of csv-<name> raw folders
LOG_FILE = "import.log"
# Raw folders are imported in this order: reference data before the orders that use it.
_RAW_ORDER = ("shopify-customers", "shopify-products", "shopify-inventory", "shopify-orders",
              "woocommerce-orders")


def importer_for(source: str, mapping: str | Path | None = None) -> FileImporter:
    """The importer of a source name (`csv` needs a mapping file)."""
    from opslib.ingest import shopify

    fixed = {"shopify-orders": shopify.ShopifyOrders,
             "shopify-products": shopify.ShopifyProducts,
             "shopify-customers": shopify.ShopifyCustomers,
             "shopify-inventory": shopify.ShopifyInventory}
    if source in fixed:
        if mapping is not None:
            raise BadParameter(f"--mapping is not used with '{source}'",
                               fix="Drop --mapping, or use SOURCE csv with a mapping.")
        return fixed[source]()
    if source == "woocommerce-orders":
        from opslib.ingest.woocommerce import woocommerce_importer

        return woocommerce_importer(mapping)
    if source == "csv":
        from opslib.ingest.mapping import MappingImporter, load_mapping, \
            shipped_mapping_names

        if mapping is None:
            raise BadParameter("SOURCE csv needs --mapping FILE (a TOML mapping), unless the "
                               "file's header is exactly a table's columns (the files "
                               "`playbook template` writes)",
                               fix="Pass your own mapping file or a shipped one by name ("
                                   f"{', '.join(shipped_mapping_names())}); see "
                                   "docs/data-sources.md.")
        return MappingImporter(load_mapping(mapping))
    raise BadParameter(f"unknown source '{source}'", expected=f"one of {', '.join(SOURCES)}",
                       found=source, fix="Check the spelling of SOURCE.")


def import_files(source: str, files: Iterable[str | Path], *, data_dir: str | Path,
                 mapping: str | Path | None = None, settings: Settings,
                 today: dt.date | None = None) -> ImportReport:
    """Import export files of one source into data_dir, each all or nothing.

    Every file's header is checked before anything is written: a missing required column
    stops the whole import with an error naming the column and the columns found.
    `today` is the date of inventory snapshots (default: today in the store's time zone).
    """
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    paths = [Path(f) for f in files]
    if not paths:
        raise BadParameter(f"no file given for '{source}'", fix="Name one or more files.")
    for path in paths:
        if not path.is_file():
            raise MissingFileError(f"file '{path}' does not exist", file=str(path),
                                   fix="Check the path (quote names with spaces).")
    if source == "csv" and mapping is None:
        importer = _template_importer(paths)
    else:
        importer = importer_for(source, mapping)
    for path in paths:
        importer.columns(path)
    # Everything that reads or writes the data folder happens under its lock, so a second
    # import merges into this one's result instead of overwriting it.
    with data_lock(data_dir, f"import of {source} {', '.join(p.name for p in paths)}"):
        recovered = recover(data_dir)
        if source == "csv" and mapping is not None:
            _keep_mapping(data_dir, importer)
        results = [importer.run(path, data_dir=data_dir, settings=settings, today=today)
                   for path in paths]
        report = ImportReport(results, recovered=recovered)
        _log(data_dir, report)
    return report


def _template_importer(paths: list[Path]) -> FileImporter:
    """A file in a table's own columns (from `playbook template`) needs no mapping."""
    from opslib.ingest.base import read_header
    from opslib.ingest.mapping import MappingImporter, identity_mapping
    from opslib.ingest.templates import table_for_header

    tables = {table_for_header(read_header(p)) for p in paths}
    if len(tables) != 1 or None in tables:
        importer_for("csv", None)  # raises the "needs --mapping" error
    table = tables.pop()
    return MappingImporter(identity_mapping(table), source=f"csv-{table}")


def _keep_mapping(data_dir: Path, importer: FileImporter) -> None:
    """Keep the mapping beside the data so new files in raw/csv-<name>/ import unattended."""
    source_file = Path(importer.mapping.path)  # type: ignore[attr-defined]
    target = data_dir / MAPPINGS_DIR / f"{importer.mapping.name}.toml"  # type: ignore
    if not target.exists() or target.read_bytes() != source_file.read_bytes():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source_file, target)


def _raw_importer(data_dir: Path, folder: Path) -> FileImporter:
    name = folder.name
    if name.startswith("csv-"):
        mapping = data_dir / MAPPINGS_DIR / f"{name[4:]}.toml"
        if not mapping.is_file() and name[4:] in TEMPLATE_TABLES:
            from opslib.ingest.mapping import MappingImporter, identity_mapping

            return MappingImporter(identity_mapping(name[4:]), source=name)
        if not mapping.is_file():
            raise MissingFileError(f"raw folder '{name}' has no mapping '{mapping.name}' in "
                                   f"the data folder's {MAPPINGS_DIR}/", file=str(mapping),
                                   fix="Import one file with `playbook import csv FILE "
                                       "--mapping M.toml` first (it keeps the mapping), or "
                                       "copy the mapping there.")
        return importer_for("csv", mapping)
    return importer_for(name)


def import_raw_folder(data_dir: str | Path, *, settings: Settings,
                      today: dt.date | None = None) -> ImportReport:
    """Import every file in data/raw/<source>/ that the ledger has not seen yet.

    Folders are named after the source (shopify-orders, woocommerce-orders, ...;
    csv-<mapping name> for a mapped CSV, whose mapping is data/mappings/<name>.toml).
    Older files first, so a newer export's values win. A file that cannot be imported is
    reported (`ok` is False) and the others still go in.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return ImportReport()
    with data_lock(data_dir, "import of the files dropped into raw/"):
        return _import_raw_locked(data_dir, settings=settings, today=today)


def _import_raw_locked(data_dir: Path, *, settings: Settings,
                       today: dt.date | None) -> ImportReport:
    report = ImportReport(recovered=recover(data_dir))
    raw_root = data_dir / RAW_DIR
    if not raw_root.is_dir():
        return report
    folders = sorted((p for p in raw_root.iterdir() if p.is_dir()),
                     key=lambda p: (_RAW_ORDER.index(p.name) if p.name in _RAW_ORDER
                                    else len(_RAW_ORDER), p.name))
    for folder in folders:
        files = sorted((f for f in folder.iterdir() if f.is_file() and
                        not f.name.startswith(".")), key=lambda f: (f.stat().st_mtime, f.name))
        if not files:
            continue
        try:
            importer = _raw_importer(data_dir, folder)
        except OpslibError as err:
            report.files.append(FileResult(source=folder.name, file=f"{len(files)} file(s)",
                                           error=str(err)))
            continue
        for path in files:
            if load_ledger(data_dir).find(file_sha256(path), importer.source) is not None:
                continue
            try:
                report.files.append(importer.run(path, data_dir=data_dir, settings=settings,
                                                 today=today))
            except OpslibError as err:
                report.files.append(FileResult(source=importer.source, file=path.name,
                                               error=str(err)))
    _log(data_dir, report)
    return report


def import_postgres(url: str, *, data_dir: str | Path, settings: Settings) -> ImportReport:
    """Copy the canonical tables found in a PostgreSQL database into data_dir."""
    from opslib.ingest.postgres import copy_from_database

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    with data_lock(data_dir, "import from PostgreSQL"):
        recovered = recover(data_dir)
        report = ImportReport(copy_from_database(url, data_dir=data_dir, settings=settings),
                              recovered=recovered)
        _log(data_dir, report)
    return report


def _log(data_dir: Path, report: ImportReport) -> None:
    """Log the reconciliation and append it to data/import.log."""
    if not report.files and not report.recovered:
        return
    text = report.text()
    (log.info if report.ok else log.error)(text)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    with open(Path(data_dir) / LOG_FILE, "a", encoding="utf-8") as handle:
        handle.write(f"== import {stamp}\n{text}\n\n")
