"""The service under faults, on a store of its own (no data mirror needed): more concurrent
signed-in requests than pool connections all answer (the visitor is resolved on the request's
own connection), and while PostgreSQL is stopped every request gets a 503 with ``Retry-After``,
``/health`` naming the part that is down, until the server is back."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import SRID, accessible_tempdir
from webserver import serve

from accounts.tokens import create_token
from accounts.users import add_user
from spatial import store
from spatial.cluster import EmbeddedCluster
from spatial.store import make_engine, migrate
from web.settings import WebSettings


def _token(url: str, name: str = "leserin") -> str:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            add_user(conn, name, "ein-gutes-passwort", "viewer")
            return create_token(conn, name, "tests")
    finally:
        engine.dispose()


def _served(url: str, settings: WebSettings) -> Iterator[str]:
    return serve(url, settings)


def _many(base: str, path: str, headers: dict, count: int) -> list[int]:
    """``count`` requests at once (threads: the browser tests keep an event loop running)."""
    barrier = threading.Barrier(count)

    def one(_) -> int:
        with httpx.Client(base_url=base, timeout=60) as http:
            barrier.wait()
            return http.get(path, headers=headers).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_more_signed_in_requests_than_pool_connections_all_answer(db_url):
    token = _token(db_url)
    # two connections at most (one kept, one on demand); 24 requests at once
    settings = WebSettings(pool_size=1, pool_timeout=5, refresh_store=False)
    server = _served(db_url, settings)
    base = next(server)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        statuses = _many(base, "/api/projects", headers, 24)
        assert statuses == [200] * 24
        assert (_many(base, "/api/projects/1", headers, 24)) == [404] * 24
    finally:
        next(server, None)


@pytest.fixture
def own_cluster() -> Iterator[tuple[EmbeddedCluster, str]]:
    """A cluster this test may stop and start again, with a migrated store."""
    root = accessible_tempdir("sz-outage-")
    cluster = EmbeddedCluster(root)
    cluster.start()
    url = store.create_database(cluster.url(), "sz_outage")
    migrate(url, SRID)
    try:
        yield cluster, url
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_while_postgresql_is_down_requests_get_503_and_health_names_the_database(own_cluster):
    cluster, url = own_cluster
    token = _token(url)
    server = _served(url, WebSettings(refresh_store=False, pool_timeout=2))
    base = next(server)
    try:
        with httpx.Client(base_url=base, timeout=30) as http:
            assert http.get("/health").json()["status"] == "ok"
            assert http.get("/api/systems").status_code == 200
            cluster.stop()

            health = http.get("/health")
            assert health.status_code == 503
            assert health.headers["retry-after"] == "5"
            body = health.json()
            assert body["status"] == "unavailable" and body["down"] == ["database"]
            assert body["parts"]["database"]["reason"]  # why, as the driver said it

            for path, headers in (
                ("/api/systems", {}),
                ("/api/projects", {"Authorization": f"Bearer {token}"}),
                ("/ogc/collections", {}),
            ):
                answer = http.get(path, headers=headers)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["retry-after"] == "5"
                assert "try again" in answer.json()["detail"]
            page = http.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 503
            assert "Vorübergehend nicht verfügbar" in page.text

            cluster.start()
            assert http.get("/health").status_code == 200
            assert http.get("/api/systems").status_code == 200
            assert http.get("/api/projects", headers={"Authorization": f"Bearer {token}"}).json()
    finally:
        next(server, None)
