"""The ``sozialraum`` command: manage the store, run ingest jobs, serve the web app.

Errors a user can fix are printed as one line (exit code 1); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from cli.analysis import crosswalk_app, layer_app, supply_app
from cli.cities import city_app, systems_app
from cli.context import current_settings
from cli.export import export_app
from cli.ingest import ingest_app
from cli.profiles import profiles_app
from cli.users import users_app
from spatial.cluster import EmbeddedCluster
from spatial.errors import SozialraumError
from spatial.settings import StoreSettings
from spatial.store import migrate, resolve_database_url
from web.settings import Settings

console = Console()
err_console = Console(stderr=True)

app = typer.Typer(
    help="sozialraum: social-space analytics on region hierarchies (LOR and others).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(
    help="Manage the store (the embedded PostgreSQL + PostGIS cluster).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(layer_app, name="layer")
app.add_typer(crosswalk_app, name="crosswalk")
app.add_typer(supply_app, name="supply")
app.add_typer(users_app, name="users")
app.add_typer(export_app, name="export")
app.add_typer(profiles_app, name="profiles")
app.add_typer(systems_app, name="systems")
app.add_typer(city_app, name="city")


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Global options."""


def _embedded(settings: StoreSettings) -> EmbeddedCluster:
    if settings.database_url:
        raise SozialraumError(
            "SOZIALRAUM_DATABASE_URL is set: the embedded cluster is not used; "
            "manage that database with its own tools"
        )
    return EmbeddedCluster(settings.data_dir, settings.pg_bindir)


@db_app.command("start")
def db_start() -> None:
    """Start the embedded cluster (created on first start)."""
    cluster = _embedded(current_settings().store)
    notes = cluster.start()
    for note in notes:
        console.print(f"• {note}")
    console.print(cluster.status().describe())


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    cluster = _embedded(current_settings().store)
    console.print("stopped" if cluster.stop() else "not running")


@db_app.command("status")
def db_status() -> None:
    """Show whether the embedded cluster runs (exit code 3 when it does not)."""
    status = _embedded(current_settings().store).status()
    console.print(status.describe())
    if not status.running:
        raise typer.Exit(3)


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded cluster when needed)."""
    print(resolve_database_url(current_settings().store))


@db_app.command("migrate")
def db_migrate() -> None:
    """Bring the schema up to date (Alembic)."""
    settings = current_settings().store
    revision = migrate(resolve_database_url(settings), settings.srid)
    console.print(f"schema at revision {revision}")


indicators_app = typer.Typer(help="The indicator catalog.", no_args_is_help=True)
app.add_typer(indicators_app, name="indicators")


@indicators_app.command("list")
def indicators_list() -> None:
    """Print the indicator catalog (from data/indicators)."""
    from rich.table import Table

    from ingest.catalog import all_catalogs
    from ingest.facility_regions import FACILITY_CATALOG, load_categories

    data = current_settings().data
    table = Table(title="Indikatoren")
    for column in ("key", "Name", "unit", "kind", "aggregation", "polarity", "catalog"):
        table.add_column(column)
    listed = [(c.key, c.indicators) for c in all_catalogs(data.catalog_dirs())]
    # facility indicators are derived per category when facilities are loaded
    derived = []
    for category in load_categories(data.facility_categories_file).values():
        derived.append(category.count_indicator())
        if category.capacity_unit:
            derived.append(category.capacity_indicator())
    listed.append((FACILITY_CATALOG, derived))
    for catalog_key, indicators in listed:
        for ind in indicators:
            rule = ind.aggregation
            if ind.aggregation == "ratio":
                rule = f"ratio {ind.numerator} / {ind.denominator}"
            table.add_row(ind.key, ind.name_de, ind.unit, ind.kind, rule, ind.polarity, catalog_key)
    console.print(table)


@indicators_app.command("store")
def indicators_store(
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Compute what is missing first.")
    ] = False,
) -> None:
    """The indicator store: published tables and values per region system, and the tables
    that are computable but not stored yet (every command that loads data refreshes it)."""
    from rich.table import Table

    from cli.ingest import store_engine
    from layers.materialize import refresh_store, store_summary

    with store_engine(current_settings().store) as engine:
        if refresh:
            with engine.connect() as conn:
                kept = refresh_store(conn, commit_each=True)
            console.print(f"{kept:,} level tables computed")
        with engine.connect() as conn:
            summaries = store_summary(conn)
    table = Table(title="Indikatorspeicher")
    for column in ("system", "tables", "values", "missing"):
        table.add_column(column, justify="left" if column == "system" else "right")
    for row in summaries:
        table.add_row(
            row["system"], f"{row['tables']:,}", f"{row['values']:,}", f"{row['missing']:,}"
        )
    console.print(table)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app and API."""
    settings = current_settings()
    url = resolve_database_url(settings.store)
    migrate(url, settings.store.srid)
    store = settings.store.model_copy(update={"database_url": url})
    _serve(settings.model_copy(update={"store": store}), host, port)


def _serve(settings: Settings, host: str, port: int) -> None:
    """Run the app on a store that is already started and migrated."""
    import uvicorn

    from web.app import create_app

    console.print(f"serving on http://{host}:{port}")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    mirror: Annotated[
        Path | None, typer.Option(help="Local data mirror (default: SOZIALRAUM_DATA_MIRROR).")
    ] = None,
    city: Annotated[
        list[str] | None,
        typer.Option(
            help="City pack(s) to load (data/cities/<city>); default SOZIALRAUM_DEFAULT_CITY."
        ),
    ] = None,
) -> None:
    """Start the store, load a city's boundaries, statistics and facilities, and serve."""
    from cli.ingest import (
        run_facilities_ingest,
        run_statistics_ingest,
        run_system_ingest,
        store_engine,
    )
    from ingest.manifest import manifest_keys

    settings = current_settings()
    data = settings.data
    if mirror is not None:
        data = data.model_copy(update={"data_mirror": mirror.expanduser().resolve()})
    packs = data.packs(city or [data.default_city])
    data = data.model_copy(update={"default_city": packs[0].key})  # the map opens on it
    store = settings.store
    with store_engine(store, data) as engine:
        for pack in packs:
            for system in pack.systems:
                run_system_ingest(
                    engine,
                    system.key,
                    data,
                    srid=store.srid,
                    force=False,
                    apply_fixes=system.apply_fixes,
                )
            for source in manifest_keys(data.pack_dirs("statistics", [pack.key])):
                run_statistics_ingest(engine, source, data, force=False, skip_unknown=False)
            for source in manifest_keys(data.pack_dirs("facilities", [pack.key])):
                run_facilities_ingest(engine, source, data, srid=store.srid, force=False)
        url = engine.url.render_as_string(hide_password=False)
    store = store.model_copy(update={"database_url": url})
    _serve(settings.model_copy(update={"store": store, "data": data}), "127.0.0.1", port)


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        app()
    except SozialraumError as exc:
        if debug:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except Exception as exc:  # a bug or an environment problem: still one line by default
        if debug:
            raise
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc} (run with --debug for details)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
