"""Composition root of the web app: ``create_app(settings)`` wires settings, the database
engine (opened and closed in the lifespan) and the routers."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from spatial.errors import SozialraumError
from spatial.settings import StoreSettings
from spatial.store import make_engine, resolve_database_url
from web.routers import health, systems
from web.settings import WebSettings


def create_app(settings: WebSettings | None = None, store: StoreSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    store = store or StoreSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        engine = make_engine(resolve_database_url(store), pool_size=settings.pool_size)
        app.state.engine = engine
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title=settings.title,
        summary="Region hierarchies, indicators, facilities and projects for social-space "
        "planning.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store_settings = store

    @app.exception_handler(SozialraumError)
    async def _user_error(_request: Request, exc: SozialraumError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    app.include_router(health.router)
    app.include_router(systems.router, prefix="/api")
    return app
