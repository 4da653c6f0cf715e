"""The German pages: the planning map (``/``), a region's side panel and the region page.

The state of the map is its URL: every control is a query parameter, so a link reproduces the
same map. The pages use the same layer functions (and the same cache) as the JSON API.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.catalog import catalog_by_topic
from layers.choropleth import (
    Choropleth,
    build_choropleth,
    default_method,
    describe,
    periods_of,
)
from layers.classify import MAX_CLASSES, METHODS, MIN_CLASSES, format_number
from layers.credits import indicator_attribution
from layers.errors import InvalidParameter, LayerError, NotComputable
from layers.facilities import facilities_by_category, facility_categories
from layers.figures import catalog_keys, region_figures, series
from layers.indicators import get_indicator
from layers.levels import get_level, levels_of
from layers.regions import (
    children_of,
    find_region,
    get_region_system,
    level_geojson,
    list_region_systems,
    parents_of,
    region_geometry,
    system_extent,
    view_of,
)
from profiles.pictures import series_svg
from profiles.settings import ProfileSettings
from records.queries import projects_in_region
from records.vocabulary import STATUS_COLOURS, de_timestamp
from spatial.cities import Cities
from spatial.errors import SozialraumError
from web.auth import Visitor, current_visitor
from web.deps import (
    default_system,
    get_cache,
    get_cities,
    get_connection,
    get_profile_settings,
    get_settings,
    map_defaults,
)
from web.pages.map_tiles import choropleth_tiles
from web.pages.mapview import MapConfig, Overlay, planning_map, region_map, rendered
from web.params import parse_breaks
from web.settings import WebSettings

router = APIRouter(include_in_schema=False)


def _visitor_context(request: Request) -> dict:
    """Every page knows who is signed in (navigation, CSRF token for the scripts) and the
    nonce its inline scripts carry (``web.headers``)."""
    nonce = getattr(request.state, "csp_nonce", "")
    try:
        return {"visitor": current_visitor(request), "csp_nonce": nonce}
    except SozialraumError:  # a bad token on a page: shown as anonymous, the page says why
        return {"visitor": Visitor(), "csp_nonce": nonce}


def _nonced(html: str, nonce: str) -> str:
    """Every script tag of generated markup (the map's header) with the request's nonce."""
    return html.replace("<script", f'<script nonce="{nonce}"') if nonce else html


templates = Jinja2Templates(
    directory=Path(__file__).parent.parent / "templates", context_processors=[_visitor_context]
)
templates.env.filters["de_date"] = lambda d: f"{d:%d.%m.%Y}" if d else ""
templates.env.filters["de_timestamp"] = de_timestamp
templates.env.filters["nonced"] = _nonced
templates.env.filters["de_number"] = lambda v, decimals=0: (
    "" if v is None else format_number(v, decimals)
)
METHOD_LABELS = {
    "quantiles": "Quantile (gleich viele Gebiete je Klasse)",
    "equal_interval": "Gleiche Intervalle",
    "fisher_jenks": "Natürliche Brüche (Fisher-Jenks)",
    "std_mean": "Standardabweichung um den Mittelwert",
    "manual": "Eigene Grenzen",
    "fixed": "Feste Klassen des Indikators",
}


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith(
        ("/api", "/health", "/openapi", "/static", "/ogc", "/tiles")
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )


@router.get("/", response_class=HTMLResponse)
def map_page(
    request: Request,
    system: str | None = None,
    level: str | None = None,
    indicator: str | None = None,
    period: str | None = None,
    method: str | None = None,
    classes: int = Query(5, ge=MIN_CLASSES, le=MAX_CLASSES),
    breaks: str | None = None,
    lat: str | None = None,
    lon: str | None = None,
    zoom: str | None = None,
    overlays: str | None = None,
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    settings: WebSettings = Depends(get_settings),
    cities: Cities = Depends(get_cities),
) -> HTMLResponse:
    period, lat, lon, zoom = (
        _form_value(period, date.fromisoformat, "period", None),
        _form_value(lat, float, "lat", (-90, 90)),
        _form_value(lon, float, "lon", (-180, 180)),
        _form_value(zoom, int, "zoom", (1, 19)),
    )
    system = system or default_system(conn, settings, cities)
    region_system = get_region_system(conn, system)
    if region_system is None:
        raise InvalidParameter(f"unknown region system {system!r}")
    pack = cities.of_system(system)
    defaults = map_defaults(settings, pack)
    levels = region_system["levels"]
    keys = [lvl["key"] for lvl in levels]
    first_level = defaults.level if defaults.level in keys else keys[-1]
    chosen_level = get_level(conn, system, level or first_level)
    chosen = indicator or defaults.indicator or next(iter(catalog_keys(conn)), None)
    if chosen is None:
        raise NotComputable(
            "Es sind noch keine Indikatoren geladen (sozialraum ingest statistics …)."
        )
    meta = get_indicator(conn, chosen)
    notes: list[str] = []
    periods = periods_of(conn, meta, chosen_level, cache)
    if period is not None and period not in periods:
        notes.append(
            f"Für den {period:%d.%m.%Y} gibt es keine Werte; gezeigt wird der neueste Stand."
        )
        period = None
    period = period or (periods[-1] if periods else None)
    if meta.kind == "class" or method not in METHODS:
        method = default_method(meta)
    choropleth: Choropleth | None = None
    problem = None
    try:
        choropleth = build_choropleth(
            conn,
            cache,
            system,
            chosen_level.key,
            meta.key,
            period,
            method,
            classes,
            parse_breaks(breaks),
        )
    except LayerError as exc:
        published = getattr(exc, "published_at", None)
        reason = f"es wird nur für {published} veröffentlicht" if published else str(exc)
        problem = (
            f"„{meta.name_de}“ lässt sich für die Ebene {chosen_level.name} nicht darstellen "
            f"({reason})."
        )
    state = {
        "system": system,
        "level": chosen_level.key,
        "indicator": meta.key,
        "period": period.isoformat() if period else None,
        "method": method,
        "classes": classes,
        "breaks": breaks,
    }
    query = urlencode(
        {k: v for k, v in state.items() if v and k not in ("system", "level", "indicator")}
    )
    extent = system_extent(conn, system)
    view = view_of(extent)
    region_count = next(lvl["regions"] for lvl in levels if lvl["key"] == chosen_level.key)
    tiled = choropleth is not None and region_count > settings.choropleth_tiles_above
    config = MapConfig(
        choropleth_url=(
            f"/api/choropleth/{system}/{chosen_level.key}/{meta.key}?{query}"
            if choropleth and not tiled
            else ""
        ),
        choropleth_tiles=(
            choropleth_tiles(
                conn, cache, choropleth, levels, region_count, settings.tile_max_regions
            )
            if tiled
            else None
        ),
        panel_url=f"/region/{system}/{{code}}/panel?"
        + urlencode(
            {
                "level": chosen_level.key,
                "indicator": meta.key,
                **({"period": state["period"]} if period else {}),
            }
        ),
        attribution=_with_credits(conn, region_system, meta.key, chosen_level.system_id),
        center=(lat, lon) if lat is not None and lon is not None else view[0],
        zoom=zoom or view[1],
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
        overlays=_overlays(conn, system, levels, chosen_level.rank, overlays, defaults.overlays),
        bounds=[[extent[1], extent[0]], [extent[3], extent[2]]] if extent else None,
    )
    described = describe(choropleth) if choropleth else None
    context = {
        "system": region_system,
        "levels": levels,
        "level": chosen_level,
        "meta": meta,
        "periods": periods,
        "period": period,
        "catalog": catalog_by_topic(conn, without=cities.foreign_catalogs(pack)),
        "methods": METHOD_LABELS,
        "state": state,
        "view": {"lat": lat, "lon": lon, "zoom": zoom, "overlays": overlays or ""},
        "class_range": range(MIN_CLASSES, MAX_CLASSES + 1),
        "map": rendered(planning_map(config)),
        "described": described,
        "problem": problem,
        "attribution": config.attribution,
        "notes": notes + (described["notes"] if described else []),
        "status_colours": STATUS_COLOURS,
        "cities": _city_switch(conn, cities, pack),
    }
    return templates.TemplateResponse(request, "map.html", context)


def _city_switch(conn: Connection, cities: Cities, current) -> list[dict]:
    """The cities whose map system is loaded, for the switch above the map."""
    loaded = {s["key"] for s in list_region_systems(conn)}
    return [
        {"key": pack.key, "name": pack.name, "system": system, "current": pack is current}
        for pack, system in cities.map_systems()
        if system in loaded
    ]


@router.get("/region/{system}/{code}/panel", response_class=HTMLResponse)
def region_panel(
    request: Request,
    system: str,
    code: str,
    level: str | None = None,
    indicator: str | None = None,
    period: date | None = None,
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    settings: WebSettings = Depends(get_settings),
    cities: Cities = Depends(get_cities),
) -> HTMLResponse:
    region = find_region(conn, system, code, level)
    parents = parents_of(conn, region)
    top = parents[0] if parents else None
    keys = map_defaults(settings, cities.of_system(system)).key_indicators
    others = [key for key in keys if key != indicator]
    # the mapped indicator as on the map (its period), the others at their latest
    mapped = region_figures(conn, cache, region, top, [indicator], period) if indicator else []
    figures = mapped + region_figures(conn, cache, region, top, others)
    city = (get_region_system(conn, system) or {}).get("city", "")
    context = {
        "region": region,
        "parents": parents,
        "figures": figures,
        "system": system,
        "city": city,
    }
    return templates.TemplateResponse(request, "panel.html", context)


@router.get("/region/{system}/{code}", response_class=HTMLResponse)
def region_page(
    request: Request,
    system: str,
    code: str,
    level: str | None = None,
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    settings: WebSettings = Depends(get_settings),
    cities: Cities = Depends(get_cities),
    profile_settings: ProfileSettings = Depends(get_profile_settings),
) -> HTMLResponse:
    region = find_region(conn, system, code, level)
    parents = parents_of(conn, region)
    children = children_of(conn, region)
    shape = region_geometry(conn, region, settings.coordinate_decimals)
    child_shapes = None
    if children:
        child_level = get_level(conn, system, children[0]["level"])
        child_shapes = json.loads(
            level_geojson(conn, child_level, settings.coordinate_decimals, parent_code=region.code)
        )
    small_map = region_map(
        shape["geometry"], shape["bbox"], child_shapes, settings.tile_url, settings.tile_attribution
    )
    figures = region_figures(
        conn, cache, region, parents[0] if parents else None, catalog_keys(conn)
    )
    try:
        population_key = profile_settings.template(cities.of_system(system)).population
        population = series(conn, cache, region, population_key)
    except LayerError:  # no population in this system, or no city pack says which it is
        population = []
    region_system = get_region_system(conn, system)
    context = {
        "region": region,
        "system": region_system,
        "parents": parents,
        "children": children,
        "figures": figures,
        "topics": _by_topic(figures),
        "population": population,
        "population_svg": series_svg(population, "Einwohnende") if population else None,
        "facilities": facilities_by_category(conn, region),
        "map": rendered(small_map),
        "attribution": _attribution(region_system),
        "top_level": levels_of(conn, region.level.system_id)[0],
        "today": date.today(),
        "projects": projects_in_region(
            conn,
            system,
            region.code,
            public_only=not current_visitor(request).signed_in,
            limit=settings.max_features,
        ),
    }
    return templates.TemplateResponse(request, "region.html", context)


def _form_value(raw: str | None, parse, name: str, bounds: tuple | None):
    """A form field: empty means not given (plain HTML forms send empty fields)."""
    if raw is None or raw == "":
        return None
    try:
        value = parse(raw)
    except ValueError:
        raise InvalidParameter(f"{name}: {raw!r} is not a valid value") from None
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise InvalidParameter(f"{name}: {raw} is not within {bounds[0]} … {bounds[1]}")
    return value


def _by_topic(figures) -> list[tuple[str, list]]:
    topics: dict[str, list] = {}
    for figure in figures:
        topics.setdefault(figure.topic, []).append(figure)
    return list(topics.items())


def _with_credits(conn: Connection, region_system: dict, indicator: str, system_id: int) -> str:
    """The boundaries' credit and the credits of the mapped indicator's values."""
    credits = indicator_attribution(conn, indicator, system_id=system_id)
    lines = [_attribution(region_system), *(c.line() for c in credits)]
    return "; ".join(dict.fromkeys(line for line in lines if line))


def _attribution(region_system: dict) -> str:
    licence = f" ({region_system['licence']})" if region_system.get("licence") else ""
    return f"{region_system['attribution'] or region_system['source'] or ''}{licence}"


def _overlays(
    conn: Connection,
    system: str,
    levels: list[dict],
    rank: int,
    shown: str | None,
    offered: list[str] | None = None,
):
    """Facility categories with facilities in this system (those the city offers), projects
    and the outlines of coarser levels."""
    active = set((shown or "").split(","))
    overlays = [
        Overlay(
            key=category["key"],
            label=category["plural_de"],
            kind="facilities",
            url=f"/api/facilities?category={category['key']}",
            shown=category["key"] in active,
        )
        for category in facility_categories(conn, only_with_facilities=True, system=system)
        if offered is None or category["key"] in offered
    ]
    overlays.append(
        Overlay(
            key="projekte",
            label="Projekte",
            kind="projects",
            url="/api/projects",
            shown="projekte" in active,
        )
    )
    overlays += [
        Overlay(
            key=f"grenzen-{lvl['key']}",
            label=f"Grenzen: {lvl['name']}",
            kind="outline",
            url=f"/api/systems/{system}/levels/{lvl['key']}/regions",
            shown=f"grenzen-{lvl['key']}" in active,
        )
        for lvl in levels
        if lvl["rank"] < rank
    ]
    return overlays
