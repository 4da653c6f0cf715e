"""What a read needs to know of a whole level or indicator, kept beside the data instead of
scanned on every cold request: the periods with values per (indicator, system) in
``statistic_periods``, and each level's WGS 84 bounds (all of it, and its main area without
parts under 1 % of its area, which the map opens on) in ``region_levels``. Statement-level
triggers keep both in the transaction that changes the values or the geometry.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_LEVEL_BOUNDS = """
CREATE FUNCTION sz_level_bounds(levels integer[]) RETURNS void LANGUAGE sql AS $$
    -- a level of many small parts and no main one (no part of 1 %) opens on all of it
    UPDATE region_levels l SET bounds = b.whole, main_bounds = coalesce(b.main, b.whole)
    FROM (
        SELECT l2.id,
               (SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM (
                    SELECT ST_Transform(ST_SetSRID(ST_Extent(r.geom)::geometry,
                                                   min(ST_SRID(r.geom))), 4326)::box2d AS e
                    FROM regions r WHERE r.level_id = l2.id) x
                WHERE e IS NOT NULL) AS whole,
               (WITH parts AS (
                    SELECT (ST_Dump(r.geom)).geom AS g FROM regions r WHERE r.level_id = l2.id
                ), big AS (
                    SELECT g FROM parts
                    WHERE ST_Area(g) >= 0.01 * (SELECT sum(ST_Area(g)) FROM parts)
                )
                SELECT ARRAY[ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)] FROM (
                    SELECT ST_Transform(ST_SetSRID(ST_Extent(g)::geometry, max(ST_SRID(g))),
                                        4326)::box2d AS e FROM big) y
                WHERE e IS NOT NULL) AS main
        FROM region_levels l2 WHERE l2.id = ANY(levels)
    ) b
    WHERE l.id = b.id;
$$;

CREATE FUNCTION sz_regions_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    levels integer[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT array_agg(DISTINCT level_id) INTO levels FROM new_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT array_cat(levels, array_agg(DISTINCT level_id)) INTO levels FROM old_rows;
    END IF;
    IF levels IS NOT NULL THEN
        PERFORM sz_level_bounds(levels);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER regions_bounds_inserted AFTER INSERT ON regions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_regions_moved();
CREATE TRIGGER regions_bounds_deleted AFTER DELETE ON regions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_regions_moved();
"""

_PERIODS = """
CREATE FUNCTION sz_periods_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO statistic_periods (indicator_id, system_id, period)
        SELECT DISTINCT n.indicator_id, r.system_id, n.period
        FROM new_rows n JOIN regions r ON r.id = n.region_id
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        -- a period stays while any value of it is left in the system
        DELETE FROM statistic_periods p
        USING (SELECT DISTINCT o.indicator_id, r.system_id, o.period
               FROM old_rows o JOIN regions r ON r.id = o.region_id) g
        WHERE p.indicator_id = g.indicator_id AND p.system_id = g.system_id
          AND p.period = g.period
          AND NOT EXISTS (SELECT 1 FROM statistic_values v JOIN regions r ON r.id = v.region_id
                          WHERE v.indicator_id = g.indicator_id AND v.period = g.period
                            AND r.system_id = g.system_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER statistic_periods_inserted AFTER INSERT ON statistic_values
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_periods_changed();
CREATE TRIGGER statistic_periods_updated AFTER UPDATE ON statistic_values
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sz_periods_changed();
CREATE TRIGGER statistic_periods_deleted AFTER DELETE ON statistic_values
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_periods_changed();

-- values deleted with their regions can no longer be joined to a system: check the systems
-- of the deleted regions whole
CREATE FUNCTION sz_periods_of_removed_regions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM statistic_periods p
    WHERE p.system_id IN (SELECT DISTINCT system_id FROM old_rows)
      AND NOT EXISTS (SELECT 1 FROM statistic_values v JOIN regions r ON r.id = v.region_id
                      WHERE v.indicator_id = p.indicator_id AND v.period = p.period
                        AND r.system_id = p.system_id);
    RETURN NULL;
END $$;
CREATE TRIGGER regions_periods_deleted AFTER DELETE ON regions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION sz_periods_of_removed_regions();
"""


def upgrade() -> None:
    op.execute("ALTER TABLE region_levels ADD COLUMN bounds double precision[]")
    op.execute("ALTER TABLE region_levels ADD COLUMN main_bounds double precision[]")
    op.execute(_LEVEL_BOUNDS)
    op.execute("SELECT sz_level_bounds(ARRAY(SELECT id FROM region_levels))")
    op.execute(
        "CREATE TABLE statistic_periods ("
        " indicator_id integer NOT NULL REFERENCES indicators(id) ON DELETE CASCADE,"
        " system_id integer NOT NULL REFERENCES region_systems(id) ON DELETE CASCADE,"
        " period date NOT NULL, PRIMARY KEY (indicator_id, system_id, period))"
    )
    op.execute(_PERIODS)
    op.execute(
        "INSERT INTO statistic_periods SELECT DISTINCT v.indicator_id, r.system_id, v.period "
        "FROM statistic_values v JOIN regions r ON r.id = v.region_id"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER regions_periods_deleted ON regions")
    op.execute("DROP FUNCTION sz_periods_of_removed_regions()")
    for suffix in ("inserted", "updated", "deleted"):
        op.execute(f"DROP TRIGGER statistic_periods_{suffix} ON statistic_values")
    op.execute("DROP FUNCTION sz_periods_changed()")
    op.execute("DROP TABLE statistic_periods")
    op.execute("DROP TRIGGER regions_bounds_inserted ON regions")
    op.execute("DROP TRIGGER regions_bounds_deleted ON regions")
    op.execute("DROP FUNCTION sz_regions_moved()")
    op.execute("DROP FUNCTION sz_level_bounds(integer[])")
    op.execute("ALTER TABLE region_levels DROP COLUMN main_bounds")
    op.execute("ALTER TABLE region_levels DROP COLUMN bounds")
