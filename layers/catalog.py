"""Read access to the indicator catalog as stored: entries grouped by topic."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_CATALOG = text(
    "SELECT key, topic, name_de, name_en, description, unit, kind, aggregation, polarity, "
    "decimals, numerator, denominator, min_population, catalog, source, licence, attribution, "
    "definition->>'expression' AS expression, definition->>'method' AS method, "
    "definition->'class_labels' AS class_labels FROM indicators "
    "WHERE (CAST(:key AS text) IS NULL OR key = :key) ORDER BY topic, name_de"
)


def catalog_entries(conn: Connection, key: str | None = None) -> list[dict]:
    """Catalog entries (one, with ``key``), without empty fields."""
    return [
        {k: v for k, v in row._mapping.items() if v is not None}
        for row in conn.execute(_CATALOG, {"key": key})
    ]


def catalog_by_topic(conn: Connection) -> list[dict]:
    topics: dict[str, list[dict]] = {}
    for entry in catalog_entries(conn):
        topics.setdefault(entry["topic"], []).append(entry)
    return [{"topic": topic, "indicators": items} for topic, items in topics.items()]
