"""Profile PDFs, rendered at most once per content and only a few at a time. A PDF takes
seconds of CPU to lay out: the document (HTML) is built on every request, but the PDF of the
same document is taken from a byte-bounded cache (or awaited while another request lays it
out), and a request that finds every renderer busy for too long is answered 503 instead of
queueing without end."""

from __future__ import annotations

import hashlib
import threading

from layers.cache import BoundedLRU
from profiles.document import html_to_pdf

RENDER_SECONDS = 120  # the longest a layout may take while others wait for it
BUSY_DE = "Gerade werden zu viele Profile als PDF erstellt. Bitte gleich noch einmal versuchen."


class RendererBusy(Exception):
    """Every renderer stayed busy for longer than a request may wait (503)."""


class PdfRenderer:
    """The PDFs of standalone HTML documents, keyed by the document's digest (so a change of
    data, sections or the reader's version is a new document, and nothing stale is served)."""

    def __init__(self, max_bytes: int, concurrency: int, wait_seconds: float) -> None:
        self._cache = BoundedLRU(max_entries=10_000, max_bytes=max_bytes)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._wait = wait_seconds
        self._rendering: dict[bytes, threading.Event] = {}  # documents being laid out now
        self._guard = threading.Lock()
        self.renders = 0  # PDFs laid out since the start
        self.rendering = 0  # being laid out now

    def pdf(self, document: str) -> bytes:
        key = hashlib.sha256(document.encode()).digest()
        found = self._cache.get(key)
        if found is not None:
            return found
        with self._guard:
            running = self._rendering.get(key)
            if running is None:
                self._rendering[key] = threading.Event()
        if running is not None:
            # the same document is being laid out for another request: wait for that one
            running.wait(timeout=self._wait + RENDER_SECONDS)
            found = self._cache.get(key)
            if found is None:
                raise RendererBusy("every PDF renderer is busy; try again in a few seconds")
            return found
        try:
            return self._render(key, document)
        finally:
            with self._guard:
                self._rendering.pop(key).set()

    def _render(self, key: bytes, document: str) -> bytes:
        if not self._slots.acquire(timeout=self._wait):
            raise RendererBusy("every PDF renderer is busy; try again in a few seconds")
        try:
            self.rendering += 1
            try:
                found = html_to_pdf(document)
            finally:
                self.rendering -= 1
            self.renders += 1
            self._cache.put(key, found)
            return found
        finally:
            self._slots.release()

    @property
    def cached_bytes(self) -> int:
        return self._cache.bytes
