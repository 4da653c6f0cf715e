"""Who is credited for an indicator's values: the statistics sources that loaded them into the
region system (stored with every statistics ingest in ``indicator_credits``), for formulas and
composite indices the sources of their inputs; the catalog's own credit only where no source
loaded anything (facility indicators, the platform's own records)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.derived import references
from spatial.features import Attribution

_MAX_DEPTH = 8  # formulas over formulas: deeper chains are refused when they are registered


def _inputs(definition: dict) -> set[str]:
    """The indicators a computed indicator reads."""
    if definition.get("expression"):
        return {ref.name for ref in references(definition["expression"])}
    composite = definition.get("composite")
    if composite:
        parts = [composite["index"], composite.get("other") or {}]
        return {c["indicator"] for part in parts for c in part.get("components", [])}
    return set()


def _with_inputs(conn: Connection, keys: set[str]) -> dict[str, dict]:
    """The indicators named and every indicator they are computed from."""
    found: dict[str, dict] = {}
    wanted = set(keys)
    for _ in range(_MAX_DEPTH):
        rows = conn.execute(
            text(
                "SELECT id, key, source, licence, attribution, definition FROM indicators "
                "WHERE key = ANY(:keys)"
            ),
            {"keys": sorted(wanted)},
        ).all()
        wanted = set()
        for row in rows:
            found[row.key] = dict(row._mapping)
            wanted |= _inputs(row.definition or {}) - set(found)
        if not wanted:
            break
    return found


def indicator_attribution(
    conn: Connection, *keys: str, system_id: int | None = None
) -> list[Attribution]:
    """The credits of the indicators' values (in ``system_id``, else in every system)."""
    indicators = _with_inputs(conn, set(keys))
    if not indicators:
        return []
    credited = conn.execute(
        text(
            "SELECT DISTINCT c.indicator_id, c.title, c.licence, c.attribution "
            "FROM indicator_credits c WHERE c.indicator_id = ANY(:ids) "
            "AND (CAST(:sys AS int) IS NULL OR c.system_id = :sys) ORDER BY c.title"
        ),
        {"ids": [i["id"] for i in indicators.values()], "sys": system_id},
    ).all()
    out = [Attribution(r.title, r.licence, r.attribution) for r in credited]
    have = {r.indicator_id for r in credited}
    for item in sorted(indicators.values(), key=lambda i: i["source"] or ""):
        computed = bool(_inputs(item["definition"] or {}))
        if item["id"] not in have and item["source"] and not computed:
            out.append(Attribution(item["source"], item["licence"], item["attribution"]))
    return list(dict.fromkeys(out))
