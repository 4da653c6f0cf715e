"""Folium maps of the pages, served with our own copies of Leaflet (no CDN): the planning map
(tiles, panes, overlay groups and layer control; the data arrive from the JSON API through
``static/map.js``) and the small map of a region page.

Folium renders the map; ``rendered()`` splits it into the parts a page template embeds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import folium
from branca.element import MacroElement
from folium.plugins import Draw, MarkerCluster
from jinja2 import Template

from web.assets import (
    CLUSTER_CSS,
    CLUSTER_JS,
    DRAW_CSS,
    DRAW_JS,
    LEAFLET_CSS,
    LEAFLET_JS,
    VECTORGRID_JS,
)

OUTLINE_STYLE = {"color": "#252525", "weight": 2, "fill": False}


@dataclass
class Overlay:
    """A switchable layer that map.js fills from ``url`` when it is first switched on."""

    key: str
    label: str
    kind: str  # "facilities", "projects" or "outline"
    url: str
    shown: bool = False


@dataclass
class MapConfig:
    choropleth_url: str
    panel_url: str
    attribution: str
    center: tuple[float, float] = (51.16, 10.45)
    zoom: int = 6
    tile_url: str = ""
    tile_attribution: str = ""
    overlays: list[Overlay] = field(default_factory=list)
    bounds: list[list[float]] | None = None  # [[south, west], [north, east]] shown first
    # a large level: vector tiles with the values and the classes to colour them by, instead
    # of the GeoJSON at ``choropleth_url``
    choropleth_tiles: dict | None = None


class _Init(MacroElement):
    """Hands the map, its overlay layers and the configuration to map.js."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        sozialraum[{{ this.function|tojson }}]({{ this._parent.get_name() }}, {
            {%- for key, layer in this.layers.items() %}
            {{ key|tojson }}: {{ layer.get_name() }},
            {%- endfor %}
        }, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, layers: dict, config: dict, function: str = "initMap") -> None:
        super().__init__()
        self._name = "SozialraumInit"
        self.layers = layers
        self.config = config
        self.function = function


def _local_leaflet(m: folium.Map, with_tiles: bool = False) -> None:
    m.default_js = [("leaflet", LEAFLET_JS)]
    if with_tiles:
        m.default_js.append(("vectorgrid", VECTORGRID_JS))
    m.default_css = [("leaflet_css", LEAFLET_CSS)]


def _base_map(
    center, zoom: int, tile_url: str, tile_attribution: str, vector_tiles: bool = False
) -> folium.Map:
    m = folium.Map(location=list(center), zoom_start=zoom, tiles=None, control_scale=True)
    _local_leaflet(m, vector_tiles)
    if tile_url:
        folium.TileLayer(
            tiles=tile_url, attr=tile_attribution, name="OpenStreetMap", max_zoom=19
        ).add_to(m)
    return m


def planning_map(config: MapConfig) -> folium.Map:
    m = _base_map(
        config.center,
        config.zoom,
        config.tile_url,
        config.tile_attribution,
        vector_tiles=config.choropleth_tiles is not None,
    )
    folium.map.CustomPane("choropleth", z_index=410, pointer_events=True).add_to(m)
    folium.map.CustomPane("outlines", z_index=420, pointer_events=False).add_to(m)
    folium.map.CustomPane("projects", z_index=430, pointer_events=True).add_to(m)
    layers = {}
    for overlay in config.overlays:
        if overlay.kind == "facilities":
            layer = MarkerCluster(name=overlay.label, show=overlay.shown)
            layer.default_js = [("markercluster", CLUSTER_JS)]
            layer.default_css = [(f"markercluster_css_{i}", c) for i, c in enumerate(CLUSTER_CSS)]
        else:
            layer = folium.FeatureGroup(name=overlay.label, show=overlay.shown)
        layer.add_to(m)
        layers[overlay.key] = layer
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    settings = {
        "choropleth": config.choropleth_url,
        "choropleth_tiles": config.choropleth_tiles,
        "panel": config.panel_url,
        "attribution": config.attribution,
        "bounds": config.bounds,
        "overlays": {
            o.key: {"url": o.url, "kind": o.kind, "label": o.label} for o in config.overlays
        },
    }
    _Init(layers, settings).add_to(m)
    return m


def region_map(
    geometry: dict, bbox: list[float], children: dict | None, tile_url: str, attribution: str
) -> folium.Map:
    """A small map of one region, its children outlined inside."""
    west, south, east, north = bbox
    m = _base_map(((south + north) / 2, (west + east) / 2), 12, tile_url, attribution)
    folium.GeoJson(
        {"type": "Feature", "geometry": geometry, "properties": {}},
        name="Region",
        style_function=lambda _f: {"color": "#08519c", "weight": 3, "fillOpacity": 0.15},
    ).add_to(m)
    if children and children.get("features"):
        folium.GeoJson(
            children,
            name="Teilgebiete",
            style_function=lambda _f: {"color": "#636363", "weight": 1, "fill": False},
            tooltip=folium.GeoJsonTooltip(fields=["name", "code"], aliases=["Name", "Schlüssel"]),
        ).add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    return m


def project_map(
    geometry: dict | None,
    tile_url: str,
    attribution: str,
    view: tuple[tuple[float, float], int] | None,
    *,
    edit: bool = True,
) -> folium.Map:
    """A project's geometry; with ``edit`` the drawing tools (polygon, line, rectangle, point),
    which also move and reshape what is there. ``static/project.js`` reads the drawn shapes.
    ``view`` (centre, zoom) is where an empty map opens."""
    center, zoom = view or ((51.16, 10.45), 6)
    m = _base_map(center, zoom, tile_url, attribution)
    drawn = folium.FeatureGroup(name="Projektgeometrie")
    drawn.add_to(m)
    if edit:
        draw = Draw(
            feature_group=drawn,
            show_geometry_on_click=False,
            draw_options={
                "polyline": {"shapeOptions": {"color": "#08519c"}},
                "polygon": {"allowIntersection": False, "showArea": True},
                "rectangle": {},
                "marker": {},
                "circle": False,
                "circlemarker": False,
            },
            edit_options={"poly": {"allowIntersection": False}},
        )
        draw.default_js = [("leaflet_draw_js", DRAW_JS)]
        draw.default_css = [("leaflet_draw_css", DRAW_CSS)]
        draw.add_to(m)
    _Init({"drawn": drawn}, {"geometry": geometry, "edit": edit}, "initProjectMap").add_to(m)
    return m


def rendered(m: folium.Map) -> dict[str, str]:
    """The map's header (styles, scripts), body (the map element) and script, for a template."""
    root = m.get_root()
    root.render()
    return {
        "header": root.header.render(),
        "body": root.html.render(),
        "script": root.script.render(),
        "id": m.get_name(),
    }


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
