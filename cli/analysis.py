"""``sozialraum layer|crosswalk|supply …``: the analysis layer from the command line, printed
as tables in German number format."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.context import current_settings
from cli.ingest import store_engine

console = Console()
layer_app = typer.Typer(
    help="Indicators at a level: values, classes, legend.", no_args_is_help=True
)
crosswalk_app = typer.Typer(help="Boundary-version crosswalks.", no_args_is_help=True)
supply_app = typer.Typer(help="Supply and access to facilities.", no_args_is_help=True)


def _german(value: float | None, decimals: int) -> str:
    from layers.classify import format_number

    return "–" if value is None or value != value else format_number(value, decimals)


@layer_app.command("show")
def layer_show(
    system: str,
    level: str,
    indicator: str,
    period: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    method: Annotated[str, typer.Option(help="quantiles, equal_interval, fisher_jenks, …")] = (
        "quantiles"
    ),
    classes: Annotated[int, typer.Option(help="Number of classes (2–9).")] = 5,
) -> None:
    """Print an indicator for every region of a level with its class and the legend."""
    from layers.classify import classify
    from layers.indicators import indicator_table
    from layers.regions import get_region_system

    with store_engine(current_settings().store) as engine, engine.connect() as conn:
        table = indicator_table(conn, system, level, indicator, date.fromisoformat(period))
        city = (get_region_system(conn, system) or {}).get("city") or system
    result = classify(table.rows, table.indicator, method, classes)
    decimals = table.indicator.decimals
    out = Table(
        title=f"{table.indicator.name_de} ({table.indicator.unit}), {table.period:%d.%m.%Y}"
    )
    for column in ("Code", "Name", "Wert", "Status", "Klasse", "übergeordnet"):
        out.add_column(column)
    labels = [c.label for c in result.classes]
    for row, number in zip(table.rows.itertuples(), result.region_class, strict=True):
        label = labels[number] if number >= 0 else ""
        out.add_row(
            row.code,
            row.name,
            _german(row.value, decimals),
            row.status + (" (teilweise)" if row.partial else ""),
            label,
            _german(row.parent_value, decimals),
        )
    console.print(out)
    console.print(f"{city}/Gesamt: {_german(table.city_value, decimals)}")
    for entry in result.classes + result.extra:
        console.print(f"  [{entry.colour}]■[/] {entry.label}: {entry.count}")
    for note in table.notes + result.notes:
        console.print(f"note: {note}")


@crosswalk_app.command("build")
def crosswalk_build(
    source: str,
    target: str,
    sliver_m2: Annotated[float, typer.Option(help="Drop pieces smaller than this (m²).")] = 50.0,
    sliver_share: Annotated[
        float, typer.Option(help="Drop pieces under this share of their old region.")
    ] = 0.002,
) -> None:
    """Overlay two region systems (finest levels) and store the pieces."""
    from layers.crosswalk import build_crosswalk

    with store_engine(current_settings().store) as engine, engine.begin() as conn:
        built = build_crosswalk(
            conn, source, target, sliver_m2=sliver_m2, sliver_share=sliver_share
        )
    console.print(
        f"crosswalk {source} → {target}: {built.pieces} pieces, {built.slivers} slivers dropped "
        f"({_german(built.sliver_area_m2, 0)} m²)"
    )


@crosswalk_app.command("apportion")
def crosswalk_apportion(
    source: str,
    target: str,
    indicator: Annotated[list[str], typer.Option("--indicator", "-i", help="Repeatable.")],
    weighting: Annotated[str, typer.Option(help="area or dasymetric")] = "dasymetric",
    reference_period: Annotated[
        str | None, typer.Option(help="Density period of the new regions (YYYY-MM-DD).")
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(help="ESTIMATE_PERIOD:ACTUAL_PERIOD, e.g. 2020-12-31:2021-06-30"),
    ] = None,
) -> None:
    """Re-apportion counts (and shares) from the old regions to the new ones."""
    from layers.crosswalk import apportion, compare_series, get_crosswalk, series_key
    from layers.levels import levels_of

    reference = date.fromisoformat(reference_period) if reference_period else None
    settings = current_settings()
    with store_engine(settings.store, settings.data) as engine, engine.begin() as conn:
        crosswalk = get_crosswalk(conn, source, target)
        written = apportion(
            conn, crosswalk, indicator, weighting=weighting, reference_period=reference
        )
        for key, count in written.items():
            console.print(f"{series_key(key, source, weighting)}: {count} values")
        if compare:
            estimate, actual = (date.fromisoformat(p) for p in compare.split(":"))
            levels = [lvl.key for lvl in reversed(levels_of(conn, crosswalk.target.system_id))]
            for key in written:
                errors = compare_series(
                    conn,
                    target,
                    (series_key(key, source, weighting), estimate),
                    (key, actual),
                    levels,
                )
                console.print(f"absolute percentage error of {key} (median, P90):")
                for row in errors.itertuples():
                    console.print(
                        f"  {row.level}: {_german(row.median_ape, 2)} %, "
                        f"{_german(row.p90_ape, 2)} % ({row.regions} regions)"
                    )


@supply_app.command("access")
def supply_access(
    system: str,
    level: str,
    category: str,
    demand: str,
    radius: Annotated[float, typer.Option(help="Catchment radius (m).")] = 1000.0,
    decay: Annotated[str | None, typer.Option(help="gaussian or linear")] = None,
) -> None:
    """2SFCA: places per 100 people of DEMAND reachable within the radius, per region."""
    from layers.supply import two_step_fca

    with store_engine(current_settings().store) as engine, engine.connect() as conn:
        access = two_step_fca(conn, system, level, category, demand, radius_m=radius, decay=decay)
    out = Table(
        title=f"{category}: Plätze je 100 ({demand}, {access.demand_period:%d.%m.%Y}), "
        f"Radius {_german(radius, 0)} m"
    )
    for column in ("Code", "Name", "Wert", "Nachfrage"):
        out.add_column(column)
    for row in access.rows.itertuples():
        out.add_row(row.code, row.name, _german(row.value, 1), _german(row.demand, 0))
    console.print(out)
