"""Facilities in regions: the controlled category list, the assignment of points to the regions
that contain them at every level of every loaded region system, and the facility-derived
indicators (count and capacity sum per category, region and level) computed from it in SQL."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.catalog import Catalog, Indicator
from ingest.errors import IngestError
from ingest.manifest import load_toml_model

FACILITY_CATALOG = "facilities"


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label_de: str
    plural_de: str
    label_en: str
    topic: str
    capacity_unit: str | None = None
    capacity_key: str = Field(default="capacity", pattern=r"^[a-z][a-z0-9_]*$")

    def count_indicator(self) -> Indicator:
        return Indicator(
            key=f"{self.key}_count",
            topic=self.topic,
            name_de=f"Anzahl {self.plural_de}",
            name_en=f"Number of {self.label_en.lower()}s",
            description=f"Anzahl der Standorte ({self.plural_de}) im Gebiet",
            unit="Anzahl",
            kind="count",
            aggregation="sum",
            polarity="higher_is_better",
        )

    def capacity_indicator(self) -> Indicator:
        return Indicator(
            key=f"{self.key}_{self.capacity_key}",
            topic=self.topic,
            name_de=f"{self.plural_de}: {self.capacity_unit}",
            name_en=f"{self.label_en}s: capacity",
            description=f"Summe der {self.capacity_unit} aller {self.plural_de} im Gebiet "
            "(Einrichtungen ohne Angabe zählen nicht mit)",
            unit=self.capacity_unit or "Anzahl",
            kind="count",
            aggregation="sum",
            polarity="higher_is_better",
        )


class CategoryList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: list[Category] = Field(min_length=1)


def load_categories(path: Path) -> dict[str, Category]:
    listed = load_toml_model(path.parent, path.stem, CategoryList, "facility category list")
    keys = [c.key for c in listed.categories]
    if len(set(keys)) != len(keys):
        raise IngestError("facility category keys must be unique", file=path)
    return {c.key: c for c in listed.categories}


def facility_catalog(
    categories: list[Category],
    *,
    with_capacity: set[str],
    source: str,
    licence: str,
    attribution: str,
) -> Catalog:
    """The indicators derived from one facility source (they carry its attribution)."""
    indicators = []
    for category in categories:
        indicators.append(category.count_indicator())
        if category.key in with_capacity and category.capacity_unit:
            indicators.append(category.capacity_indicator())
    return Catalog(
        key=FACILITY_CATALOG,
        source=source,
        licence=licence,
        attribution=attribution,
        indicators=indicators,
    )


def upsert_categories(conn: Connection, categories: dict[str, Category]) -> None:
    for rank, category in enumerate(categories.values()):
        conn.execute(
            text(
                "INSERT INTO facility_categories (key, label_de, plural_de, label_en, topic, "
                "capacity_unit, capacity_key, rank) VALUES (:key, :label_de, :plural_de, "
                ":label_en, :topic, :capacity_unit, :capacity_key, :rank) "
                "ON CONFLICT (key) DO UPDATE SET "
                "label_de = EXCLUDED.label_de, plural_de = EXCLUDED.plural_de, "
                "label_en = EXCLUDED.label_en, topic = EXCLUDED.topic, "
                "capacity_unit = EXCLUDED.capacity_unit, capacity_key = EXCLUDED.capacity_key, "
                "rank = EXCLUDED.rank"
            ),
            {**category.model_dump(), "rank": rank},
        )


def assign_facilities(
    conn: Connection, *, run_id: int | None = None, system_id: int | None = None
) -> None:
    """Store, per facility and level, the region that contains it.

    The finest level is found spatially (a point on a shared border goes to the lower code);
    coarser levels follow the stored parent codes, so every level agrees with the finest one;
    regions outside any finer region (gaps) are found spatially as well. ``run_id`` limits the
    work to the facilities of one run, ``system_id`` to the regions of one system.
    """
    scope = " AND ".join(
        [
            "f.run_id = :run" if run_id is not None else "TRUE",
            "r.system_id = :sys" if system_id is not None else "TRUE",
        ]
    )
    params = {"run": run_id, "sys": system_id}
    finest = "(SELECT max(rank) FROM region_levels m WHERE m.system_id = l.system_id) = l.rank"
    _assign_by_containment(conn, f"{scope} AND {finest}", params)
    conn.execute(
        text(
            f"""
            WITH RECURSIVE chain (facility_id, region_id, level_id, system_id, parent_code, rank)
            AS (
                SELECT fr.facility_id, r.id, r.level_id, r.system_id, r.parent_code, l.rank
                FROM facility_regions fr
                JOIN facilities f ON f.id = fr.facility_id
                JOIN regions r ON r.id = fr.region_id
                JOIN region_levels l ON l.id = r.level_id
                WHERE {scope}
                UNION ALL
                SELECT c.facility_id, p.id, p.level_id, p.system_id, p.parent_code, pl.rank
                FROM chain c
                JOIN region_levels pl ON pl.system_id = c.system_id
                 AND pl.rank = (SELECT max(rank) FROM region_levels m
                                WHERE m.system_id = c.system_id AND m.rank < c.rank)
                JOIN regions p ON p.level_id = pl.id AND p.code = c.parent_code
            )
            INSERT INTO facility_regions (facility_id, region_id, level_id)
            SELECT facility_id, region_id, level_id FROM chain
            ON CONFLICT DO NOTHING
            """
        ),
        params,
    )
    # only facilities that still miss a level are matched again (usually none)
    unassigned = (
        "EXISTS (SELECT 1 FROM region_levels m WHERE NOT EXISTS (SELECT 1 FROM facility_regions "
        "x WHERE x.facility_id = f.id AND x.level_id = m.id)) AND NOT EXISTS (SELECT 1 FROM "
        "facility_regions x WHERE x.facility_id = f.id AND x.level_id = r.level_id)"
    )
    _assign_by_containment(conn, f"{scope} AND {unassigned}", params)


def _assign_by_containment(conn: Connection, where: str, params: dict) -> None:
    """One region per facility and level among those that cover it (lowest code on a border)."""
    conn.execute(
        text(
            f"""
            INSERT INTO facility_regions (facility_id, region_id, level_id)
            SELECT DISTINCT ON (f.id, r.level_id) f.id, r.id, r.level_id
            FROM facilities f
            JOIN regions r ON ST_Covers(r.geom, f.geom)
            JOIN region_levels l ON l.id = r.level_id
            WHERE {where}
            ORDER BY f.id, r.level_id, r.code
            ON CONFLICT DO NOTHING
            """
        ),
        params,
    )


def outside_every_region(conn: Connection, run_id: int) -> tuple[int, list[str]]:
    """How many facilities of a run lie outside every region, with a few examples."""
    rows = conn.execute(
        text(
            "SELECT f.source_id, f.name, ST_X(ST_Transform(f.geom, 4326)) AS lon, "
            "ST_Y(ST_Transform(f.geom, 4326)) AS lat, count(*) OVER () AS total "
            "FROM facilities f WHERE f.run_id = :run AND NOT EXISTS "
            "(SELECT 1 FROM facility_regions fr WHERE fr.facility_id = f.id) "
            "ORDER BY f.source_id LIMIT 5"
        ),
        {"run": run_id},
    ).all()
    if not rows:
        return 0, []
    examples = [f"{r.source_id} {r.name!r} at {r.lon:.5f}, {r.lat:.5f}" for r in rows]
    return int(rows[0].total), examples


def refresh_facility_indicators(
    conn: Connection,
    category: Category,
    period,
    indicator_ids: dict[str, int],
    run_id: int,
    system_id: int | None = None,
) -> int:
    """Recompute count (and capacity) of one category and period for every region of every
    system its facilities lie in (or of ``system_id`` only); regions without such facilities
    get 0. Returns rows written."""
    count_id = indicator_ids.get(category.count_indicator().key)
    capacity_id = (
        indicator_ids.get(category.capacity_indicator().key) if category.capacity_unit else None
    )
    wanted = [i for i in (count_id, capacity_id) if i is not None]
    conn.execute(
        text(
            "DELETE FROM statistic_values v USING regions r WHERE r.id = v.region_id "
            "AND v.indicator_id = ANY(:ids) AND v.period = :p "
            "AND (CAST(:sys AS integer) IS NULL OR r.system_id = :sys)"
        ),
        {"ids": wanted, "p": period, "sys": system_id},
    )
    written = 0
    # a capacity sum over facilities of which some have no capacity is partial, not complete
    for indicator_id, value_sql, status_sql, partial_sql in (
        (count_id, "coalesce(c.n, 0)", "'valid'", "false"),
        (
            capacity_id,
            "CASE WHEN c.n > 0 AND c.known = 0 THEN NULL ELSE coalesce(c.capacity, 0) END",
            "CASE WHEN c.n > 0 AND c.known = 0 THEN 'no_data' ELSE 'valid' END",
            "coalesce(c.known > 0 AND c.known < c.n, false)",
        ),
    ):
        if indicator_id is None:
            continue
        written += conn.execute(
            text(
                f"""
                WITH mine AS (
                    SELECT f.id, f.capacity FROM facilities f
                    WHERE f.category = :cat AND f.period = :p
                ), systems AS (
                    SELECT DISTINCT r.system_id FROM facility_regions fr
                    JOIN mine ON mine.id = fr.facility_id JOIN regions r ON r.id = fr.region_id
                    WHERE CAST(:sys AS integer) IS NULL OR r.system_id = :sys
                ), c AS (
                    SELECT fr.region_id, count(*) AS n, sum(mine.capacity) AS capacity,
                           count(mine.capacity) AS known
                    FROM facility_regions fr JOIN mine ON mine.id = fr.facility_id
                    GROUP BY fr.region_id
                )
                INSERT INTO statistic_values (indicator_id, region_id, period, value, status,
                                              partial, run_id)
                SELECT :ind, r.id, :p, {value_sql}, {status_sql}, {partial_sql}, :run
                FROM regions r JOIN systems s ON s.system_id = r.system_id
                LEFT JOIN c ON c.region_id = r.id
                """
            ),
            {
                "cat": category.key,
                "p": period,
                "ind": indicator_id,
                "run": run_id,
                "sys": system_id,
            },
        ).rowcount
    return written


def categories_in_store(conn: Connection) -> dict[str, Category]:
    rows = conn.execute(
        text(
            "SELECT key, label_de, plural_de, label_en, topic, capacity_unit, capacity_key "
            "FROM facility_categories ORDER BY rank"
        )
    ).all()
    return {r.key: Category(**r._mapping) for r in rows}


def refresh_system_facility_indicators(conn: Connection, system_id: int, run_id: int) -> int:
    """After a region system is (re)loaded: assign every facility to its regions and compute
    the derived values there, leaving the other systems' values as they are."""
    assign_facilities(conn, system_id=system_id)
    categories = categories_in_store(conn)
    pairs = conn.execute(
        text("SELECT DISTINCT category, period FROM facilities ORDER BY 1, 2")
    ).all()
    ids = dict(conn.execute(text("SELECT key, id FROM indicators")).all())
    return sum(
        refresh_facility_indicators(conn, categories[cat], period, ids, run_id, system_id)
        for cat, period in pairs
    )
