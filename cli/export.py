"""``sozialraum export regions|facilities|projects|events``: the same files as the web exports,
written into a directory (file names say what they hold)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.context import current_settings
from cli.ingest import store_engine

console = Console()
export_app = typer.Typer(help="Write layers as GIS files.", no_args_is_help=True)

Format = Annotated[
    str, typer.Option("--format", "-f", help="geojson, geojson-crs, gpkg, fgb, shp, csv")
]
Crs = Annotated[
    str | None,
    typer.Option(help="CRS of the file, e.g. EPSG:4326; default the city's official CRS."),
]
Output = Annotated[Path, typer.Option("--output", "-o", help="Directory to write into.")]
BBox = Annotated[str | None, typer.Option(help="west,south,east,north in degrees")]
Precision = Annotated[int, typer.Option(help="Decimals of GeoJSON coordinates (WGS 84).")]
CsvProfile = Annotated[
    str,
    typer.Option(help="CSV profile: excel (; decimal comma, BOM) or plain (, decimal point)."),
]
CsvGeometry = Annotated[str | None, typer.Option(help="CSV geometry: xy (the default) or wkt.")]
CsvDecimal = Annotated[
    str | None, typer.Option(help="CSV decimal mark: point or comma (default: the profile's).")
]
CsvBom = Annotated[
    bool | None, typer.Option(help="CSV with a UTF-8 byte order mark (default: the profile's).")
]


def _write(
    build,
    fmt,
    output,
    bbox,
    precision,
    csv_geometry,
    csv_decimal,
    csv_bom,
    *,
    crs: str | None,
    system: str | None,
    on=None,
    csv_profile: str = "excel",
):
    """Open the store, build the source with ``build(conn)``, write and report the file (in
    ``crs``, else the official CRS of the system's city)."""
    from spatial.cities import Cities
    from spatial.features import FeatureQuery
    from spatial.licences import load_licences
    from web.exports import ExportOptions, export_layer, parse_export_crs
    from web.params import parse_bbox

    options = ExportOptions(
        format=fmt,
        precision=precision,
        csv_geometry=csv_geometry,
        csv_decimal=csv_decimal,
        csv_bom=csv_bom,
        csv_profile=csv_profile,
        srid=parse_export_crs(crs),
    )
    query = FeatureQuery(bbox=parse_bbox(bbox), start=on, end=on)
    data = current_settings().data
    default_srid = Cities(data.packs(), data.default_city).srid_of(system)
    output.mkdir(parents=True, exist_ok=True)
    with store_engine(current_settings().store) as engine, engine.connect() as conn:
        source = build(conn)
        licences = load_licences(data.licences_file)
        path = export_layer(conn, source, query, options, output, default_srid, licences)
    console.print(f"{path} ({path.stat().st_size:,} bytes)")
    for note in source.notes:
        console.print(f"  note: {note}")


def _records_attribution():

    return current_settings().records.credit()


@export_app.command("regions")
def export_regions(
    system: str,
    level: str,
    indicators: Annotated[
        str, typer.Option("--indicators", "-i", help="Keys, comma-separated")
    ] = "",
    period: Annotated[str | None, typer.Option("--period", "-p", help="YYYY-MM-DD")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region and its descendants")] = None,
    fmt: Format = "gpkg",
    output: Output = Path("."),
    bbox: BBox = None,
    precision: Precision = 6,
    csv_geometry: CsvGeometry = None,
    csv_decimal: CsvDecimal = None,
    csv_bom: CsvBom = None,
    csv_profile: CsvProfile = "excel",
    crs: Crs = None,
) -> None:
    """Regions of a level with indicator values of a period."""
    from layers.cache import LayerCache
    from layers.sources import region_source
    from web.params import parse_keys

    keys = parse_keys(indicators)
    on = date.fromisoformat(period) if period else None
    _write(
        lambda conn: region_source(conn, LayerCache(), system, level, keys, on, region),
        fmt,
        output,
        bbox,
        precision,
        csv_geometry,
        csv_decimal,
        csv_bom,
        crs=crs,
        csv_profile=csv_profile,
        system=system,
    )


@export_app.command("facilities")
def export_facilities(
    category: str,
    system: Annotated[str | None, typer.Option(help="Region system of --region")] = None,
    region: Annotated[str | None, typer.Option(help="Only facilities inside this region")] = None,
    fmt: Format = "gpkg",
    output: Output = Path("."),
    bbox: BBox = None,
    precision: Precision = 6,
    csv_geometry: CsvGeometry = None,
    csv_decimal: CsvDecimal = None,
    csv_bom: CsvBom = None,
    csv_profile: CsvProfile = "excel",
    crs: Crs = None,
) -> None:
    """Facilities of a category."""
    from layers.sources import facility_source

    _write(
        lambda conn: facility_source(conn, category, system, region),
        fmt,
        output,
        bbox,
        precision,
        csv_geometry,
        csv_decimal,
        csv_bom,
        crs=crs,
        csv_profile=csv_profile,
        system=system,
    )


@export_app.command("projects")
def export_projects(
    system: Annotated[str | None, typer.Option(help="Region system of --region")] = None,
    region: Annotated[str | None, typer.Option(help="Region code of any level")] = None,
    status: Annotated[str | None, typer.Option(help="Project status")] = None,
    all_fields: Annotated[
        bool, typer.Option(help="Every record field and non-public projects (never contacts).")
    ] = False,
    fmt: Format = "gpkg",
    output: Output = Path("."),
    bbox: BBox = None,
    precision: Precision = 6,
    csv_geometry: CsvGeometry = None,
    csv_decimal: CsvDecimal = None,
    csv_bom: CsvBom = None,
    csv_profile: CsvProfile = "excel",
    crs: Crs = None,
) -> None:
    """Projects: public ones with their public fields, or with --all-fields everything."""
    from records.queries import ProjectFilter, project_source

    filters = ProjectFilter(system=system, region=region, status=status, public_only=not all_fields)
    _write(
        lambda conn: project_source(conn, filters, _records_attribution()),
        fmt,
        output,
        bbox,
        precision,
        csv_geometry,
        csv_decimal,
        csv_bom,
        crs=crs,
        csv_profile=csv_profile,
        system=system,
    )


@export_app.command("events")
def export_events(
    system: Annotated[str | None, typer.Option(help="Region system of --region")] = None,
    region: Annotated[str | None, typer.Option(help="Region code of any level")] = None,
    year: Annotated[int | None, typer.Option(help="Only events of this year")] = None,
    fmt: Format = "gpkg",
    output: Output = Path("."),
    bbox: BBox = None,
    precision: Precision = 6,
    csv_geometry: CsvGeometry = None,
    csv_decimal: CsvDecimal = None,
    csv_bom: CsvBom = None,
    csv_profile: CsvProfile = "excel",
    crs: Crs = None,
) -> None:
    """Participation events."""
    from records.events import event_source

    _write(
        lambda conn: event_source(
            conn, _records_attribution(), system=system, region=region, year=year
        ),
        fmt,
        output,
        bbox,
        precision,
        csv_geometry,
        csv_decimal,
        csv_bom,
        crs=crs,
        csv_profile=csv_profile,
        system=system,
    )
