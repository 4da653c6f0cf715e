"""Profiles of many regions in one run (e.g. all Bezirksregionen of a Bezirk), written as
files into a directory. One connection and one layer cache serve the whole batch, so the
indicator tables are computed once for all regions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from layers.cache import LayerCache
from layers.errors import InvalidParameter, NotFound
from layers.levels import get_level, levels_of
from layers.regions import Region, descendants_at, find_region, newest_system, regions_of_level
from profiles.content import build_profile
from profiles.document import file_name, render_document, render_pdf
from profiles.settings import ProfileSettings
from spatial.cities import CityPack, city_of_system
from spatial.features import Attribution

FORMATS = ("pdf", "html")


@dataclass(frozen=True)
class BatchRequest:
    level: str
    output: Path
    system: str | None = None
    district: str | None = None  # code of a coarsest-level region (Bezirk); None: all
    format: str = "pdf"
    internal: bool = False


def regions_for_batch(conn, system: str, level: str, district: str | None) -> list[Region]:
    """The regions of ``level``, all or those inside ``district`` (a Bezirk code)."""
    chosen = get_level(conn, system, level)
    if district is None:
        return [
            find_region(conn, system, r["code"], level)
            for r in regions_of_level(conn, system, level)
        ]
    coarsest = levels_of(conn, chosen.system_id)[0]
    try:
        top = find_region(conn, system, district, coarsest.key)
    except NotFound:
        known = regions_of_level(conn, system, coarsest.key)[:1]
        example = f"; e.g. {known[0]['code']} for {known[0]['name']}" if known else ""
        raise NotFound(f"unknown {coarsest.name} {district!r} in {system}{example}") from None
    return descendants_at(conn, top, chosen)


def build_batch(
    engine: Engine,
    request: BatchRequest,
    settings: ProfileSettings,
    credit: Attribution,
    cities: list[CityPack],
    on_region: Callable[[int, Region | None], None] = lambda total, region: None,
    cache: LayerCache | None = None,
) -> list[Path]:
    """Write one file per region; ``on_region(total, None)`` once before the first, then
    ``on_region(total, region)`` after each file is written."""
    if request.format not in FORMATS:
        raise InvalidParameter(
            f"unknown profile format {request.format!r}; choose {' or '.join(FORMATS)}"
        )
    cache = cache or LayerCache()
    written: list[Path] = []
    with engine.connect() as conn:
        system = request.system or newest_system(conn)
        regions = regions_for_batch(conn, system, request.level, request.district)
        request.output.mkdir(parents=True, exist_ok=True)
        on_region(len(regions), None)
        template = settings.template(city_of_system(cities, system))
        for region in regions:
            profile = build_profile(
                conn,
                cache,
                system,
                region.code,
                level=region.level.key,
                internal=request.internal,
                settings=settings,
                template=template,
                credit=credit,
            )
            path = request.output / file_name(profile, request.format)
            if request.format == "pdf":
                path.write_bytes(render_pdf(profile))
            else:
                path.write_text(render_document(profile), encoding="utf-8")
            written.append(path)
            on_region(len(regions), region)
    return written
