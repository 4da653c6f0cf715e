"""Request dependencies: a database connection from the app's engine, the layer cache and the
settings, all held by the app (built in ``create_app``)."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.engine import Connection, Engine

from layers.cache import LayerCache
from profiles.settings import ProfileSettings
from spatial.features import Attribution
from web.settings import WebSettings


def get_connection(request: Request) -> Iterator[Connection]:
    with request.app.state.engine.connect() as conn:
        yield conn


def get_cache(request: Request) -> LayerCache:
    return request.app.state.cache


def get_settings(request: Request) -> WebSettings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    """For writes outside the records (login, users): each opens its own transaction
    (``with engine.begin()``), committed before the response is built."""
    return request.app.state.engine


def get_records(request: Request) -> Attribution:
    """Whom exports and services credit for projects and events."""
    return request.app.state.record_settings.credit()


def get_profile_settings(request: Request) -> ProfileSettings:
    return request.app.state.profile_settings
