"""``sozialraum profiles build``: the profiles of all regions of a level (in one Bezirk, or
the whole city) as PDF or HTML files, with a progress bar."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.context import current_settings
from cli.ingest import store_engine

console = Console()
profiles_app = typer.Typer(help="Region profiles as documents.", no_args_is_help=True)


@profiles_app.command("build")
def build(
    level: Annotated[str, typer.Option(help="Region level, e.g. bzr (Bezirksregionen).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write into.")],
    bezirk: Annotated[
        str | None,
        typer.Option(help="Only regions inside this region of the coarsest level (its code)."),
    ] = None,
    system: Annotated[str | None, typer.Option(help="Region system (default: newest).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="pdf or html.")] = "pdf",
    internal: Annotated[
        bool,
        typer.Option(
            help="Include what only signed-in users see: sections not marked public, "
            "unpublished projects, the single participation events."
        ),
    ] = False,
) -> None:
    """Write the profile of every region of LEVEL (in BEZIRK) into OUTPUT."""
    from profiles.batch import BatchRequest, build_batch

    request = BatchRequest(level, output, system, bezirk, fmt, internal)
    with (
        store_engine(current_settings().store) as engine,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("Profile", total=None)

        def advance(total, region) -> None:
            if region is None:
                progress.update(task, total=total)
            else:
                progress.update(task, advance=1, description=f"{region.code} {region.name}")

        paths = build_batch(
            engine,
            request,
            current_settings().profiles,
            current_settings().records.credit(),
            current_settings().data.packs(),
            on_region=advance,
        )
    size = sum(p.stat().st_size for p in paths)
    console.print(f"{len(paths)} profiles ({size:,} bytes) in {output}")
