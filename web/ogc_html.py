"""The OGC API documents as German HTML pages (``f=html``, or a browser asking for HTML):
the same document the JSON answer holds, its links under German names, and tables of the
collections and of a page of features."""

from __future__ import annotations

import json
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import URL

from web.deps import settings_of
from web.routers.pages import templates

_OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
REL_LABELS = {
    "self": "Dieses Dokument als JSON",
    "service-desc": "API-Definition (OpenAPI 3.0)",
    "service-doc": "API-Dokumentation",
    "conformance": "Konformitätsklassen",
    "data": "Sammlungen",
    "items": "Objekte",
    "collection": "Sammlung",
    "next": "Nächste Seite",
    "prev": "Vorige Seite",
    "describedby": "Schema (JSON Schema)",
    "license": "Lizenz",
    f"{_OGC_REL}queryables": "Abfragbare Eigenschaften",
    f"{_OGC_REL}tilesets-vector": "Vektorkacheln",
    f"{_OGC_REL}tiling-schemes": "Kachelschemata",
    f"{_OGC_REL}styles": "Stil (MapLibre)",
}
# documents that have an HTML page themselves: their links keep f=html
_BROWSABLE = {"data", "collection", "items", "next", "prev"}


def negotiates_html(request: Request, f: str | None) -> bool:
    """``f=html``, or no ``f`` and an Accept header that puts HTML before JSON."""
    if f is not None:
        return f == "html"
    accept = request.headers.get("accept", "")
    html, json_ = accept.find("text/html"), accept.find("json")
    return html >= 0 and (json_ < 0 or html < json_)


def _links(doc: dict) -> list[dict]:
    shown = []
    for link in doc.get("links", []):
        rel = link["rel"]
        if rel not in REL_LABELS or link.get("templated"):
            continue
        href = link["href"]
        if rel in _BROWSABLE:
            href = str(URL(href).include_query_params(f="html"))
        elif rel == "self":
            href = str(URL(href).include_query_params(f="json"))
        title = link.get("title") if rel in ("collection", "license") else None
        shown.append({"href": href, "label": title or REL_LABELS[rel]})
    return shown


def html_page(
    request: Request,
    doc: dict,
    heading: str | None = None,
    description: str | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The document as a German page: heading, description (German where one is given, the
    document's own otherwise), links, and the table of its collections or features; a page of
    features is drawn on a map as well."""
    descriptions = descriptions or {}
    columns: list[str] = []
    rows: list[list] = []
    features = None
    if "collections" in doc:
        columns = ["Sammlung", "Titel", "Beschreibung"]
        base = str(request.base_url).rstrip("/") + "/ogc/collections"
        rows = [
            [{"href": f"{base}/{c['id']}?f=html", "text": c["id"]}, c.get("title", ""),
             descriptions.get(c["id"]) or c.get("description", "")]
            for c in doc["collections"]
        ]  # fmt: skip
    elif "features" in doc:
        features = doc["features"]
        names = dict.fromkeys(k for f in features for k in f.get("properties", {}) if k != "id")
        columns = ["id", *names]
        rows = [
            [f.get("id"), *(_cell(f.get("properties", {}).get(c)) for c in columns[1:])]
            for f in features
        ]
    elif "conformsTo" in doc:
        columns, rows = ["Konformitätsklasse"], [[c] for c in doc["conformsTo"]]
    settings = settings_of(request)
    context = {
        "heading": heading or doc.get("title") or doc.get("id") or "OGC API",
        "description": description or doc.get("description"),
        "attribution": doc.get("attribution"),
        "links": _links(doc),
        "columns": columns,
        "rows": rows,
        "counts": {k: doc[k] for k in ("numberMatched", "numberReturned") if k in doc},
        # the features the map draws: only those with a geometry
        "geojson": None
        if features is None
        else {"type": "FeatureCollection", "features": [f for f in features if f.get("geometry")]},
        "tile_url": settings.tile_url,
        "tile_attribution": settings.tile_attribution,
    }
    return templates.TemplateResponse(request, "ogc.html", context)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
