"""A small in-process cache of computed layers (indicator tables, choropleths), keyed by the
store's data version so that any ingest run or catalog change makes old entries unreachable.

Computing a table takes tens to hundreds of milliseconds (aggregation, formulas, composites);
a map page and its region panels ask for the same tables again and again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection

T = TypeVar("T")

_VERSION_SQL = text(
    "SELECT (SELECT coalesce(max(id), 0) FROM ingest_runs)::text || ':' || "
    "(SELECT coalesce(md5(string_agg(key || coalesce(definition::text, ''), ',' ORDER BY key)), "
    "'') FROM indicators)"
)


def data_version(conn: Connection) -> str:
    """Changes whenever an ingest run finishes or the indicator catalog changes."""
    return conn.execute(_VERSION_SQL).scalar_one()


class LayerCache:
    """Least-recently-used results of layer computations, safe to share between threads."""

    def __init__(self, max_entries: int = 512, version_ttl: float = 2.0) -> None:
        self.max_entries = max_entries
        self.version_ttl = version_ttl  # seconds an ingest may go unnoticed
        self._version: tuple[float, str] | None = None
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, conn: Connection, key: Hashable, compute: Callable[[], T]) -> T:
        full_key = (self._current_version(conn), key)
        with self._lock:
            if full_key in self._entries:
                self._entries.move_to_end(full_key)
                self.hits += 1
                return self._entries[full_key]  # type: ignore[return-value]
        value = compute()  # outside the lock: two threads may compute the same thing once each
        with self._lock:
            self.misses += 1
            self._entries[full_key] = value
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def _current_version(self, conn: Connection) -> str:
        # one version query per moment, not per lookup: a page makes hundreds of lookups
        now = time.monotonic()
        if self._version is None or now - self._version[0] > self.version_ttl:
            self._version = (now, data_version(conn))
        return self._version[1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
