"""A local HTTP server for download tests: static files, a failing URL, and a minimal WFS
GetFeature endpoint that answers with ``<typenames>.geojson`` from the served directory."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest


class _Handler(SimpleHTTPRequestHandler):
    """Serves files from a directory, and a minimal WFS GetFeature endpoint at /wfs."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.server.requests.append(self.path)
        if url.path == "/wfs":
            query = {k.lower(): v[0] for k, v in parse_qs(url.query).items()}
            if query.get("request", "").lower() != "getfeature" or "typenames" not in query:
                self.send_error(400, "bad WFS request")
                return
            body = (Path(self.directory) / f"{query['typenames']}.geojson").read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; subtype=geojson")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if url.path == "/broken":
            self.send_error(500, "server error")
            return
        super().do_GET()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    root = tmp_path / "www"
    root.mkdir()
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **kw: _Handler(*a, directory=str(root), **kw)
    )
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root, httpd.requests
    httpd.shutdown()
    httpd.server_close()
