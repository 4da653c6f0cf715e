"""``sozialraum ingest …``: run ingest jobs with a progress display and a summary table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.context import current_settings
from spatial.errors import SozialraumError
from spatial.settings import DataSettings, StoreSettings
from spatial.store import open_store

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    # the ingest stack (pandas, GDAL) loads only when an ingest command runs
    from ingest.boundaries import IngestResult
    from ingest.runs import JobResult

console = Console()
ingest_app = typer.Typer(help="Bring boundaries and data into the store.", no_args_is_help=True)


@contextmanager
def _progress():
    """A spinner per step; downloads show the bytes received."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        state: dict = {"step": None, "download": None}

        def step(description: str) -> None:
            if state["step"] is not None:
                progress.update(state["step"], completed=1, total=1)
            state["step"] = progress.add_task(description, total=None)

        def download(done: int, total: int | None) -> None:
            if state["download"] is None:
                state["download"] = progress.add_task("download", total=total)
            of = f" of {total / 1e6:.1f} MB" if total else ""
            progress.update(
                state["download"],
                completed=done,
                total=total,
                description=f"download: {done / 1e6:.1f} MB{of}",
            )

        yield step, download
        if state["step"] is not None:
            progress.update(state["step"], completed=1, total=1)


def print_result(label: str, result: IngestResult) -> None:
    if result.skipped:
        console.print(result.message)
        return
    table = Table(title=f"{label}: ingest run {result.run_id}")
    for column in ("level", "features", "repaired", "area km²"):
        table.add_column(column, justify="left" if column == "level" else "right")
    for row in result.summary:
        repaired = row["repaired_geometries"] + row["repaired_codes"]
        name = f"{row['name']} ({row['level']})" + (" – dissolved" if row["derived"] else "")
        table.add_row(name, str(row["features"]), str(repaired), f"{row['area_km2']:,.2f}")
    console.print(table)
    for note in result.notes:
        console.print(f"• {note}")
    for check in result.checks:
        mark = "[green]✓[/]" if check.ok else "[yellow]![/]"
        console.print(f"{mark} {check.level}: {check.detail}", highlight=False)
        for example in check.examples if not check.ok else []:
            console.print(f"    {example}", highlight=False)


@contextmanager
def store_engine(store: StoreSettings, data: DataSettings | None = None) -> Iterator[Engine]:
    """The up-to-date store for one command (started and migrated once), disposed after.
    With ``data``, the analysis layer's derived and composite indicators are registered after
    the command, so they are there as soon as their inputs are, and the indicator store
    computes the tables whose inputs changed."""
    from layers.materialize import refresh_store
    from layers.registry import register_analysis_indicators

    engine = open_store(store)
    try:
        yield engine
        if data is not None:
            with engine.begin() as conn:
                register_analysis_indicators(conn, data)
            with engine.connect() as conn:  # the tables the command's data changed
                refresh_store(conn, commit_each=True)
    finally:
        engine.dispose()


def run_system_ingest(
    engine: Engine, system: str, data: DataSettings, *, srid: int, force: bool, apply_fixes: bool
) -> IngestResult:
    from ingest.jobs import ingest_system

    with _progress() as (step, download):
        result = ingest_system(
            engine,
            system,
            data,
            srid=srid,
            force=force,
            apply_fixes=apply_fixes,
            step=step,
            download=download,
        )
    print_result(system, result)
    return result


def print_job(label: str, result: JobResult, rows: list[tuple[str, int]], column: str) -> None:
    if result.skipped:
        console.print(result.message)
        return
    table = Table(title=f"{label}: ingest run {result.run_id}")
    table.add_column(column)
    table.add_column("count", justify="right")
    for name, count in rows:
        table.add_row(name, f"{count:,}")
    console.print(table)
    for note in result.notes:
        console.print(f"• {note}")


def run_statistics_ingest(
    engine: Engine,
    source: str,
    data: DataSettings,
    *,
    force: bool,
    skip_unknown: bool,
    replace: bool = False,
) -> JobResult:
    from ingest.statistics import ingest_statistics

    with _progress() as (step, _download):
        result = ingest_statistics(
            engine,
            source,
            data,
            force=force,
            skip_unknown=skip_unknown,
            replace=replace,
            step=step,
        )
    print_statistics(source, result)
    return result


def print_statistics(label: str, result: JobResult) -> None:
    print_job(label, result, sorted(result.counts.items()), "status")
    if not result.skipped:
        periods = ", ".join(p.strftime("%d.%m.%Y") for p in result.details["periods"])
        console.print(f"periods: {periods}")


def run_facilities_ingest(
    engine: Engine, source: str, data: DataSettings, *, srid: int, force: bool
) -> JobResult:
    from ingest.facilities import ingest_facilities

    with _progress() as (step, download):
        result = ingest_facilities(
            engine, source, data, srid=srid, force=force, step=step, download=download
        )
    rows = sorted(result.counts.items())
    rows += [
        (f"{r['system']} / {r['level']}: assigned", r["facilities"])
        for r in result.details.get("levels", [])
    ]
    if not result.skipped:
        rows.append(("outside every region", result.details["outside"]))
    print_job(source, result, rows, "category")
    return result


@ingest_app.command("boundaries")
def boundaries(
    system: Annotated[str, typer.Option(help="Region system key (see: sozialraum systems list).")],
    file: Annotated[
        str | None,
        typer.Option(
            help="Load one file or URL (Shapefile, GeoJSON, GPKG, FlatGeobuf, WFS) "
            "as --level of --system instead of the manifest."
        ),
    ] = None,
    level: Annotated[str | None, typer.Option(help="Level key for --file, e.g. stadtteil.")] = None,
    level_name: Annotated[str | None, typer.Option(help="Display name of the level.")] = None,
    code_field: Annotated[str | None, typer.Option(help="Field with the region code.")] = None,
    name_field: Annotated[str | None, typer.Option(help="Field with the region name.")] = None,
    parent_field: Annotated[
        str | None, typer.Option(help="Field with the parent region's code.")
    ] = None,
    code_length: Annotated[
        int | None, typer.Option(help="Length of codes (repairs lost leading zeros).")
    ] = None,
    crs: Annotated[str | None, typer.Option(help="CRS to assume if the file has none.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer inside the file.")] = None,
    system_name: Annotated[str | None, typer.Option(help="Name of a new region system.")] = None,
    city: Annotated[str | None, typer.Option(help="City of a new region system.")] = None,
    force: Annotated[bool, typer.Option(help="Replace what is loaded.")] = False,
    apply_fixes: Annotated[
        bool, typer.Option(help="Apply the known source corrections listed in the manifest.")
    ] = False,
    above: Annotated[
        bool,
        typer.Option(
            help="--file is a new level coarser than every loaded one (the level below gets "
            "its parents from it)."
        ),
    ] = False,
    codes_from_names: Annotated[
        bool, typer.Option(help="The file has names only: make codes from --name-field.")
    ] = False,
) -> None:
    """Load region boundaries: a whole system from its manifest, or one file with --file."""
    from ingest.jobs import FileLevel, ingest_file
    from ingest.readers import FieldMap

    store, data = current_settings().store, current_settings().data
    if file is None:
        with store_engine(store, data) as engine:
            run_system_ingest(
                engine, system, data, srid=store.srid, force=force, apply_fixes=apply_fixes
            )
        return
    if codes_from_names:
        code_field = code_field or name_field
    if not level or not code_field:
        raise SozialraumError("--file needs --level and --code-field (or --codes-from-names)")
    spec = FileLevel(
        system=system,
        level=level,
        level_name=level_name,
        system_name=system_name,
        city=city,
        above=above,
        fields=FieldMap(
            code_field=code_field,
            generate_codes=codes_from_names,
            name_field=name_field,
            parent_field=parent_field,
            code_length=code_length,
            crs=crs,
            layer=layer,
        ),
    )
    with store_engine(store, data) as engine, _progress() as (step, download):
        result = ingest_file(
            engine, file, spec, data, srid=store.srid, force=force, step=step, download=download
        )
    print_result(f"{system}:{level}", result)


@ingest_app.command("statistics")
def statistics(
    source: Annotated[
        str | None, typer.Option(help="Statistics source key (a file in a pack's statistics/).")
    ] = None,
    file: Annotated[
        str | None,
        typer.Option(help="Load one ad-hoc table (CSV or XLSX, path or URL) instead of a source."),
    ] = None,
    system: Annotated[str | None, typer.Option(help="Region system of --file.")] = None,
    level: Annotated[str | None, typer.Option(help="Region level of --file.")] = None,
    code_column: Annotated[str | None, typer.Option(help="Column with the region code.")] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="COLUMN=indicator_key; repeat for each column to load."),
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Date the values refer to (YYYY-MM-DD) for --file.")
    ] = None,
    period_column: Annotated[str | None, typer.Option(help="Column with the period.")] = None,
    period_format: Annotated[str, typer.Option(help="strptime format of the period.")] = "%Y%m",
    decimal: Annotated[str, typer.Option(help="Decimal separator: ',' or '.'.")] = ",",
    header_row: Annotated[
        int, typer.Option(help="Row of the header, counting from 1 (below a title block).")
    ] = 1,
    sheet: Annotated[str | None, typer.Option(help="Worksheet of an XLSX file.")] = None,
    sentinel: Annotated[
        list[float] | None, typer.Option(help="A number that means 'no data', e.g. -9999.")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="Name of the load (default: file-<name>-<period>).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace what this source loaded.")] = False,
    skip_unknown: Annotated[
        bool, typer.Option(help="Skip and report rows whose region code does not exist.")
    ] = False,
    replace: Annotated[
        bool, typer.Option(help="Overwrite values another source loaded for the same cells.")
    ] = False,
) -> None:
    """Load statistics: a source of a city pack, or one table with --file."""
    data = current_settings().data
    if (source is None) == (file is None):
        raise SozialraumError("give either --source or --file")
    if source is not None:
        with store_engine(current_settings().store, data) as engine:
            run_statistics_ingest(
                engine, source, data, force=force, skip_unknown=skip_unknown, replace=replace
            )
        return
    if not (system and level and code_column and column):
        raise SozialraumError("--file needs --system, --level, --code-column and --column")
    mapping = {}
    for item in column:
        name, sep, indicator = item.rpartition("=")
        if not sep or not name or not indicator:
            raise SozialraumError(f"--column {item!r}: write COLUMN=indicator_key")
        mapping[name.strip()] = indicator.strip()
    try:
        when = date.fromisoformat(period) if period else None
    except ValueError:
        raise SozialraumError(f"--period {period!r} is not a date (YYYY-MM-DD)") from None
    options = {
        "period_column": period_column,
        "period_format": period_format,
        "decimal": decimal,
        "header_row": max(header_row - 1, 0),
        "sheet": sheet,
        "sentinels": list(sentinel or []),
    }
    from ingest.statistics import ingest_statistics_file

    with store_engine(current_settings().store, data) as engine, _progress() as (step, _download):
        result = ingest_statistics_file(
            engine,
            file,
            data,
            system=system,
            level=level,
            code_column=code_column,
            columns=mapping,
            period=when,
            key=key,
            force=force,
            skip_unknown=skip_unknown,
            replace=replace,
            step=step,
            **options,
        )
    print_statistics(key or file, result)


@ingest_app.command("facilities")
def facilities(
    source: Annotated[
        list[str] | None,
        typer.Option(help="Facility source key(s) of a pack's facilities/; repeat for several."),
    ] = None,
    all_sources: Annotated[
        bool, typer.Option("--all", help="Load every facility source of the city packs.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace what this source loaded.")] = False,
) -> None:
    """Load social-infrastructure facilities described in the city packs and assign them to
    the regions of every loaded region system."""
    from ingest.manifest import manifest_keys

    store, data = current_settings().store, current_settings().data
    keys = manifest_keys(data.pack_dirs("facilities")) if all_sources else list(source or [])
    if not keys:
        known = ", ".join(manifest_keys(data.pack_dirs("facilities")))
        raise SozialraumError(f"name a --source or use --all (sources: {known})")
    with store_engine(store, data) as engine:
        for key in keys:
            run_facilities_ingest(engine, key, data, srid=store.srid, force=force)
