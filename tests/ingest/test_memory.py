"""The compact forms large imports are held in give exactly what the plain forms give.

Source lines as flat arrays instead of a list per row, files read in batches, text held as
Arrow dictionaries: each is checked against the plain form it replaces.
"""

from __future__ import annotations

import csv

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opslib.ingest.engine import LINES, Candidate
from opslib.ingest.readers import TextBatches, read_text_table

_LISTS = st.lists(st.lists(st.integers(2, 10**6), max_size=5), max_size=30)


@settings(max_examples=50, deadline=None)
@given(lists=_LISTS, data=st.data())
def test_flat_source_lines_are_the_lists_they_replace(lists, data):
    frame = pd.DataFrame({"order_id": [f"o{i}" for i in range(len(lists))], LINES: lists})
    cand = Candidate("orders", frame)
    assert cand.frame[LINES].dtype != object  # no Python list per row is kept
    chosen = sorted(data.draw(st.sets(st.integers(0, max(len(lists) - 1, 0)))
                              if lists else st.just(set())))
    rows = cand.frame.iloc[chosen]
    at, lines = cand.lines_of(rows)
    assert lines.tolist() == [n for i in chosen for n in lists[i]]
    assert at.tolist() == [k for k, i in enumerate(chosen) for _ in lists[i]]


_CELLS = st.text(st.sampled_from('ab ,;"\n\xe9'), max_size=6)


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(_CELLS, _CELLS), min_size=0, max_size=25),
       size=st.integers(1, 7), blanks=st.sets(st.integers(0, 25)))
def test_reading_in_batches_keeps_every_row_and_its_line(tmp_path_factory, rows, size, blanks):
    path = tmp_path_factory.mktemp("batches") / "x.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b"])
        for i, row in enumerate(rows):
            if i in blanks:
                handle.write("\r\n")  # a blank line is not a row, and moves the lines below
            writer.writerow(row)
    whole = read_text_table(path, encoding="utf-8", delimiter=",")
    with TextBatches(path, encoding="utf-8", delimiter=",", rows=size) as batches:
        parts = list(batches)
    assert all(len(part) <= size for part in parts)
    batched = pa.concat_tables(parts).to_pandas()
    pd.testing.assert_frame_equal(batched, whole.frame)
    coded = read_text_table(path, encoding="utf-8", delimiter=",", dictionary=True)
    for column in ("a", "b"):
        assert coded.frame[column].astype("str").tolist() == whole.frame[column].tolist()
    assert coded.frame["__line"].tolist() == whole.frame["__line"].tolist()


_MONEY = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan")))


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["o1", "o2", None]), _MONEY, _MONEY,
                               st.one_of(st.none(), st.integers(-5, 5))), max_size=40))
def test_normalizing_rows_read_in_arrow_gives_the_frame_normalizing_pandas_gives(rows):
    """The merge converts a large table from Arrow once; money is rounded to cents alike."""
    from opslib.ingest.engine import normalize

    frame = pd.DataFrame(rows, columns=["order_id", "unit_price", "discount_amount",
                                        "quantity"])
    frame = frame.assign(line_number=range(len(frame)), sku="A", title="t",
                         created_at=pd.Timestamp("2024-03-01 10:00:00.123456", tz="UTC"))
    frame["quantity"] = frame["quantity"].astype("Int64")
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    pd.testing.assert_frame_equal(normalize("order_lines", arrow),
                                  normalize("order_lines", frame))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # a fresh folder each
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=25),
       slice_rows=st.integers(1, 7))
def test_rows_put_aside_in_slices_read_back_as_they_were(tmp_path_factory, texts,
                                                         slice_rows):
    """A table written to disk a slice of rows at a time reads back equal, even when a
    slice's text column holds no value at all."""
    import pytest

    import opslib.ingest.engine as engine

    frame = pd.DataFrame({"order_id": pd.Series(texts, dtype=object),
                          "amount": [float(i) / 3 for i in range(len(texts))],
                          LINES: range(2, len(texts) + 2)})
    cand = Candidate("orders", frame.copy())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "SLICE_ROWS", slice_rows)
        cand.put_aside(tmp_path_factory.mktemp("aside") / "orders.parquet")
    assert cand.frame is None
    back = cand.load()
    assert back["order_id"].isna().tolist() == frame["order_id"].isna().tolist()
    assert back["order_id"].dropna().tolist() == frame["order_id"].dropna().tolist()
    assert back["amount"].tolist() == frame["amount"].tolist()
    assert back[LINES].tolist() == frame[LINES].tolist()


def test_a_large_mapped_import_puts_the_default_arrow_pool_back(tmp_path, monkeypatch):
    """The system allocator serves a large mapped file's import only: after it (and after
    a failed one) Arrow's default pool is back for everything else in the process."""
    from opslib.ingest import base

    monkeypatch.setattr(base, "RELEASE_FROM_BYTES", 1)
    small = tmp_path / "x.csv"
    small.write_text("a\n1\n", encoding="utf-8")
    before = pa.default_memory_pool().backend_name

    class Mapped(base.FileImporter):
        system_pool = True

    seen = []
    importer = Mapped.__new__(Mapped)
    with importer._arrow_pool(small):
        seen.append(pa.default_memory_pool().backend_name)
    assert seen == ["system"] and pa.default_memory_pool().backend_name == before
    with pytest.raises(RuntimeError), importer._arrow_pool(small):
        raise RuntimeError("the import failed")
    assert pa.default_memory_pool().backend_name == before
