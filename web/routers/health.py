"""``/health``: is the app up and can it reach the store."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from web.deps import get_connection

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness and database status")
def health(conn: Connection = Depends(get_connection)) -> JSONResponse:
    try:
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        return JSONResponse(
            status_code=503,
            content={"status": "error", "database": str(exc).splitlines()[0]},
        )
    return JSONResponse(
        {"status": "ok", "database": "ok", "postgis": postgis, "schema_revision": revision}
    )
