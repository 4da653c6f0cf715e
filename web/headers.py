"""Response headers every answer carries: a Content-Security-Policy (scripts only from this
site or inline with the request's nonce, no plug-ins, no framing: editing forms cannot be
clicked through another site), no content sniffing, no full referrers to other sites; answers
to requests with credentials are never kept by caches and vary with those credentials."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from web.auth import credentials_in

_ALWAYS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
# the interactive API documentation loads its scripts and styles from a CDN
_DOCS = ("/docs", "/redoc")
_DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; frame-ancestors 'none'"
)


def content_policy(nonce: str, images: tuple[str, ...] = ()) -> str:
    """The policy of our pages: scripts from this site or carrying ``nonce``; styles may be
    inline (the map library positions its elements with them); images also from the base
    map's tile server (``images``) and ``data:``/``blob:`` (markers, drawn shapes)."""
    image_sources = " ".join(("'self'", "data:", "blob:", *images))
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {image_sources}; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def origin_of(url_template: str) -> str | None:
    """``https://tile.example.org`` of a tile URL template (None for none)."""
    parts = urlsplit(url_template.replace("{s}", "a"))
    if not parts.scheme or not parts.netloc:
        return None
    host = parts.netloc
    if "{s}." in url_template:  # subdomains a, b, c of one server
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"


class SecurityHeaders:
    """Pure ASGI middleware (bodies stream through untouched); the nonce of a request is
    ``request.state.csp_nonce`` for the templates."""

    def __init__(self, app, images: tuple[str, ...] = ()) -> None:
        self.app = app
        self.images = images

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        personal = credentials_in(scope)
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        docs = scope["path"].startswith(_DOCS)
        policy = (_DOCS_POLICY if docs else content_policy(nonce, self.images)).encode()

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                added = (*_ALWAYS, (b"content-security-policy", policy))
                headers += [(k, v) for k, v in added if k not in present]
                if personal:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers += [
                        (b"cache-control", b"no-store"),
                        (b"vary", b"Authorization, Cookie"),
                    ]
                message["headers"] = headers
            await send(message)

        return await self.app(scope, receive, with_headers)
