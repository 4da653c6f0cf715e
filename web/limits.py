"""Request-body limit for writes: a body over the limit is refused with a clear 422 before the
app parses it (by its Content-Length, or while it streams in when there is none: such a body
is read up to the limit here and then handed on)."""

from __future__ import annotations

import json


class BodyLimit:
    """Pure ASGI middleware, so nothing buffers the body before the check."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, int(declared))
        if declared is not None:
            return await self.app(scope, receive, send)  # the server holds it to its length
        # no length (chunked): read up to the limit first, then hand the body on; the app's
        # own body parser would turn a refusal while reading into a generic 400
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                return await self._refuse(send, seen)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send, size: int) -> None:
        body = json.dumps(
            {
                "detail": f"the request body ({size // 1024} KB or more) exceeds the limit of "
                f"{self.max_bytes // 1024} KB; nothing was written"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
