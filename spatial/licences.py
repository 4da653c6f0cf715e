"""The licences sources are published under, by name, with the address of their text (from
``data/licences.toml``): what a ``rel="license"`` link points to."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from spatial.errors import SozialraumError
from spatial.features import Attribution


@dataclass(frozen=True)
class Licence:
    name: str
    title: str
    url: str


def load_licences(path: Path) -> dict[str, Licence]:
    """The licence catalog; a missing file is an empty catalog, a broken one an error."""
    if not path.is_file():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")).get("licences", {})
        return {name: Licence(name, entry["title"], entry["url"]) for name, entry in raw.items()}
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise SozialraumError(f"{path}: every licence needs a title and a url ({exc})") from None


def licences_of(attributions: Iterable[Attribution], catalog: dict[str, Licence]) -> list[Licence]:
    """The known licences of these sources, each once, in their order."""
    found: dict[str, Licence] = {}
    for a in attributions:
        if a.licence in catalog:
            found.setdefault(a.licence, catalog[a.licence])
    return list(found.values())
