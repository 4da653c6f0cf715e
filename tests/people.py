"""Accounts and shapes for the tests of projects, events and access control: one user per role
(coordinators of Marzahn-Hellersdorf, 10, and Charlottenburg-Wilmersdorf, 04), their API tokens,
and small shapes inside those districts (WGS 84)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.engine import Engine

from accounts.tokens import create_token
from accounts.users import User, add_user
from spatial.store import make_engine

PASSWORD = "richtig-langes-passwort"
_serial = itertools.count()


def square(lon: float, lat: float, half: float = 0.002) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [
            [
                [lon - half, lat - half],
                [lon + half, lat - half],
                [lon + half, lat + half],
                [lon - half, lat + half],
                [lon - half, lat - half],
            ]
        ],
    }


MARZAHN_NORD = square(13.565, 52.566)  # inside Bezirksregion 101001, Bezirk 10
CHARLOTTENBURG = square(13.2725, 52.5079)  # Bezirk 04


def project_body(**overrides) -> dict:
    body = {
        "title": "Nachbarschaftsgarten",
        "description": "Gemeinsam gärtnern",
        "status": "in Planung",
        "topic": "Wohnen und Wohnumfeld",
        "start_date": "2025-04-01",
        "end_date": "2026-10-31",
        "public": True,
        "geometry": MARZAHN_NORD,
    }
    body.update(overrides)
    return body


@dataclass(frozen=True)
class Person:
    user: User
    token: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def records_engine(records_url) -> Iterator[Engine]:
    engine = make_engine(records_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def people(records_engine) -> dict[str, Person]:
    """viewer, coord10, coord04, admin (names made unique per session)."""
    suffix = next(_serial)
    roles = {
        "viewer": ("viewer", []),
        "coord10": ("coordinator", ["10"]),
        "coord04": ("coordinator", ["04"]),
        "admin": ("admin", []),
    }
    found = {}
    with records_engine.begin() as conn:
        for key, (role, districts) in roles.items():
            name = f"{key}-{suffix}"
            user = add_user(
                conn, name, PASSWORD, role, districts=districts, display_name=f"{key.title()} Test"
            )
            found[key] = Person(user, create_token(conn, name, "tests"))
    return found
