"""Bounded work for profile PDFs (no data mirror needed): the same document is laid out once,
a request that finds every renderer busy is refused (503) instead of queueing, and the caches
hold at most their budget of bytes."""

from __future__ import annotations

import threading
import time

import pytest

from layers.cache import BoundedLRU, approximate_size
from web.pdfs import PdfRenderer, RendererBusy


def _document(title: str, paragraphs: int = 3) -> str:
    body = "".join(f"<p>Absatz {i}: {'Sozialraum ' * 40}</p>" for i in range(paragraphs))
    return f"<!doctype html><html><body><h1>{title}</h1>{body}</body></html>"


def test_the_same_document_is_laid_out_once():
    renderer = PdfRenderer(max_bytes=50 * 2**20, concurrency=2, wait_seconds=5)
    first = renderer.pdf(_document("Mitte"))
    again = renderer.pdf(_document("Mitte"))
    assert first.startswith(b"%PDF") and again == first
    assert renderer.renders == 1
    renderer.pdf(_document("Pankow"))  # another document (other data, other reader)
    assert renderer.renders == 2


def test_a_request_finding_every_renderer_busy_is_refused():
    renderer = PdfRenderer(max_bytes=50 * 2**20, concurrency=1, wait_seconds=0.2)
    long = threading.Thread(target=renderer.pdf, args=(_document("Lang", paragraphs=1500),))
    long.start()
    deadline = time.monotonic() + 30
    while renderer.rendering == 0 and long.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert renderer.rendering == 1, "the long document should be laid out now"
    started = time.monotonic()
    with pytest.raises(RendererBusy, match="try again"):
        renderer.pdf(_document("Kurz"))
    assert time.monotonic() - started < 2  # refused after the wait, not after the long one
    long.join()
    assert renderer.pdf(_document("Kurz")).startswith(b"%PDF")  # free again


def test_the_pdf_cache_holds_at_most_its_bytes():
    size = len(PdfRenderer(50 * 2**20, 1, 5).pdf(_document("A")))
    renderer = PdfRenderer(max_bytes=int(size * 2.5), concurrency=1, wait_seconds=5)
    for name in ("A", "B", "C", "D"):
        renderer.pdf(_document(name))
    assert 0 < renderer.cached_bytes <= size * 2.5
    renderer.pdf(_document("A"))  # evicted: laid out again
    assert renderer.renders == 5


def test_a_bounded_cache_evicts_by_bytes_and_keeps_nothing_too_large():
    cache = BoundedLRU(max_entries=100, max_bytes=10_000)
    for i in range(10):
        cache.put(i, b"x" * 3000)
    assert cache.bytes <= 10_000 and len(cache) == 3
    assert cache.get(9) is not None and cache.get(0) is None
    cache.put("huge", b"x" * 20_000)
    assert "huge" not in cache and cache.bytes <= 10_000
    table = {f"{i:08d}": (float(i), "valid") for i in range(1000)}
    assert approximate_size(table) > 1000 * 100  # keys, tuples, floats and texts counted


def test_requests_for_a_document_being_laid_out_wait_for_that_layout():
    renderer = PdfRenderer(max_bytes=50 * 2**20, concurrency=1, wait_seconds=30)
    document = _document("Gleichzeitig", paragraphs=300)
    results: list[bytes] = []

    def ask() -> None:
        results.append(renderer.pdf(document))

    askers = [threading.Thread(target=ask) for _ in range(6)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert len(results) == 6 and len(set(results)) == 1
    assert renderer.renders == 1  # laid out once for all six
