"""Spatial work on a loaded region system, done in PostGIS: dissolving a finer level into a
coarser one, assigning parents (by code prefix or largest overlap), and the checks that are
reported and stored with every run (parents exist, areas add up, siblings do not overlap,
a derived level matches its reference file)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.errors import IngestError

AREA_TOLERANCE = 0.005  # children's areas may differ from the parent's by 0.5 %
OVERLAP_TOLERANCE_M2 = 10.0  # shared area between siblings beyond this is an overlap
EXAMPLES = 5


@dataclass
class Check:
    name: str
    level: str
    ok: bool
    detail: str
    examples: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "level": self.level,
            "ok": self.ok,
            "detail": self.detail,
            "examples": self.examples,
        }


def dissolve(
    conn: Connection,
    *,
    system_id: int,
    level_id: int,
    from_level_id: int,
    code_length: int | None,
    names: dict[str, str],
    parents: dict[str, str],
    run_id: int,
    area_srid: int,
) -> int:
    """Create the regions of ``level_id`` by dissolving ``from_level_id``: by the first
    ``code_length`` characters of the codes, or (``None``) by the finer regions' parent codes.
    ``parents`` gives the new regions' own parent codes where a key table says them."""
    group = "left(code, :len)" if code_length is not None else "parent_code"
    inserted = conn.execute(
        text(
            f"""
            INSERT INTO regions (system_id, level_id, code, name, parent_code, geom, area_m2,
                                 run_id)
            SELECT :system_id, :level_id, d.code, coalesce(n.name, d.code), p.parent, d.geom,
                   ST_Area(ST_Transform(d.geom, :area_srid)), :run_id
            FROM (
                SELECT {group} AS code,
                       ST_Multi(ST_CollectionExtract(ST_Union(geom), 3)) AS geom
                FROM regions WHERE level_id = :from_level_id AND {group} IS NOT NULL
                GROUP BY {group}
            ) d
            LEFT JOIN unnest(CAST(:codes AS text[]), CAST(:names AS text[])) AS n(code, name)
              ON n.code = d.code
            LEFT JOIN unnest(CAST(:children AS text[]), CAST(:parents AS text[]))
                   AS p(code, parent) ON p.code = d.code
            """
        ),
        {
            "system_id": system_id,
            "level_id": level_id,
            "from_level_id": from_level_id,
            "len": code_length,
            "run_id": run_id,
            "codes": list(names.keys()),
            "names": list(names.values()),
            "children": list(parents.keys()),
            "parents": list(parents.values()),
            "area_srid": area_srid,
        },
    )
    return inserted.rowcount


def fill_from_parent(
    conn: Connection,
    *,
    level_id: int,
    parent_level_id: int,
    fill,
    run_id: int,
    area_srid: int,
) -> str:
    """Add a region a level's file lacks: the part of its parent not covered by the level's
    regions inside it. Returns the note for the run's report."""
    parent = conn.execute(
        text("SELECT id, system_id FROM regions WHERE level_id = :l AND code = :c"),
        {"l": parent_level_id, "c": fill.parent},
    ).first()
    if parent is None:
        raise IngestError(f"fill {fill.code!r}: its parent {fill.parent!r} does not exist")
    if conn.execute(
        text("SELECT 1 FROM regions WHERE level_id = :l AND code = :c"),
        {"l": level_id, "c": fill.code},
    ).first():
        raise IngestError(f"fill {fill.code!r}: the file already has a region of this code")
    area = conn.execute(
        text(
            """
            INSERT INTO regions (system_id, level_id, code, name, parent_code, geom, area_m2,
                                 run_id)
            SELECT :sys, :level, :code, :name, :parent, g, ST_Area(ST_Transform(g, :area_srid)),
                   :run
            FROM (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Difference(p.geom,
                         coalesce((SELECT ST_Union(s.geom) FROM regions s
                                   WHERE s.level_id = :level AND s.parent_code = p.code),
                                  ST_GeomFromText('POLYGON EMPTY', ST_SRID(p.geom))))), 3)) AS g
                  FROM regions p WHERE p.id = :pid) d
            WHERE NOT ST_IsEmpty(g)
            RETURNING area_m2
            """
        ),
        {
            "sys": parent.system_id,
            "level": level_id,
            "code": fill.code,
            "name": fill.name,
            "parent": fill.parent,
            "pid": parent.id,
            "area_srid": area_srid,
            "run": run_id,
        },
    ).scalar()
    if area is None:
        raise IngestError(
            f"fill {fill.code!r}: its parent {fill.parent!r} is fully covered by other regions"
        )
    return f"{fill.code} ({fill.name}) filled from its parent {fill.parent}: {area / 1e6:.2f} km²"


def assign_parents(
    conn: Connection,
    *,
    level_id: int,
    parent_level_id: int,
    parent_by: str,
    parent_code_length: int | None,
) -> None:
    """Fill ``parent_code`` of a level by prefix or by the parent with the largest overlap."""
    if parent_by == "prefix":
        conn.execute(
            text(
                "UPDATE regions SET parent_code = left(code, :len) WHERE level_id = :level_id "
                "AND parent_code IS DISTINCT FROM left(code, :len)"
            ),
            {"len": parent_code_length, "level_id": level_id},
        )
    elif parent_by == "containment":
        # A parent that covers the child has the largest overlap without measuring it; the
        # covering pairs are found with parents outside, so each parent's prepared geometry
        # serves all its children, and only children no parent covers pay for intersections.
        conn.execute(
            text(
                """
                WITH covering AS MATERIALIZED (
                    SELECT DISTINCT ON (c.id) c.id, p.code AS parent_code
                    FROM regions p
                    JOIN regions c ON c.level_id = :level_id AND c.geom @ p.geom
                      AND ST_Covers(p.geom, c.geom)
                    WHERE p.level_id = :parent_level_id
                    ORDER BY c.id, p.code
                )
                UPDATE regions c SET parent_code = coalesce(k.parent_code, (
                    SELECT p.code FROM regions p
                    WHERE p.level_id = :parent_level_id AND p.geom && c.geom
                      AND ST_Intersects(p.geom, c.geom)
                    ORDER BY ST_Area(ST_Intersection(p.geom, c.geom)) DESC, p.code
                    LIMIT 1))
                FROM regions x LEFT JOIN covering k ON k.id = x.id
                WHERE x.id = c.id AND x.level_id = :level_id
                """
            ),
            {"level_id": level_id, "parent_level_id": parent_level_id},
        )
    # parent_by == "field": parent codes were loaded with the features


def check_parents(conn: Connection, level_key: str, level_id: int, parent_level_id: int) -> Check:
    rows = conn.execute(
        text(
            """
            SELECT c.code, c.parent_code, EXISTS (
                SELECT 1 FROM regions g JOIN region_levels gl ON gl.id = g.level_id
                JOIN region_levels pl ON pl.id = :parent_level_id
                WHERE g.system_id = c.system_id AND g.code = c.parent_code
                  AND gl.rank < pl.rank) AS further_up
            FROM regions c
            WHERE c.level_id = :level_id AND NOT EXISTS (
                SELECT 1 FROM regions p
                WHERE p.level_id = :parent_level_id AND p.code = c.parent_code)
            ORDER BY c.code
            """
        ),
        {"level_id": level_id, "parent_level_id": parent_level_id},
    ).all()
    direct = [r for r in rows if r.further_up]
    rows = [r for r in rows if not r.further_up]
    if not rows:
        detail = "every region has a parent"
        if direct:
            detail += (
                f"; {len(direct)} belong directly to a coarser level "
                f"(e.g. {direct[0].code} → {direct[0].parent_code})"
            )
        return Check("parents", level_key, True, detail)
    return Check(
        "parents",
        level_key,
        False,
        f"{len(rows)} regions have no parent",
        [{"code": r.code, "parent_code": r.parent_code} for r in rows[:EXAMPLES]],
    )


def check_area_sums(
    conn: Connection,
    parent_key: str,
    parent_level_id: int,
    level_id: int,
    tolerance: float = AREA_TOLERANCE,
) -> Check:
    rows = conn.execute(
        text(
            """
            SELECT p.code, p.area_m2 AS parent_area, coalesce(sum(c.area_m2), 0) AS child_area
            FROM regions p
            LEFT JOIN regions c ON c.level_id = :level_id AND c.parent_code = p.code
            WHERE p.level_id = :parent_level_id
            GROUP BY p.code, p.area_m2
            HAVING abs(coalesce(sum(c.area_m2), 0) - p.area_m2) > :tol * p.area_m2
            ORDER BY p.code
            """
        ),
        {"level_id": level_id, "parent_level_id": parent_level_id, "tol": tolerance},
    ).all()
    if not rows:
        return Check(
            "area_sums",
            parent_key,
            True,
            f"children's areas sum to each parent's area within {tolerance:.1%}",
        )
    return Check(
        "area_sums",
        parent_key,
        False,
        f"{len(rows)} regions differ from the sum of their children by more than {tolerance:.1%}",
        [
            {
                "code": r.code,
                "area_m2": round(r.parent_area, 1),
                "children_m2": round(r.child_area, 1),
            }
            for r in rows[:EXAMPLES]
        ],
    )


def check_sibling_overlaps(
    conn: Connection, level_key: str, level_id: int, tolerance_m2: float = OVERLAP_TOLERANCE_M2
) -> Check:
    rows = conn.execute(
        text(
            """
            SELECT a.code AS a, b.code AS b, ST_Area(ST_Intersection(a.geom, b.geom)) AS shared
            FROM regions a
            JOIN regions b ON b.level_id = a.level_id AND a.id < b.id
              AND a.parent_code IS NOT DISTINCT FROM b.parent_code
              AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
            WHERE a.level_id = :level_id
            """
        ),
        {"level_id": level_id},
    ).all()
    overlaps = [r for r in rows if r.shared > tolerance_m2]
    if not overlaps:
        return Check(
            "overlaps",
            level_key,
            True,
            f"no sibling regions overlap by more than {tolerance_m2:g} m²",
        )
    return Check(
        "overlaps",
        level_key,
        False,
        f"{len(overlaps)} pairs of sibling regions overlap by more than {tolerance_m2:g} m²",
        [{"codes": [r.a, r.b], "shared_m2": round(r.shared, 1)} for r in overlaps[:EXAMPLES]],
    )


def check_unique_codes(conn: Connection, level_key: str, level_id: int) -> Check:
    duplicates = (
        conn.execute(
            text("SELECT code FROM regions WHERE level_id = :id GROUP BY code HAVING count(*) > 1"),
            {"id": level_id},
        )
        .scalars()
        .all()
    )
    return Check(
        "unique_codes",
        level_key,
        not duplicates,
        "codes are unique" if not duplicates else f"{len(duplicates)} duplicated codes",
        list(duplicates[:EXAMPLES]),
    )


def check_against_reference(
    conn: Connection, level_key: str, level_id: int, reference_label: str, tolerance: float
) -> Check:
    """Compare a level with reference geometries staged as ``level_key = '<ref>'``."""
    rows = conn.execute(
        text(
            """
            SELECT coalesce(r.code, s.code) AS code, r.area_m2 AS ours, ST_Area(s.geom) AS ref
            FROM (SELECT code, area_m2 FROM regions WHERE level_id = :level_id) r
            FULL JOIN (SELECT code, geom FROM boundary_stage WHERE level_key = :ref) s
              ON s.code = r.code
            ORDER BY 1
            """
        ),
        {"level_id": level_id, "ref": f"<ref>{level_key}"},
    ).all()
    missing = [r.code for r in rows if r.ours is None or r.ref is None]
    diffs = [(r.code, abs(r.ours - r.ref) / r.ref) for r in rows if r.ours and r.ref]
    worst = max((d for _, d in diffs), default=0.0)
    off = [{"code": code, "diff_pct": round(d * 100, 3)} for code, d in diffs if d > tolerance]
    ok = not missing and not off
    detail = (
        f"{len(diffs)} regions compared with {reference_label}: largest area difference "
        f"{worst:.3%} (tolerance {tolerance:.1%})"
    )
    if missing:
        detail += f"; codes in only one of them: {', '.join(missing[:EXAMPLES])}"
    return Check("reference", level_key, ok, detail, off[:EXAMPLES])
