"""``sozialraum systems list|show|delete`` (the region systems in the store) and
``sozialraum city check DIR`` (a dry run of a city pack: what would be loaded, what fails)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.context import current_settings
from cli.ingest import store_engine
from spatial.errors import SozialraumError

console = Console()
systems_app = typer.Typer(help="Region systems in the store.", no_args_is_help=True)
city_app = typer.Typer(help="City packs (data/cities/<city>).", no_args_is_help=True)


@systems_app.command("list")
def systems_list() -> None:
    """Every loaded region system with its levels and values."""
    from ingest.systems import system_summaries

    with store_engine(current_settings().store) as engine, engine.connect() as conn:
        summaries = system_summaries(conn)
    table = Table(title="Gebietssysteme")
    for column in ("key", "Name", "Stadt", "Ebenen", "Werte"):
        table.add_column(column)
    for s in summaries:
        levels = " › ".join(f"{lvl.key} ({lvl.regions})" for lvl in s.levels)
        table.add_row(s.key, s.name, s.city, levels, f"{s.values:,}")
    console.print(table)


@systems_app.command("show")
def systems_show(system: str) -> None:
    """One system: its levels with counts and areas, the sources of its values."""
    from ingest.systems import system_summaries

    with store_engine(current_settings().store) as engine, engine.connect() as conn:
        summary = system_summaries(conn, system)[0]
    console.print(f"[bold]{summary.key}[/] {summary.name} ({summary.city})")
    table = Table()
    for column in ("Ebene", "Name", "Regionen", "Fläche (km²)"):
        table.add_column(column)
    for lvl in summary.levels:
        table.add_row(lvl.key, lvl.name, str(lvl.regions), f"{lvl.area_km2:,.2f}")
    console.print(table)
    console.print(f"{summary.values:,} values; statistics sources: ")
    console.print(", ".join(summary.sources) or "none", highlight=False)


@systems_app.command("delete")
def systems_delete(
    system: str,
    level: Annotated[
        str | None, typer.Option(help="Only this level (the coarsest or the finest).")
    ] = None,
) -> None:
    """Remove a system or one level; refused while statistics, records or written profile
    sections depend on it (the message says which)."""
    from ingest.systems import delete_system

    with store_engine(current_settings().store) as engine:
        console.print(delete_system(engine, system, level))


def _periods(periods: list[str]) -> str:
    if len(periods) > 2:
        return f"{periods[0]} … {periods[-1]} ({len(periods)})"
    return ", ".join(periods) or "–"


@city_app.command("check")
def city_check(
    directory: Annotated[Path, typer.Argument(help="The pack, e.g. data/cities/<city>.")],
) -> None:
    """Read a city pack and every file it names; print what would be loaded and which joins
    fail, without writing anything (exit code 2 when something would fail)."""
    from ingest.city_check import check_city

    path = directory.expanduser().resolve()
    if not (path / "city.toml").exists():
        raise SozialraumError(f"{path}: no city.toml here; a city pack is data/cities/<city>")
    result = check_city(path, current_settings().data)
    pack = result.pack
    console.print(f"[bold]{pack.name}[/] ({pack.key}), amtliches Bezugssystem {pack.official_crs}")
    levels = Table(title="Ebenen")
    for column in ("System", "Ebene", "Name", "Regionen", "Herkunft"):
        levels.add_column(column)
    for lvl in result.levels:
        levels.add_row(
            lvl.system, lvl.key, lvl.name, str(lvl.regions), "aufgelöst" if lvl.derived else "Datei"
        )
    console.print(levels)
    sources = Table(title="Quellen")
    for column in ("Quelle", "Art", "Zeilen", "zugeordnet", "Indikatoren", "Stichtage"):
        sources.add_column(column)
    for s in result.sources:
        sources.add_row(
            s.key,
            s.kind,
            str(s.rows),
            str(s.matched),
            str(len(s.indicators)) if s.indicators else "–",
            _periods(s.periods),
        )
    console.print(sources)
    for error in result.errors:
        console.print(f"[red]error:[/] {error}", highlight=False)
    for s in result.sources:
        for problem in s.problems:
            console.print(f"[red]{s.key}:[/] {problem}", highlight=False)
        for note in s.notes:
            console.print(f"{s.key}: {note}", highlight=False)
    if not result.ok:
        raise typer.Exit(2)
    console.print("nothing was written; load it with: sozialraum demo --city " + pack.key)
