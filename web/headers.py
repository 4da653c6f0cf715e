"""Response headers every answer carries: no framing of our pages (editing forms cannot be
clicked through another site), no content sniffing, no full referrers to other sites; answers
to requests with credentials are never kept by caches and vary with those credentials."""

from __future__ import annotations

from web.auth import SESSION_COOKIE

_SESSION = SESSION_COOKIE.encode() + b"="
_ALWAYS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def _has_credentials(headers: dict[bytes, bytes]) -> bool:
    if b"authorization" in headers:
        return True
    return _SESSION in headers.get(b"cookie", b"")


class SecurityHeaders:
    """Pure ASGI middleware (bodies stream through untouched)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        personal = _has_credentials(dict(scope["headers"]))

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in _ALWAYS if k not in present]
                if personal:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers += [
                        (b"cache-control", b"no-store"),
                        (b"vary", b"Authorization, Cookie"),
                    ]
                message["headers"] = headers
            await send(message)

        return await self.app(scope, receive, with_headers)
