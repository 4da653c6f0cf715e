"""A change to one period's values drops the stored tables of that period only (migration
0016), except where an indicator reads other periods of its inputs; what is kept is current
and equals a computation from scratch."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SRID
from geodata import load_town, load_town_values
from sqlalchemy import text

from layers.materialize import refresh_store
from layers.registry import register_analysis_indicators

PERIODS = [date(2022, 12, 31), date(2023, 12, 31), date(2024, 12, 31)]
CHANGED = PERIODS[1]


@pytest.fixture
def town(engine, tmp_path, data_settings):
    load_town(engine, tmp_path, data_settings, SRID)
    for n, period in enumerate(PERIODS):
        table = tmp_path / f"ew-{period.year}.csv"
        rows = [f"0101{i:02d};{900 + 10 * n + i};{80 + n + i}" for i in (1, 2, 3)]
        table.write_text("Nr;EW;U6\n" + "\n".join(rows) + "\n", encoding="utf-8")
        columns = {"EW": "inhabitants", "U6": "inhabitants_age_below_6"}
        load_town_values(engine, table, data_settings, columns, period)
    with engine.begin() as conn:
        register_analysis_indicators(conn, data_settings)
        refresh_store(conn, [_system(conn)])
    return engine


def _system(conn) -> int:
    return conn.execute(text("SELECT id FROM region_systems WHERE key = 'town'")).scalar_one()


def _tables(conn) -> dict[tuple, tuple]:
    """(indicator, level, period) → (version, computed_at) of the town's stored tables, and
    whether the version is the data version of (system, indicator)."""
    rows = conn.execute(
        text(
            "SELECT i.key, l.key, t.period, t.version, t.computed_at, t.version = v.version "
            "FROM indicator_tables t JOIN indicators i ON i.id = t.indicator_id "
            "JOIN region_levels l ON l.id = t.level_id JOIN region_systems s "
            "ON s.id = l.system_id AND s.key = 'town' LEFT JOIN data_versions v "
            "ON v.system_id = l.system_id AND v.indicator_id = t.indicator_id"
        )
    ).all()
    return {(k, lv, p): (version, at, current) for k, lv, p, version, at, current in rows}


def _values(conn) -> dict[tuple, tuple]:
    rows = conn.execute(
        text(
            "SELECT i.key, l.key, x.period, r.code, x.value, x.status, x.parent_value "
            "FROM indicator_values x JOIN indicators i ON i.id = x.indicator_id "
            "JOIN region_levels l ON l.id = x.level_id JOIN regions r ON r.id = x.region_id"
        )
    ).all()
    return {tuple(r[:4]): tuple(r[4:]) for r in rows}


def _change_inhabitants(conn) -> None:
    conn.execute(
        text(
            "UPDATE statistic_values v SET value = value + 500 FROM regions r, indicators i "
            "WHERE r.id = v.region_id AND r.code = '010101' AND i.id = v.indicator_id "
            "AND i.key = 'inhabitants' AND v.period = :p"
        ),
        {"p": CHANGED},
    )


def test_a_changed_period_drops_its_own_tables_only(town):
    with town.begin() as conn:
        before = _tables(conn)
        _change_inhabitants(conn)
        after = _tables(conn)
    keys = {k for k, _, _ in before}
    assert {"inhabitants", "share_age_below_6", "inhabitants_change_2y"} <= keys
    for (key, level, period), (version, at, _) in before.items():
        kept = after.get((key, level, period))
        if key == "inhabitants_age_below_6":  # computed from nothing that changed
            assert kept == (version, at, True)
        elif key in ("inhabitants_change_2y", "inhabitants_rel_change_2y"):
            assert kept is None, (key, level, period)  # reads the other periods
        elif period == CHANGED:
            assert kept is None, (key, level, period)
        else:  # kept, not recomputed, and current
            assert kept is not None and kept[1] == at and kept[2], (key, level, period)
            assert kept[0] > version


def test_what_is_kept_equals_a_computation_from_scratch(town):
    with town.begin() as conn:
        dropped = len(_tables(conn))
        _change_inhabitants(conn)
        dropped -= len(_tables(conn))
        recomputed = refresh_store(conn, [_system(conn)])
        incremental = _values(conn)
        assert recomputed == dropped  # only what was dropped is computed again
        conn.execute(text("DELETE FROM indicator_tables"))
        refresh_store(conn, [_system(conn)])
        assert _values(conn) == incremental
        assert all(current for _, _, current in _tables(conn).values())
    changed = incremental[("inhabitants", "plr", CHANGED, "010101")]
    assert changed[0] == 901 + 10 + 500


def test_a_new_period_keeps_the_others(town, tmp_path, data_settings):
    with town.begin() as conn:
        before = _tables(conn)
    table = tmp_path / "ew-2025.csv"
    table.write_text("Nr;EW\n010101;950\n010102;960\n010103;970\n", encoding="utf-8")
    load_town_values(town, table, data_settings, {"EW": "inhabitants"}, date(2025, 12, 31))
    with town.connect() as conn:
        after = _tables(conn)
    inhabitants = {k: v for k, v in before.items() if k[0] == "inhabitants"}
    assert inhabitants and all(after[k][1] == v[1] and after[k][2] for k, v in inhabitants.items())
