"""Each level's region count, kept in ``region_levels`` by the store (migration 0017), agrees
with the regions after inserts, deletes, a rolled-back delete and a move between levels."""

from __future__ import annotations

from sqlalchemy import text
from village import load_village

_KEPT_AND_COUNTED = text(
    "SELECT l.key, l.region_count, (SELECT count(*) FROM regions r WHERE r.level_id = l.id) "
    "FROM region_levels l JOIN region_systems s ON s.id = l.system_id "
    "WHERE s.key = 'village' ORDER BY l.rank"
)


def _counts(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(_KEPT_AND_COUNTED)]


def test_the_kept_count_follows_inserts_deletes_and_moves(engine, tmp_path, data_settings):
    load_village(engine, tmp_path, data_settings)
    assert _counts(engine) == [("bezirk", 1, 1), ("bzr", 2, 2), ("plr", 6, 6)]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM regions WHERE code IN ('010101', '010102')"))
    assert _counts(engine) == [("bezirk", 1, 1), ("bzr", 2, 2), ("plr", 4, 4)]
    with engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE regions SET level_id = (SELECT id FROM region_levels WHERE key = 'bzr' "
                "AND system_id = regions.system_id) WHERE code = '010103'"
            )
        )
        # an update that moves nothing leaves the counts alone
        conn.execute(text("UPDATE regions SET name = name || ' ' WHERE code LIKE '0102%'"))
    assert _counts(engine) == [("bezirk", 1, 1), ("bzr", 3, 3), ("plr", 3, 3)]


def test_a_rolled_back_load_leaves_the_count(engine, tmp_path, data_settings):
    load_village(engine, tmp_path, data_settings)
    with engine.connect() as conn:
        conn.execute(text("DELETE FROM regions"))
        conn.rollback()
    assert _counts(engine) == [("bezirk", 1, 1), ("bzr", 2, 2), ("plr", 6, 6)]
