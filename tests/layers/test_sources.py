"""Region feature sources read the indicator store: stored values are joined by region id (no
values bound into the query); tables not stored travel as bound arrays; both give the same
features."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from layers.cache import LayerCache
from layers.sources import region_source

LOR = "berlin-lor-2021"
KEYS = ["inhabitants", "share_foreigners", "mss_status_index_class", "inhabitants_change_2y"]


def _rows(conn, source) -> list[tuple]:
    columns = ", ".join(f'"{f.name}"' for f in source.fields)
    sql = f"SELECT {columns} FROM ({source.relation}) AS s ORDER BY code"
    return [tuple(r) for r in conn.execute(text(sql), source.params)]


@pytest.mark.mirror
def test_joined_and_bound_values_give_the_same_features(berlin_engine):
    with berlin_engine.connect() as conn:
        joined = region_source(conn, LayerCache(), LOR, "plr", KEYS)
        bound = region_source(conn, LayerCache(), LOR, "plr", KEYS, join_stored=False)
        assert not any(k.startswith("src_v") for k in joined.params)  # nothing bound
        assert "indicator_values" in joined.relation
        assert any(k.startswith("src_v") for k in bound.params)
        first, second = _rows(conn, joined), _rows(conn, bound)
    assert len(first) == 542 and first == second
    assert joined.notes == bound.notes and joined.fields == bound.fields
