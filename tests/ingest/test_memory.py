"""The compact forms large imports are held in give exactly what the plain forms give.

Source lines as flat arrays instead of a list per row, files read in batches, text held as
Arrow dictionaries: each is checked against the plain form it replaces.
"""

from __future__ import annotations

import csv

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
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
