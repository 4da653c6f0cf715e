"""Request dependencies: a database connection from the app's engine, the layer cache and the
settings, all held by the app (built in ``create_app``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from layers.cache import LayerCache
from layers.regions import newest_system
from profiles.settings import ProfileSettings
from spatial.cities import STANDARD_SECTIONS, Cities, CityPack, MapDefaults
from spatial.features import Attribution
from spatial.licences import Licence
from web.auth import has_credentials, resolve_visitor
from web.settings import WebSettings


@contextmanager
def request_connection(request: Request, autocommit: bool = False) -> Iterator[Connection]:
    """The request's connection. A request that names someone reads from the primary (its
    visitor is resolved on this connection, and they see what they just wrote); the others
    from the replica when one is configured. ``autocommit`` for an anonymous read whose
    statements need no common snapshot (each one of a READ COMMITTED transaction has its own
    anyway): no BEGIN and COMMIT go to the server, and the driver keeps its prepared
    statements, which it drops on every ROLLBACK."""
    state = request.app.state
    if not has_credentials(request):
        with state.read_engine.connect() as conn:
            if autocommit:
                conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
        return
    with state.engine.connect() as conn:
        resolve_visitor(request, conn)
        yield conn


def get_connection(request: Request) -> Iterator[Connection]:
    """Dependency: one connection per request, held until the answer is sent (routes whose
    answer takes long without the database, such as a PDF, use ``request_connection`` for
    the part that needs it)."""
    with request_connection(request) as conn:
        yield conn


# what the app holds, read in one place: the ``*_of`` helpers for code that runs outside the
# dependency graph (the tile routes, pages), the ``get_*`` dependencies for the routes


def cache_of(request: Request) -> LayerCache:
    return request.app.state.cache


async def get_cache(request: Request) -> LayerCache:
    return cache_of(request)


def settings_of(request: Request) -> WebSettings:
    return request.app.state.settings


async def get_settings(request: Request) -> WebSettings:
    # the trivial dependencies are coroutines: a plain function would be run in a worker
    # thread, and the hop cost more than the lookup
    return settings_of(request)


async def get_engine(request: Request) -> Engine:
    """For writes outside the records (login, users): each opens its own transaction
    (``with engine.begin()``), committed before the response is built."""
    return request.app.state.engine


def records_of(request: Request) -> Attribution:
    """Whom exports and services credit for projects and events."""
    return request.app.state.record_settings.credit()


async def get_records(request: Request) -> Attribution:
    return records_of(request)


def licences_of(request: Request) -> dict[str, Licence]:
    """The licence catalog (names → their text's address)."""
    return request.app.state.licences


async def get_licences(request: Request) -> dict[str, Licence]:
    return licences_of(request)


def cities_of(request: Request) -> Cities:
    """The city packs in use (their map defaults, profile templates and official CRS)."""
    return request.app.state.cities


async def get_cities(request: Request) -> Cities:
    return cities_of(request)


def default_system(conn: Connection, settings: WebSettings, cities: Cities) -> str:
    """The region system a request without one is about: the setting, else the map system of
    the first city whose system is loaded (the default city first), else the newest one."""
    if settings.default_system:
        return settings.default_system
    loaded = set(conn.execute(text("SELECT key FROM region_systems")).scalars())
    for _pack, system in cities.map_systems():
        if system in loaded:
            return system
    return newest_system(conn)


def map_defaults(settings: WebSettings, pack: CityPack | None) -> MapDefaults:
    """What the map and the services show for a city: its pack's defaults, where a setting
    does not override them for every city."""
    base = pack.map if pack else MapDefaults(indicator="")
    return base.model_copy(
        update={
            "indicator": settings.default_indicator or base.indicator,
            "key_indicators": settings.key_indicators or base.key_indicators,
            "service_indicators": settings.service_indicators or base.service_indicators,
        }
    )


def standard_sections(request: Request, system: str) -> dict[str, str]:
    """The standard written sections of the profiles of ``system``'s city."""
    pack = request.app.state.cities.of_system(system)
    return dict(pack.profile.sections) if pack else dict(STANDARD_SECTIONS)


async def get_profile_settings(request: Request) -> ProfileSettings:
    return request.app.state.profile_settings
