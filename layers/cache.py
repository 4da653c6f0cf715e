"""A small in-process cache of layer results (indicator tables, classes, choropleths, tiles),
keyed by the store's data versions so that no entry outlives the data it was made from.

The versions live in PostgreSQL (``data_versions``, one per region system and indicator) and
change in the same transaction as the data (migration 0009), so every worker process sees the
same version at its next request. An entry that depends on one indicator of one system names it
(``scope``) and survives changes of everything else (an event save does not empty the cache of
the population maps); other entries follow the version of the whole store.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection

from spatial.store import probed

T = TypeVar("T")

# the sum, not the maximum: a transaction that drew its version early and commits late still
# changes it (every bump raises one row's version)
STORE_VERSION = "SELECT coalesce(sum(version), 0)::text || ':' || count(*)::text FROM data_versions"
_STORE_VERSION = text(STORE_VERSION)
_VERSIONS = text(
    "SELECT v.system_id, i.key, v.version FROM data_versions v JOIN indicators i "
    "ON i.id = v.indicator_id"
)
_MEMO = "sozialraum.data_version"
_MISSING = object()


def data_version(conn: Connection) -> str:
    """The version of the whole store, read once per transaction of ``conn``: it changes with
    every committed change of values, regions or the catalog. An autocommit connection lent
    by an engine that probes with ``STORE_VERSION`` takes the version read when it was lent:
    read before anything the request reads, and what it writes is committed at once, so no
    entry can carry data of a version it is not filed under."""
    transaction = conn.get_transaction()
    memo = conn.info.get(_MEMO)
    if transaction is not None and memo is not None and memo[0] is transaction:
        return memo[1]
    version = probed(conn)
    if version is None or not conn.connection.driver_connection.autocommit:
        version = conn.execute(_STORE_VERSION).scalar_one()
    elif transaction is None:
        conn.begin()  # what the read would have begun: the memo holds for this transaction
    conn.info[_MEMO] = (conn.get_transaction(), version)
    return version


def approximate_size(value: object, depth: int = 0) -> int:
    """Bytes a cached value holds, near enough to bound a cache: exact for bytes and text,
    summed over containers and the fields of objects (four levels deep)."""
    if isinstance(value, bytes | bytearray | str):
        return sys.getsizeof(value)
    if isinstance(value, memoryview):
        return value.nbytes
    own = sys.getsizeof(value)
    if depth >= 4:
        return own
    if hasattr(value, "memory_usage") and hasattr(value, "columns"):  # a DataFrame
        return int(value.memory_usage(deep=True).sum())
    if isinstance(value, dict):
        return own + sum(
            approximate_size(k, depth + 1) + approximate_size(v, depth + 1)
            for k, v in value.items()
        )
    if isinstance(value, list | tuple | set | frozenset):
        return own + sum(approximate_size(v, depth + 1) for v in value)
    fields = getattr(value, "__dict__", None)
    if fields is None and hasattr(value, "__slots__"):
        fields = {k: getattr(value, k, None) for k in value.__slots__}
    return own + (approximate_size(fields, depth + 1) if fields else 0)


class BoundedLRU:
    """Least-recently-used values bounded in count and in (approximate) bytes, safe to share
    between threads. A value larger than the whole budget is not kept."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0

    def get(self, key: Hashable, default=None):
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return default
            self._entries.move_to_end(key)
            return found[0]

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def put(self, key: Hashable, value: object) -> None:
        size = approximate_size(value)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes or self.max_entries == 0:
                return
            self._entries[key] = (value, size)
            self.bytes += size
            while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


class LayerCache:
    """Least-recently-used results of layer computations (bounded in count and bytes), safe to
    share between threads."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 256 * 2**20) -> None:
        self.max_entries = max_entries
        self._entries = BoundedLRU(max_entries, max_bytes)
        self._versions: tuple[str, dict[tuple[int, str], int]] = ("", {})
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
        found = self._entries.get(full_key, _MISSING)
        if found is not _MISSING:
            self.hits += 1
            return found  # type: ignore[return-value]
        value = compute()  # unlocked: two threads may compute the same thing once each
        self.misses += 1
        self._entries.put(full_key, value)
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

    @property
    def bytes(self) -> int:
        return self._entries.bytes

    def clear(self) -> None:
        self._entries.clear()
