"""File downloads of every layer: regions of a level with chosen indicators, facilities of a
category, projects (public fields for anonymous visitors, all fields for signed-in ones; never
contacts) and participation events (signed-in), in the formats of ``web.exports``."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from sqlalchemy.engine import Connection
from starlette.background import BackgroundTask

from accounts.users import User
from layers.cache import LayerCache
from layers.sources import facility_source, region_source
from records.events import event_source
from records.queries import project_source
from spatial.cities import Cities
from spatial.features import Attribution, FeatureQuery, FeatureSource
from spatial.licences import Licence
from web.auth import Visitor, current_visitor, signed_in_reader
from web.deps import get_cache, get_cities, get_connection, get_licences, get_records
from web.exports import FORMATS, ExportOptions, export_layer, parse_export_crs
from web.params import parse_bbox, parse_keys
from web.routers.events import check_event_filter
from web.routers.projects import parse_filter

router = APIRouter(tags=["exports"])
_FORMAT_HELP = "; ".join(f"`{f.key}`: {f.label}" for f in FORMATS.values())
_BAD = {404: {"description": "Unknown layer"}, 422: {"description": "Bad parameter"}}


class ExportParams:
    """The format and its options, and the bounding box, shared by every export."""

    def __init__(
        self,
        format: str = Query("gpkg", description=_FORMAT_HELP),
        bbox: str | None = Query(None, description="west,south,east,north in degrees"),
        precision: int = Query(6, description="Decimals of GeoJSON coordinates (WGS 84)"),
        csv_profile: str = Query(
            "excel",
            description="CSV profile: `excel` (`;`, decimal comma, UTF-8 BOM, codes kept as "
            "text) or `plain` (`,`, decimal point)",
        ),
        csv_geometry: str | None = Query(
            None, description="CSV geometry: `xy` (default; a point on areas) or `wkt`"
        ),
        csv_decimal: str | None = Query(
            None, description="CSV decimal mark: `point` or `comma` (default: the profile's)"
        ),
        csv_bom: bool | None = Query(
            None, description="CSV with a UTF-8 byte order mark (default: the profile's)"
        ),
        crs: str | None = Query(
            None,
            description="CRS of the file, e.g. `EPSG:4326`; default the city's official CRS "
            "(RFC 7946 GeoJSON is always WGS 84, CSV WGS 84 unless asked)",
        ),
        licences: dict[str, Licence] = Depends(get_licences),
    ) -> None:
        self.options = ExportOptions(
            format=format,
            precision=precision,
            csv_geometry=csv_geometry,
            csv_decimal=csv_decimal,
            csv_bom=csv_bom,
            csv_profile=csv_profile,
            srid=parse_export_crs(crs),
        )
        self.bbox = parse_bbox(bbox)
        self.licences = licences

    def query(self, on: date | None = None) -> FeatureQuery:
        return FeatureQuery(bbox=self.bbox, start=on, end=on)


def send_export(
    conn: Connection,
    source: FeatureSource,
    query: FeatureQuery,
    params: ExportParams,
    default_srid: int | None,
) -> FileResponse:
    """Write the file into a private directory, send it, then remove the directory."""
    directory = Path(tempfile.mkdtemp(prefix="sz-export-"))
    try:
        path = export_layer(
            conn, source, query, params.options, directory, default_srid, params.licences
        )
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=FORMATS[params.options.format].media_type,
        filename=path.name,
        background=BackgroundTask(shutil.rmtree, directory, ignore_errors=True),
    )


@router.get(
    "/exports/regions/{system}/{level}",
    summary="Regions of a level with indicator values of a period, as a file",
    response_class=FileResponse,
    responses=_BAD,
)
def export_regions(
    system: str,
    level: str,
    indicators: str | None = Query(None, description="Indicator keys, comma-separated"),
    period: date | None = Query(None, description="Reference date; default the latest"),
    region: str | None = Query(None, description="Only this region and its descendants"),
    params: ExportParams = Depends(),
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    cities: Cities = Depends(get_cities),
) -> FileResponse:
    source = region_source(conn, cache, system, level, parse_keys(indicators), period, region)
    return send_export(conn, source, params.query(), params, cities.srid_of(system))


@router.get(
    "/exports/facilities/{category}",
    summary="Facilities of a category, as a file",
    response_class=FileResponse,
    responses=_BAD,
)
def export_facilities(
    category: str,
    system: str | None = Query(None, description="Region system of `region`"),
    region: str | None = Query(None, description="Only facilities inside this region"),
    period: date | None = Query(None, description="Only facilities of this date"),
    params: ExportParams = Depends(),
    conn: Connection = Depends(get_connection),
    cities: Cities = Depends(get_cities),
) -> FileResponse:
    source = facility_source(conn, category, system, region)
    return send_export(conn, source, params.query(period), params, cities.srid_of(system))


@router.get(
    "/exports/projects",
    summary="Projects as a file: public fields for anonymous visitors, all for signed-in",
    response_class=FileResponse,
    responses=_BAD,
)
def export_projects(
    system: str | None = Query(None, description="Region system of `region`"),
    region: str | None = Query(None, description="Region code of any level"),
    status: str | None = None,
    topic: str | None = None,
    period: date | None = Query(None, description="Running on this date"),
    params: ExportParams = Depends(),
    conn: Connection = Depends(get_connection),
    visitor: Visitor = Depends(current_visitor),
    records: Attribution = Depends(get_records),
    cities: Cities = Depends(get_cities),
) -> FileResponse:
    filters = parse_filter(visitor, system, region, status, topic, None, None, None)
    source = project_source(conn, filters, records)
    return send_export(conn, source, params.query(period), params, cities.srid_of(system))


@router.get(
    "/exports/events",
    summary="Participation events as a file (signed-in users)",
    response_class=FileResponse,
    responses={**_BAD, 401: {"description": "Not signed in"}},
)
def export_events(
    system: str | None = Query(None, description="Region system of `region`"),
    region: str | None = Query(None, description="Region code of any level"),
    year: int | None = Query(None, ge=1900, le=2200),
    type: str | None = Query(None, description="Event type"),
    params: ExportParams = Depends(),
    conn: Connection = Depends(get_connection),
    user: User = Depends(signed_in_reader),
    records: Attribution = Depends(get_records),
    cities: Cities = Depends(get_cities),
) -> FileResponse:
    check_event_filter(system, region, type)
    source = event_source(conn, records, system=system, region=region, year=year, event_type=type)
    return send_export(conn, source, params.query(), params, cities.srid_of(system))
