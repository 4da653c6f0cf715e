"""Read access to the indicator catalog as stored: entries grouped by topic, each with the
credits of the sources that loaded its values (the catalog's own where none did)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_CATALOG = text(
    "SELECT i.key, i.topic, i.name_de, i.name_en, i.description, i.unit, i.kind, "
    "i.aggregation, i.polarity, i.decimals, i.numerator, i.denominator, i.min_population, "
    "i.catalog, coalesce(c.source, i.source) AS source, "
    "coalesce(c.licence, i.licence) AS licence, "
    "coalesce(c.attribution, i.attribution) AS attribution, "
    "i.definition->>'expression' AS expression, i.definition->>'method' AS method, "
    "i.definition->'class_labels' AS class_labels FROM indicators i "
    "LEFT JOIN (SELECT indicator_id, string_agg(DISTINCT title, '; ') AS source, "
    "string_agg(DISTINCT licence, '; ') AS licence, "
    "string_agg(DISTINCT attribution, '; ') AS attribution FROM indicator_credits "
    "GROUP BY indicator_id) c ON c.indicator_id = i.id "
    "WHERE (CAST(:key AS text) IS NULL OR i.key = :key) ORDER BY i.topic, i.name_de"
)


def catalog_entries(conn: Connection, key: str | None = None) -> list[dict]:
    """Catalog entries (one, with ``key``), without empty fields."""
    return [
        {k: v for k, v in row._mapping.items() if v is not None}
        for row in conn.execute(_CATALOG, {"key": key})
    ]


def catalog_by_topic(conn: Connection, without: set[str] | frozenset = frozenset()) -> list[dict]:
    """The catalog by topic, without the entries of the catalogs in ``without``."""
    topics: dict[str, list[dict]] = {}
    for entry in catalog_entries(conn):
        if entry["catalog"] in without:
            continue
        topics.setdefault(entry["topic"], []).append(entry)
    return [{"topic": topic, "indicators": items} for topic, items in topics.items()]
