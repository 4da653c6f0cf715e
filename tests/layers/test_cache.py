"""The layer cache: entries are reused until an ingest run or a catalog change makes them
unreachable; the least recently used go first."""

from __future__ import annotations

from sqlalchemy import text

from layers.cache import LayerCache


def test_cache_follows_the_data_version(engine):
    cache = LayerCache(max_entries=2, version_ttl=0)
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    with engine.begin() as conn:
        assert cache.get_or_compute(conn, "a", compute) == 1
        assert cache.get_or_compute(conn, "a", compute) == 1
        conn.execute(
            text(
                "INSERT INTO ingest_runs (kind, source, checksum, started_at, status) "
                "VALUES ('test', 'test', 'x', now(), 'ok')"
            )
        )
        assert cache.get_or_compute(conn, "a", compute) == 2  # a new run: computed again
        assert cache.get_or_compute(conn, "b", compute) == 3
        assert cache.get_or_compute(conn, "c", compute) == 4
        assert cache.get_or_compute(conn, "a", compute) == 5  # evicted by b and c
    assert cache.hits == 1 and cache.misses == 5
