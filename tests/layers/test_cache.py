"""The layer cache follows the data versions of the store: an entry is reused until a committed
change of what it depends on, whatever the order in which transactions commit; entries scoped
to one indicator survive changes of the others; the least recently used go first."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SRID
from geodata import load_town, load_town_values
from sqlalchemy import event, text

from layers.cache import STORE_VERSION, LayerCache, data_version
from spatial.store import make_engine, probed

PERIOD = date(2024, 12, 31)


@pytest.fixture
def town(engine, tmp_path, data_settings):
    load_town(engine, tmp_path, data_settings, SRID)
    table = tmp_path / "ew.csv"
    table.write_text("Nr;EW;Ausl;U6\n010101;100;50;5\n010102;1000;100;60\n010103;500;20;30\n")
    columns = {
        "EW": "inhabitants",
        "Ausl": "inhabitants_foreigners",
        "U6": "inhabitants_age_below_6",
    }
    load_town_values(engine, table, data_settings, columns, PERIOD)
    return engine


def _set(conn, key: str, code: str, value: float) -> None:
    conn.execute(
        text(
            "UPDATE statistic_values v SET value = :v FROM indicators i, regions r "
            "WHERE i.id = v.indicator_id AND r.id = v.region_id AND i.key = :k AND r.code = :c"
        ),
        {"v": value, "k": key, "c": code},
    )


def _counter():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    return compute


def test_entries_follow_committed_changes_and_are_evicted(town):
    cache = LayerCache(max_entries=2)
    compute = _counter()
    with town.connect() as conn:
        assert cache.get_or_compute(conn, "a", compute) == 1
        assert cache.get_or_compute(conn, "a", compute) == 1
        conn.commit()
        with town.begin() as other:
            _set(other, "inhabitants", "010101", 101)
        assert cache.get_or_compute(conn, "a", compute) == 2  # changed data: computed again
        assert cache.get_or_compute(conn, "b", compute) == 3
        assert cache.get_or_compute(conn, "c", compute) == 4
        assert cache.get_or_compute(conn, "a", compute) == 5  # evicted by b and c
    assert cache.hits == 1 and cache.misses == 5


def test_a_change_keeps_the_entries_of_unrelated_indicators(town):
    cache = LayerCache()
    compute = _counter()
    with town.connect() as conn:
        system_id = conn.execute(text("SELECT id FROM region_systems")).scalar_one()
        people, foreigners = (system_id, "inhabitants"), (system_id, "inhabitants_foreigners")
        assert cache.get_or_compute(conn, "people", compute, scope=people) == 1
        assert cache.get_or_compute(conn, "foreigners", compute, scope=foreigners) == 2
        conn.commit()
        with town.begin() as other:
            _set(other, "inhabitants_foreigners", "010101", 51)
        assert cache.get_or_compute(conn, "people", compute, scope=people) == 1  # kept
        assert cache.get_or_compute(conn, "foreigners", compute, scope=foreigners) == 3
        conn.commit()
        with town.begin() as other:  # the population feeds the share of foreigners
            _set(other, "inhabitants", "010102", 1001)
        assert cache.get_or_compute(conn, "people", compute, scope=people) == 4


def test_a_transaction_that_commits_late_still_changes_the_version(town):
    """Two real connections: the long one changes its values first and commits last (on
    indicators that share nothing computed from them, so neither waits for the other)."""
    with town.connect() as reader, town.connect() as long, town.connect() as short:
        before = data_version(reader)
        reader.commit()
        _set(long, "inhabitants_foreigners", "010101", 49)  # draws its version now
        _set(short, "inhabitants_age_below_6", "010102", 61)
        short.commit()
        after_short = data_version(reader)
        reader.commit()
        assert after_short != before
        long.commit()
        after_long = data_version(reader)
        assert after_long != after_short  # the late commit is seen, the cache recomputes


def test_level_values_on_one_connection_follow_the_data_version(town):
    from layers.evaluators import ValuesMemo, level_values
    from layers.levels import get_level
    from layers.meta import get_indicator

    with town.connect() as conn:
        level, meta = get_level(conn, "town", "bzr"), get_indicator(conn, "inhabitants")
        assert level_values(conn, meta, level, PERIOD)["value"].tolist() == [1600]
        memo = ValuesMemo.of(conn)
        assert len(memo.entries) == 1
        level_values(conn, meta, level, PERIOD)["value"] = 0  # a copy: the memo is unharmed
        assert level_values(conn, meta, level, PERIOD)["value"].tolist() == [1600]
        _set(conn, "inhabitants", "010101", 200)  # same connection, same transaction
        assert level_values(conn, meta, level, PERIOD)["value"].tolist() == [1700]
        memo.max_rows = 1
        memo.put(("x",), level_values(conn, meta, level, PERIOD))
        assert memo.rows <= 1 and len(memo.entries) == 1


def _statements(engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_a_probing_engine_reads_the_version_when_it_lends_a_connection(town):
    url = town.url.render_as_string(hide_password=False)
    probing = make_engine(url, pool_size=1, probe=STORE_VERSION)
    try:
        seen = _statements(probing)
        with town.connect() as plain:
            expected = data_version(plain)
        with probing.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            assert data_version(conn) == expected
            assert data_version(conn) == expected  # the memo of this transaction
            assert seen == []  # the check when it was lent was the read
            conn.commit()
            assert data_version(conn) == expected  # a new transaction reads again
            assert len(seen) == 1
        with town.begin() as other:
            _set(other, "inhabitants", "010101", 102)
        with probing.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            assert data_version(conn) != expected  # lent again: checked and read again
        seen.clear()
        with probing.connect() as conn:
            # in a transaction the version is read in it: what it writes is not committed yet
            data_version(conn)
            assert len(seen) == 1
    finally:
        probing.dispose()


def test_a_probed_connection_the_server_dropped_is_replaced(town):
    url = town.url.render_as_string(hide_password=False)
    probing = make_engine(url, pool_size=1, probe="SELECT pg_backend_pid()")
    missing = make_engine(url, pool_size=1, probe="SELECT 1 FROM no_such_table")
    try:
        with probing.connect() as conn:
            first = probed(conn)
            assert isinstance(first, int) and probed(conn) is None  # the answer, once
        with town.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
        with probing.connect() as conn:  # the pooled connection is dead: connected again
            again = probed(conn)
            assert isinstance(again, int) and again != first
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
        with missing.connect() as conn:  # the server answered: the connection is lent
            assert probed(conn) is None
            assert conn.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        probing.dispose()
        missing.dispose()
