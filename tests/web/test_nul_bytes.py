"""A NUL byte in any path or query parameter of any GET endpoint, and in the JSON body of a
write, is bad input: never a server error (the database refuses NUL in text; that refusal is
the client's 422). Every route of the app is tried, on the generated town."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from people import TOWN

NUL = "a\x00b"


def _get_routes(app) -> list[tuple[str, APIRoute]]:
    """(prefix, route) of every GET route, pages included (routers are kept as included)."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append(("", route))
        elif hasattr(route, "original_router"):
            prefix = route.include_context.prefix
            found += [(prefix, r) for r in route.original_router.routes if isinstance(r, APIRoute)]
    return [(prefix, r) for prefix, r in found if "GET" in r.methods]


def _value(path: str, name: str) -> str:
    """A value of path parameter ``name`` that the town has (so the request goes deep)."""
    if name == "key":
        return TOWN if "/systems/" in path else "inhabitants" if "/indicators/" in path else "ziele"
    return {
        "system": TOWN,
        "level": "bzr",
        "code": "1001",
        "indicator": "inhabitants",
        "collection_id": f"{TOWN}-bzr",
        "layer": f"{TOWN}-bzr",
        "z": "12",
        "x": "2205",
        "y": "1342",
        "category": "kita",
        "feature_id": "1001",
    }.get(name, "1")


def _url(prefix: str, route: APIRoute, nul_in: str | None = None, user: str = "") -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name == nul_in:
            return "a%00b"
        return user if name == "username" else _value(route.path, name)

    return prefix + re.sub(r"\{([^}]+)\}", fill, route.path_format)


def test_a_nul_byte_in_any_parameter_of_any_get_endpoint_is_no_server_error(
    town_client, town_people
):
    tried, failures = 0, []
    headers = town_people["admin"].headers  # signed in: the personal endpoints are tried too
    client = TestClient(town_client.app, raise_server_exceptions=False)
    admin = town_people["admin"].user.username
    for prefix, route in _get_routes(town_client.app):
        params = [p.alias for p in route.dependant.query_params]
        names = re.findall(r"\{([^}]+)\}", route.path_format)
        cases = [(_url(prefix, route, name, admin), {}) for name in names]
        cases += [(_url(prefix, route, None, admin), {name: NUL}) for name in params]
        for url, query in cases:
            tried += 1
            answer = client.get(url, params=query, headers=headers)
            if answer.status_code >= 500:
                failures.append(f"{url} {list(query)}: {answer.status_code}")
    assert tried > 100
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/projects", {"title": NUL, "status": "Idee", "topic": "Bildung"}),
        (
            "/api/users",
            {"username": "neu", "password": "x" * 12, "role": "viewer", "display_name": NUL},
        ),
        ("/api/me/tokens", {"name": NUL}),
    ],
)
def test_a_nul_byte_in_a_json_body_is_refused_as_bad_input(town_client, town_people, path, body):
    answer = town_client.post(path, json=body, headers=town_people["admin"].headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]
