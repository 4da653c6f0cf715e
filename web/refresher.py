"""Keeps the indicator store filled while the app serves: a background thread computes the
tables that are missing or stale (after the app starts, and whenever a request changed records
that feed indicators), committing each one at once, on a connection of its own."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.engine import Engine

from layers.materialize import refresh_store

log = logging.getLogger("sozialraum.web")


class StoreRefresher:
    """One thread; ``request()`` asks for a refresh, ``close()`` ends it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-refresher", daemon=True)
        self.refreshed = 0
        self.runs = 0  # refreshes finished, done or failed

    def start(self) -> None:
        self._wanted.set()
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def close(self) -> None:
        self._stop.set()
        self._wanted.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        # regions change only with a boundary load, whose command refreshes the store itself:
        # the tile shapes are checked once, not on every wake-up after an event save
        tile_shapes = True
        while not self._stop.is_set():
            self._wanted.wait()
            self._wanted.clear()
            if self._stop.is_set():
                return
            try:
                started = time.perf_counter()
                with self.engine.connect() as conn:
                    done = refresh_store(
                        conn, commit_each=True, stop=self._stop, tile_shapes=tile_shapes
                    )
                tile_shapes = False
                self.refreshed += done
                if done:
                    log.info(
                        "indicator store: %d tables in %.1f s", done, time.perf_counter() - started
                    )
            except Exception:  # a failed refresh costs speed only: reads compute what is missing
                log.exception("indicator store refresh failed")
            self.runs += 1
