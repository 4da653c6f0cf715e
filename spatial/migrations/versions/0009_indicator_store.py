"""The indicator store: every published indicator table (values, status, partial flag, parent
value per region; city value and notes per level and period) kept in PostgreSQL, and a data
version per (region system, indicator) that changes in the same transaction as the data.

Triggers on the stored values, the regions and the catalog bump the versions of the indicators
whose inputs changed (and of everything computed from them) and drop their stored tables, so a
table can never outlive the data it was computed from. A stored value may be partial (a
capacity sum with unknown capacities).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = r"""
ALTER TABLE statistic_values ADD COLUMN partial boolean NOT NULL DEFAULT false;

CREATE SEQUENCE data_version_seq;
CREATE TABLE data_versions (
    system_id integer NOT NULL REFERENCES region_systems(id) ON DELETE CASCADE,
    indicator_id integer NOT NULL REFERENCES indicators(id) ON DELETE CASCADE,
    version bigint NOT NULL DEFAULT nextval('data_version_seq'),
    PRIMARY KEY (system_id, indicator_id)
);

CREATE TABLE indicator_tables (
    indicator_id integer NOT NULL REFERENCES indicators(id) ON DELETE CASCADE,
    level_id integer NOT NULL REFERENCES region_levels(id) ON DELETE CASCADE,
    period date NOT NULL,
    version bigint NOT NULL,
    city_value double precision,
    notes jsonb NOT NULL DEFAULT '[]',
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (indicator_id, level_id, period)
);
CREATE TABLE indicator_values (
    indicator_id integer NOT NULL,
    level_id integer NOT NULL,
    period date NOT NULL,
    region_id integer NOT NULL REFERENCES regions(id) ON DELETE CASCADE,
    value double precision,
    status text NOT NULL CHECK (status IN ('valid', 'no_data', 'suppressed')),
    partial boolean NOT NULL,
    parent_value double precision,
    PRIMARY KEY (indicator_id, level_id, period, region_id),
    FOREIGN KEY (indicator_id, level_id, period)
        REFERENCES indicator_tables ON DELETE CASCADE
);
CREATE INDEX indicator_values_region ON indicator_values (region_id);

-- what each indicator is computed from; a disclosure rule's hidden cells are shared by its
-- inputs and complements, so they depend on it in turn
CREATE VIEW indicator_inputs AS
WITH direct AS (
    SELECT i.id AS indicator_id, x.id AS input_id
    FROM indicators i JOIN indicators x ON x.key IN (i.numerator, i.denominator, i.weight)
    UNION
    SELECT i.id, x.id FROM indicators i
    CROSS JOIN LATERAL regexp_matches(i.definition->>'expression', '[A-Za-z_][A-Za-z0-9_]*', 'g')
        AS m(name)
    JOIN indicators x ON x.key = m.name[1]
    UNION
    SELECT i.id, x.id FROM indicators i
    CROSS JOIN LATERAL jsonb_path_query(i.definition, '$.composite.**.indicator') AS c(k)
    JOIN indicators x ON x.key = c.k #>> '{}'
)
SELECT indicator_id, input_id FROM direct
UNION
SELECT x.id, i.id FROM indicators i
JOIN direct d ON d.indicator_id = i.id
JOIN indicators x ON x.id = d.input_id
WHERE i.definition->>'small_numbers' = 'disclosure'
UNION
SELECT x.id, i.id FROM indicators i
CROSS JOIN LATERAL jsonb_array_elements_text(
    coalesce(i.definition->'complements', '[]'::jsonb)) AS c(k)
JOIN indicators x ON x.key = c.k
WHERE i.definition->>'small_numbers' = 'disclosure';

-- the indicators ``changed`` and everything computed from them, in the systems given: new
-- versions first (that waits for a reader holding the old one), then their tables go
CREATE FUNCTION sz_touch(systems integer[], changed integer[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    WITH RECURSIVE affected(id) AS (
        SELECT unnest(changed)
        UNION
        SELECT ii.indicator_id FROM indicator_inputs ii JOIN affected a ON a.id = ii.input_id
    )
    INSERT INTO data_versions (system_id, indicator_id)
    SELECT DISTINCT s.id, i.id FROM unnest(systems) AS u(id)
    JOIN region_systems s ON s.id = u.id  -- not those being deleted
    CROSS JOIN affected a JOIN indicators i ON i.id = a.id
    ORDER BY 1, 2
    ON CONFLICT (system_id, indicator_id) DO UPDATE SET version = nextval('data_version_seq');
    DELETE FROM indicator_tables t USING region_levels l, data_versions v
    WHERE l.id = t.level_id AND v.system_id = l.system_id AND v.indicator_id = t.indicator_id
      AND t.version <> v.version;
END $$;

CREATE FUNCTION sz_values_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    systems integer[];
    changed integer[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT array_agg(DISTINCT r.system_id), array_agg(DISTINCT n.indicator_id)
        INTO systems, changed
        FROM new_rows n JOIN regions r ON r.id = n.region_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT array_cat(systems, array_agg(DISTINCT r.system_id)),
               array_cat(changed, array_agg(DISTINCT o.indicator_id))
        INTO systems, changed
        FROM old_rows o JOIN regions r ON r.id = o.region_id;
    END IF;
    IF changed IS NOT NULL THEN
        PERFORM sz_touch(systems, changed);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER statistic_values_inserted AFTER INSERT ON statistic_values
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_values_changed();
CREATE TRIGGER statistic_values_updated AFTER UPDATE ON statistic_values
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sz_values_changed();
CREATE TRIGGER statistic_values_deleted AFTER DELETE ON statistic_values
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_values_changed();

-- new, moved or removed regions change every indicator of their system
CREATE FUNCTION sz_regions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    systems integer[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT array_agg(DISTINCT system_id) INTO systems FROM new_rows;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT array_cat(systems, array_agg(DISTINCT system_id)) INTO systems FROM old_rows;
    END IF;
    IF systems IS NOT NULL THEN
        PERFORM sz_touch(systems, ARRAY(SELECT id FROM indicators));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER regions_inserted AFTER INSERT ON regions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_regions_changed();
CREATE TRIGGER regions_updated AFTER UPDATE ON regions
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sz_regions_changed();
CREATE TRIGGER regions_deleted AFTER DELETE ON regions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sz_regions_changed();

-- a changed rule, formula or threshold changes the indicator and what is computed from it
CREATE FUNCTION sz_indicator_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM sz_touch(ARRAY(SELECT id FROM region_systems), ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER indicators_inserted AFTER INSERT ON indicators FOR EACH ROW
    EXECUTE FUNCTION sz_indicator_changed();
CREATE TRIGGER indicators_changed AFTER UPDATE ON indicators FOR EACH ROW
    WHEN ((OLD.kind, OLD.aggregation, OLD.numerator, OLD.denominator, OLD.weight,
           OLD.min_population, OLD.definition)
          IS DISTINCT FROM (NEW.kind, NEW.aggregation, NEW.numerator, NEW.denominator,
           NEW.weight, NEW.min_population, NEW.definition))
    EXECUTE FUNCTION sz_indicator_changed();
"""

DOWNGRADE = """
DROP TRIGGER indicators_changed ON indicators;
DROP TRIGGER indicators_inserted ON indicators;
DROP FUNCTION sz_indicator_changed();
DROP TRIGGER regions_inserted ON regions;
DROP TRIGGER regions_updated ON regions;
DROP TRIGGER regions_deleted ON regions;
DROP FUNCTION sz_regions_changed();
DROP TRIGGER statistic_values_inserted ON statistic_values;
DROP TRIGGER statistic_values_updated ON statistic_values;
DROP TRIGGER statistic_values_deleted ON statistic_values;
DROP FUNCTION sz_values_changed();
DROP FUNCTION sz_touch(integer[], integer[]);
DROP VIEW indicator_inputs;
DROP TABLE indicator_values;
DROP TABLE indicator_tables;
DROP TABLE data_versions;
DROP SEQUENCE data_version_seq;
ALTER TABLE statistic_values DROP COLUMN partial;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
