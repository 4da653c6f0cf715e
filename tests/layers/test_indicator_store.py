"""The indicator store against an independent aggregation in SQL (regions grouped by code
prefix, not by the parent chain the layer follows): every stored value at every level for a
sum, a ratio, a weighted mean, a formula and a composite, with children missing inputs on the
generated village and on the real Berlin data."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from village import PERIOD

from layers.materialize import refresh_store

LOR = "berlin-lor-2021"

_INDEPENDENT = """
WITH base AS (
    SELECT r.code, v.value, v.status FROM statistic_values v
    JOIN regions r ON r.id = v.region_id JOIN region_levels l ON l.id = r.level_id
    JOIN region_systems s ON s.id = r.system_id JOIN indicators i ON i.id = v.indicator_id
    WHERE s.key = :system AND l.key = :finest AND i.key = :key AND v.period = :p
)
SELECT t.code, {aggregate} AS value
FROM regions t JOIN region_levels tl ON tl.id = t.level_id
JOIN region_systems s ON s.id = t.system_id
LEFT JOIN base ON left(base.code, length(t.code)) = t.code
WHERE s.key = :system AND tl.key = :level
GROUP BY t.code ORDER BY t.code
"""


def _stored(conn, system: str, level: str, key: str, period: date) -> pd.Series:
    rows = conn.execute(
        text(
            "SELECT r.code, v.value FROM indicator_values v JOIN indicators i "
            "ON i.id = v.indicator_id JOIN region_levels l ON l.id = v.level_id "
            "JOIN region_systems s ON s.id = l.system_id JOIN regions r ON r.id = v.region_id "
            "WHERE s.key = :s AND l.key = :l AND i.key = :k AND v.period = :p ORDER BY r.code"
        ),
        {"s": system, "l": level, "k": key, "p": period},
    ).all()
    assert rows, f"{key} at {level} is not in the store"
    return pd.Series({c: np.nan if v is None else v for c, v in rows}, dtype=float)


def _sums(conn, system: str, finest: str, level: str, key: str, period: date) -> pd.Series:
    sql = _INDEPENDENT.format(aggregate="sum(base.value) FILTER (WHERE base.status = 'valid')")
    rows = conn.execute(
        text(sql), {"system": system, "finest": finest, "level": level, "key": key, "p": period}
    ).all()
    return pd.Series({c: np.nan if v is None else v for c, v in rows}, dtype=float)


def _pairs(conn, system, finest, level, a, b, period) -> tuple[pd.Series, pd.Series]:
    """Sums of ``a`` and ``b`` over the children where both are valid."""
    frames = []
    for key in (a, b):
        rows = conn.execute(
            text(
                "SELECT r.code, v.value FROM statistic_values v JOIN regions r "
                "ON r.id = v.region_id JOIN region_levels l ON l.id = r.level_id "
                "JOIN region_systems s ON s.id = r.system_id JOIN indicators i "
                "ON i.id = v.indicator_id WHERE s.key = :s AND l.key = :f AND i.key = :k "
                "AND v.period = :p AND v.status = 'valid'"
            ),
            {"s": system, "f": finest, "k": key, "p": period},
        ).all()
        frames.append(pd.Series(dict(rows), dtype=float, name=key))
    both = pd.concat(frames, axis=1).dropna()
    codes = conn.execute(
        text(
            "SELECT t.code FROM regions t JOIN region_levels l ON l.id = t.level_id "
            "JOIN region_systems s ON s.id = t.system_id WHERE s.key = :s AND l.key = :l "
            "ORDER BY t.code"
        ),
        {"s": system, "l": level},
    ).scalars()
    sums = {code: both[both.index.str.startswith(code)].sum(min_count=1) for code in codes}
    table = pd.DataFrame(sums).T
    return table[a], table[b]


def _levels(conn, system: str) -> list[str]:
    return list(
        conn.execute(
            text(
                "SELECT l.key FROM region_levels l JOIN region_systems s ON s.id = l.system_id "
                "WHERE s.key = :s ORDER BY l.rank"
            ),
            {"s": system},
        ).scalars()
    )


def _assert_equal(stored: pd.Series, expected: pd.Series, what: str) -> None:
    assert list(stored.index) == list(expected.index), what
    assert np.allclose(stored.to_numpy(), expected.to_numpy(), equal_nan=True), (
        what,
        pd.concat([stored, expected], axis=1)[~np.isclose(stored, expected, equal_nan=True)],
    )


def test_the_store_equals_an_independent_aggregation_on_the_village(village):
    """Children with missing inputs: 010203 has no population and no 'others'."""
    with village.begin() as conn:
        # a weighted mean with a child whose weight is unknown, written directly as values
        conn.execute(
            text(
                "INSERT INTO indicators (key, catalog, topic, name_de, name_en, unit, kind, "
                "aggregation, weight, polarity, decimals, definition) VALUES "
                "('mean_household_size', 'village', 'Bevölkerung', 'Haushaltsgröße', 'Size', "
                "'Personen', 'mean', 'weighted_mean', 'inhabitants', 'neutral', 2, "
                "'{\"scale\": 1}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO statistic_values (indicator_id, region_id, period, value, status, "
                "run_id) SELECT i.id, r.id, :p, 1.5 + r.id % 4 * 0.25, 'valid', "
                "(SELECT max(id) FROM ingest_runs) FROM indicators i, regions r "
                "JOIN region_levels l ON l.id = r.level_id "
                "WHERE i.key = 'mean_household_size' AND l.key = 'plr'"
            ),
            {"p": PERIOD},
        )
        assert refresh_store(conn) > 0
        for level in ("bezirk", "bzr", "plr"):
            cases = _sums(conn, "village", "plr", level, "cases", PERIOD)
            people = _sums(conn, "village", "plr", level, "inhabitants", PERIOD)
            stored_people = _stored(conn, "village", level, "inhabitants", PERIOD)
            # cells hidden by the disclosure rule are NaN in the store (test_small_numbers)
            _assert_equal(stored_people, people.where(stored_people.notna()), level)
            assert stored_people.notna().sum() >= 1
            num, den = _pairs(conn, "village", "plr", level, "cases", "inhabitants", PERIOD)
            stored_rate = _stored(conn, "village", level, "case_rate", PERIOD)
            expected_rate = (num / den * 100).where(stored_rate.notna())  # after suppression
            _assert_equal(stored_rate, expected_rate, f"case_rate {level}")
            x, w = _pairs(
                conn, "village", "plr", level, "mean_household_size", "inhabitants", PERIOD
            )
            weighted = _stored(conn, "village", level, "mean_household_size", PERIOD)
            plr_values = _sums(conn, "village", "plr", "plr", "mean_household_size", PERIOD)
            expected = plr_values if level == "plr" else _weighted(conn, level, plr_values)
            _assert_equal(weighted, expected, f"weighted {level}")
            _assert_equal(x.where(w.notna()), x, level)
            assert cases.notna().all()


def _weighted(conn, level: str, x: pd.Series) -> pd.Series:
    people = _sums(conn, "village", "plr", "plr", "inhabitants", PERIOD)
    both = pd.concat([x, people], axis=1, keys=["x", "w"]).dropna()
    codes = _sums(conn, "village", "plr", level, "inhabitants", PERIOD).index
    return pd.Series(
        {
            c: (lambda g: (g["x"] * g["w"]).sum() / g["w"].sum())(
                both[both.index.str.startswith(c)]
            )
            for c in codes
        }
    )


@pytest.mark.mirror
def test_the_store_equals_an_independent_aggregation_on_berlin(berlin_engine):
    period = date(2024, 12, 31)
    with berlin_engine.connect() as conn:
        levels = _levels(conn, LOR)
        for level in levels:
            people = _sums(conn, LOR, "plr", level, "inhabitants", period)
            _assert_equal(_stored(conn, LOR, level, "inhabitants", period), people, level)
            num, den = _pairs(
                conn, LOR, "plr", level, "inhabitants_foreigners", "inhabitants", period
            )
            share = num / den * 100
            if level == "plr":  # published at the Planungsraum: the source's own shares
                share = _sums(conn, LOR, "plr", "plr", "share_foreigners", period)
            _assert_equal(_stored(conn, LOR, level, "share_foreigners", period), share, level)
            before = _sums(conn, LOR, "plr", level, "inhabitants", date(2022, 12, 31))
            _assert_equal(
                _stored(conn, LOR, level, "inhabitants_change_2y", period),
                people - before,
                f"formula {level}",
            )
        index = _stored(conn, LOR, "plr", "mss_status_index", date(2020, 12, 31))
        expected = _mss_status(conn)
        _assert_equal(index, expected.reindex(index.index), "composite")
        assert index.notna().sum() == 536


def _mss_status(conn) -> pd.Series:
    """The status index in SQL: z-values of S1, S3, S4 over the Planungsräume with all three,
    summed, standardised again."""
    rows = conn.execute(
        text(
            """
            WITH c AS (
                SELECT r.code, i.key, v.value FROM statistic_values v
                JOIN indicators i ON i.id = v.indicator_id JOIN regions r ON r.id = v.region_id
                JOIN region_systems s ON s.id = r.system_id
                WHERE s.key = :s AND v.period = :p AND v.status = 'valid'
                  AND i.key IN ('mss_s1_unemployment', 'mss_s3_transfer', 'mss_s4_child_poverty')
            ), complete AS (
                SELECT code FROM c GROUP BY code HAVING count(*) = 3
            ), z AS (
                SELECT c.code, (c.value - avg(c.value) OVER w) / stddev_pop(c.value) OVER w AS z
                FROM c JOIN complete USING (code) WINDOW w AS (PARTITION BY c.key)
            ), total AS (SELECT code, sum(z) AS s FROM z GROUP BY code)
            SELECT code, (s - avg(s) OVER ()) / stddev_pop(s) OVER () FROM total ORDER BY code
            """
        ),
        {"s": LOR, "p": date(2020, 12, 31)},
    ).all()
    return pd.Series(dict(rows), dtype=float)
