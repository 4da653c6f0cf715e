"""``/health``: is the app up, and which of its parts (the primary database, the read replica)
answer. 503 with ``Retry-After`` while one is down, naming it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["health"])
RETRY_AFTER = 5  # seconds: a restart of PostgreSQL or a burst of requests is over by then


def _probe(engine: Engine) -> dict:
    """What one database says of itself, or why it cannot be reached."""
    try:
        with engine.connect() as conn:
            return {
                "status": "ok",
                "postgis": conn.execute(text("SELECT postgis_lib_version()")).scalar(),
                "schema_revision": conn.execute(
                    text("SELECT version_num FROM alembic_version")
                ).scalar(),
            }
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return {"status": "down", "reason": reason[0] if reason else type(exc).__name__}


@router.get("/health", summary="Liveness and the status of each database")
def health(request: Request) -> JSONResponse:
    state = request.app.state
    parts = {"database": _probe(state.engine)}
    if state.read_engine is not state.engine:
        parts["replica"] = _probe(state.read_engine)
    down = [name for name, part in parts.items() if part["status"] != "ok"]
    primary = parts["database"]
    body = {
        "status": "ok" if not down else "unavailable",
        "down": down,
        "database": primary["status"],
        **{k: v for k, v in primary.items() if k != "status"},
        "parts": parts,
    }
    if not down:
        return JSONResponse(body)
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER)})
