"""A small in-process cache of layer results (indicator tables, classes, choropleths, tiles),
keyed by the store's data versions so that no entry outlives the data it was made from.

The versions live in PostgreSQL (``data_versions``, one per region system and indicator) and
change in the same transaction as the data (migration 0009), so every worker process sees the
same version at its next request. An entry that depends on one indicator of one system names it
(``scope``) and survives changes of everything else (an event save does not empty the cache of
the population maps); other entries follow the version of the whole store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection

T = TypeVar("T")

# the sum, not the maximum: a transaction that drew its version early and commits late still
# changes it (every bump raises one row's version)
_STORE_VERSION = text(
    "SELECT coalesce(sum(version), 0)::text || ':' || count(*)::text FROM data_versions"
)
_VERSIONS = text(
    "SELECT v.system_id, i.key, v.version FROM data_versions v JOIN indicators i "
    "ON i.id = v.indicator_id"
)
_MEMO = "sozialraum.data_version"


def data_version(conn: Connection) -> str:
    """The version of the whole store, read once per transaction of ``conn``: it changes with
    every committed change of values, regions or the catalog."""
    transaction = conn.get_transaction()
    memo = conn.info.get(_MEMO)
    if transaction is not None and memo is not None and memo[0] is transaction:
        return memo[1]
    version = conn.execute(_STORE_VERSION).scalar_one()
    conn.info[_MEMO] = (conn.get_transaction(), version)
    return version


class LayerCache:
    """Least-recently-used results of layer computations, safe to share between threads."""

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, object] = OrderedDict()
        self._versions: tuple[str, dict[tuple[int, str], int]] = ("", {})
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get_or_compute(
        self,
        conn: Connection,
        key: Hashable,
        compute: Callable[[], T],
        scope: tuple[int, str] | None = None,
    ) -> T:
        """The cached result for ``key``, else ``compute()``. With ``scope`` (system id,
        indicator key) the entry follows that indicator's version only."""
        full_key = (self._version_of(conn, scope), key)
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

    def _version_of(self, conn: Connection, scope: tuple[int, str] | None) -> object:
        store = data_version(conn)
        if scope is None:
            return store
        seen, versions = self._versions
        if seen != store:
            versions = {(s, k): v for s, k, v in conn.execute(_VERSIONS)}
            self._versions = (store, versions)
        return ("scope", scope, versions.get(scope, 0))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
