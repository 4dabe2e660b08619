"""Fixtures for metric tests: `tiny_store` builds a hand-checkable store in tmp_path."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from handbuilt import build_store

from opslib.store import Store


@pytest.fixture
def tiny_store(tmp_path) -> Callable[..., Store]:
    """A factory: {table: [row dicts]} (+ settings sections) → an opened Store."""
    counter = itertools.count()

    def build(tables: dict[str, list[dict]], **settings) -> Store:
        return build_store(tmp_path / f"store{next(counter)}", tables, **settings)

    return build
