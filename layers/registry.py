"""Registers the analysis layer's own indicators in the store's catalog: the derived
indicators declared in ``data/indicators`` (formulas) and the composite indices of
``data/composites`` (index, class and combined class), so that every consumer — CLI, API, map —
finds them beside the ingested statistics."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.catalog import Catalog, Indicator, all_catalogs, upsert_catalog
from layers.composite import CompositeIndex, combined_labels, load_composites
from layers.derived import ExpressionError, parse, references
from layers.errors import NotComputable
from spatial.settings import DataSettings

COMPOSITE_CATALOG = "composite"


def register_analysis_indicators(conn: Connection, settings: DataSettings) -> list[str]:
    """Upsert the shared formulas and the formulas and composite indices of the cities whose
    region systems are in the store (a city's indices belong to it); returns their keys.
    Invalid formulas and cycles between formulas are refused with the indicator named."""
    loaded = set(conn.execute(text("SELECT key FROM region_systems")).scalars())
    packs = [p for p in settings.packs() if loaded & set(p.system_keys)]
    cities = [p.key for p in packs]
    derived = [c for c in all_catalogs(settings.catalog_dirs(cities)) if _all_derived(c)]
    check_formulas([i for c in derived for i in c.indicators])
    catalogs = list(derived)
    for pack in packs:  # each city's indices in a catalog of its own
        composites = load_composites(settings.pack_dirs("composites", [pack.key]))
        if composites:
            catalogs.append(composite_catalog(composites, pack.composite_catalog))
    keys = []
    for catalog in catalogs:
        keys += list(upsert_catalog(conn, catalog))
    return keys


def check_formulas(indicators: list[Indicator]) -> None:
    graph = {}
    for indicator in indicators:
        try:
            parse(indicator.expression)
        except ExpressionError as exc:
            raise NotComputable(f"{indicator.key}: {exc}") from exc
        graph[indicator.key] = {ref.name for ref in references(indicator.expression)}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        cycle = " → ".join(exc.args[1])
        raise NotComputable(f"derived indicators refer to each other in a cycle: {cycle}") from None


def composite_catalog(
    composites: dict[str, CompositeIndex], key: str = COMPOSITE_CATALOG
) -> Catalog:
    indicators = []
    for index in composites.values():
        definition = index.model_dump(mode="json")
        common = {"topic": index.topic, "aggregation": "none", "unit": ""}
        indicators.append(
            Indicator(
                key=index.key,
                name_de=index.name_de,
                name_en=index.name_en,
                kind="index",
                polarity=index.polarity,
                decimals=2,
                composite={"index": definition, "part": "index"},
                **common,
            )
        )
        indicators.append(
            Indicator(
                key=f"{index.key}_class",
                name_de=f"{index.name_de}: Klasse",
                name_en=f"{index.name_en}: class",
                kind="class",
                polarity=index.polarity,
                class_labels=index.labels,
                composite={"index": definition, "part": "class"},
                **common,
            )
        )
        if index.combined:
            other = composites[index.combined.other]
            indicators.append(
                Indicator(
                    key=index.combined.key,
                    name_de=index.combined.name_de,
                    name_en=index.combined.name_en,
                    kind="class",
                    class_labels=combined_labels(index, other),
                    composite={
                        "index": definition,
                        "part": "combined",
                        "other": other.model_dump(mode="json"),
                    },
                    **common,
                )
            )
    return Catalog(
        key=key,
        # credited to the sources of the components (layers.credits)
        source="Zusammengesetzte Indizes (berechnet aus den Komponenten)",
        indicators=indicators,
    )


def _all_derived(catalog: Catalog) -> bool:
    return all(i.aggregation == "derived" for i in catalog.indicators)
