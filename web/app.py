"""Composition root of the web app: ``create_app(settings)`` wires settings, the database
engine (opened and closed in the lifespan), the layer cache, the routers and the static files."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from accounts.users import AccountError, UnknownUser
from layers.cache import STORE_VERSION, LayerCache
from layers.errors import InvalidParameter, NotComputable, NotFound
from records.errors import Forbidden, InvalidRecord, RecordNotFound, VersionConflict
from records.history import without_contacts as _without_contacts
from spatial.cities import Cities
from spatial.errors import SozialraumError
from spatial.licences import load_licences
from spatial.store import make_engine, resolve_database_url
from web.auth import CsrfRejected, NotSignedIn
from web.headers import SecurityHeaders, origin_of
from web.limits import BodyLimit
from web.pdfs import BUSY_DE, PdfRenderer, RendererBusy
from web.refresher import StoreRefresher
from web.routers import (
    events,
    exports,
    facilities,
    health,
    indicators,
    maps,
    ogc,
    ogc_tiles,
    pages,
    profiles,
    projects,
    regions,
    sections,
    systems,
    tiles,
    users,
    workspace,
)
from web.routers.health import RETRY_AFTER
from web.settings import Settings

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("uvicorn.error")  # shown wherever uvicorn logs


UNAVAILABLE = "the database is not available at the moment; try again in a few seconds"
UNAVAILABLE_DE = "Die Datenbank ist gerade nicht erreichbar. Bitte gleich noch einmal versuchen."

_STATUS = (
    (NotFound | RecordNotFound | UnknownUser, 404),
    (InvalidParameter | NotComputable | InvalidRecord | AccountError, 422),
    (NotSignedIn, 401),
    (Forbidden | CsrfRejected, 403),
    (VersionConflict, 409),
)


def _status(exc: SozialraumError) -> int:
    for kinds, status in _STATUS:
        if isinstance(exc, kinds):
            return status
    return 400


def create_app(config: Settings | None = None) -> FastAPI:
    """The app for ``config`` (default: the settings of the environment)."""
    config = config or Settings()
    settings, store, data, records = config.web, config.store, config.data, config.records

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # the check of a lent connection reads the store's version, which a request reads next
        pool = {
            "pool_size": settings.pool_size,
            "pool_timeout": settings.pool_timeout,
            "probe": STORE_VERSION,
            "jit": False,  # requests are short reads
        }
        engine = make_engine(resolve_database_url(store), **pool)
        app.state.engine = engine
        # read-only requests may go to a streaming replica; writes always to the primary
        reader = engine
        if store.database_read_url:
            reader = make_engine(store.database_read_url, **pool)
        app.state.read_engine = reader
        refresher = StoreRefresher(engine) if settings.refresh_store else None
        app.state.refresher = refresher
        if refresher is not None:
            refresher.start()
        try:
            yield
        finally:
            if refresher is not None:
                refresher.close()
            if reader is not engine:
                reader.dispose()
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
    app.state.record_settings = records
    app.state.profile_settings = config.profiles
    app.state.cities = Cities(data.packs(), data.default_city)
    app.state.licences = load_licences(data.licences_file)
    app.state.cache = LayerCache(settings.cache_entries, settings.cache_mb * 2**20)
    app.state.tiles = LayerCache(settings.tile_cache_entries, settings.tile_cache_mb * 2**20)
    app.state.pdfs = PdfRenderer(
        settings.pdf_cache_mb * 2**20, settings.pdf_concurrency, settings.pdf_wait_seconds
    )

    @app.exception_handler(SozialraumError)
    async def _user_error(request: Request, exc: SozialraumError):
        status = _status(exc)
        if pages.wants_html(request):
            if status == 401:
                return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
            return pages.error_page(request, status, str(exc))
        content: dict = {"detail": str(exc)}
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, VersionConflict):
            content.update(current=_without_contacts(exc.current), changes=exc.changes)
        return JSONResponse(status_code=status, content=content, headers=headers)

    @app.exception_handler(DataError)
    async def _bad_data(request: Request, exc: DataError):
        # the database refused a value a request carried (a NUL byte, a number out of range)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "invalid value"
        message = f"invalid input: {reason}"
        if pages.wants_html(request):
            return pages.error_page(request, 422, message)
        return JSONResponse(status_code=422, content={"detail": message})

    def _unavailable(request: Request, english: str, german: str):
        headers = {"Retry-After": str(RETRY_AFTER)}
        if pages.wants_html(request):
            page = pages.error_page(request, 503, german)
            page.headers.update(headers)
            return page
        return JSONResponse(status_code=503, content={"detail": english}, headers=headers)

    async def _outage(request: Request, exc: Exception):
        # the database is down, restarting or out of connections: the client may try again
        log.warning("database unavailable for %s: %s", request.url.path, str(exc).splitlines()[0])
        return _unavailable(request, UNAVAILABLE, UNAVAILABLE_DE)

    for kind in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(kind, _outage)

    @app.exception_handler(RendererBusy)
    async def _busy(request: Request, exc: RendererBusy):
        return _unavailable(request, str(exc), BUSY_DE)

    @app.exception_handler(RequestValidationError)
    async def _bad_parameter(request: Request, exc: RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e['loc'] if p not in ('query', 'path'))}: {e['msg']}"
            for e in exc.errors()
        ]
        message = "; ".join(problems)
        if pages.wants_html(request):
            return pages.error_page(request, 422, message)
        return JSONResponse(status_code=422, content={"detail": message, "errors": problems})

    app.add_middleware(GZipMiddleware, minimum_size=2048, compresslevel=settings.gzip_level)
    app.add_middleware(BodyLimit, max_bytes=records.max_payload_kb * 1024)
    base_map = origin_of(settings.tile_url) if settings.tile_url else None
    app.add_middleware(SecurityHeaders, images=(base_map,) if base_map else ())
    # tiles first: a map asks for them most often, and routes are matched in order
    app.include_router(tiles.router)
    app.include_router(ogc_tiles.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(health.router)
    for router in (
        systems,
        regions,
        indicators,
        maps,
        facilities,
        projects,
        events,
        users,
        exports,
        sections,
    ):
        app.include_router(router.router, prefix="/api")
    app.include_router(ogc.router)
    app.include_router(pages.router)
    app.include_router(workspace.router)
    app.include_router(profiles.router)
    return app
