"""Stored indicator tables are dropped for the periods whose inputs changed, not for all of
them: an event save in one year, or a correction of one year's statistics, kept the data
version per (system, indicator) and so dropped and recomputed every year of every indicator
computed from it.

``indicator_inputs`` says of each dependency whether the dependent reads other periods of
its input (a formula with a function: ``change_2y``, ``previous``, ``nearest``, ``at``); a
chain through one of those still drops every period. The tables of the periods that did not
change are kept and take the new version in the same statement that draws it, so a reader
never sees a current version over a table computed from changed data, and the store's
refresh computes only what is missing.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# a formula with a function call may read another period of its inputs
_INPUTS = r"""
CREATE OR REPLACE VIEW indicator_inputs AS
WITH direct AS (
    SELECT i.id AS indicator_id, x.id AS input_id, false AS every_period
    FROM indicators i JOIN indicators x ON x.key IN (i.numerator, i.denominator, i.weight)
    UNION
    SELECT i.id, x.id, i.definition->>'expression' ~ '[A-Za-z_][A-Za-z0-9_]*\s*\('
    FROM indicators i
    CROSS JOIN LATERAL regexp_matches(i.definition->>'expression', '[A-Za-z_][A-Za-z0-9_]*', 'g')
        AS m(name)
    JOIN indicators x ON x.key = m.name[1]
    UNION
    SELECT i.id, x.id, false FROM indicators i
    CROSS JOIN LATERAL jsonb_path_query(i.definition, '$.composite.**.indicator') AS c(k)
    JOIN indicators x ON x.key = c.k #>> '{}'
)
SELECT indicator_id, input_id, every_period FROM direct
UNION
SELECT x.id, i.id, false FROM indicators i
JOIN direct d ON d.indicator_id = i.id
JOIN indicators x ON x.id = d.input_id
WHERE i.definition->>'small_numbers' = 'disclosure'
UNION
SELECT x.id, i.id, false FROM indicators i
CROSS JOIN LATERAL jsonb_array_elements_text(
    coalesce(i.definition->'complements', '[]'::jsonb)) AS c(k)
JOIN indicators x ON x.key = c.k
WHERE i.definition->>'small_numbers' = 'disclosure';
"""

# ``periods`` NULL: every period changed (new or moved regions, a changed rule)
_TOUCH = r"""
DROP FUNCTION sz_touch(integer[], integer[]);
CREATE FUNCTION sz_touch(systems integer[], changed integer[], periods date[] DEFAULT NULL)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    WITH RECURSIVE affected(id, every) AS (
        SELECT unnest(changed), periods IS NULL
        UNION
        SELECT ii.indicator_id, a.every OR ii.every_period
        FROM indicator_inputs ii JOIN affected a ON a.id = ii.input_id
    ), pairs AS (
        SELECT s.id AS system_id, a.id AS indicator_id, bool_or(a.every) AS every
        FROM unnest(systems) AS u(id)
        JOIN region_systems s ON s.id = u.id  -- not those being deleted
        CROSS JOIN affected a JOIN indicators i ON i.id = a.id
        GROUP BY s.id, a.id
    ), before AS (
        SELECT v.system_id, v.indicator_id, v.version
        FROM data_versions v JOIN pairs p USING (system_id, indicator_id)
    ), bumped AS (
        INSERT INTO data_versions (system_id, indicator_id)
        SELECT system_id, indicator_id FROM pairs ORDER BY 1, 2
        ON CONFLICT (system_id, indicator_id) DO UPDATE SET version = nextval('data_version_seq')
        RETURNING system_id, indicator_id, version
    )
    -- a table of a period that did not change is still right: it takes the new version
    UPDATE indicator_tables t SET version = b.version
    FROM bumped b JOIN before o USING (system_id, indicator_id)
    JOIN pairs p USING (system_id, indicator_id), region_levels l
    WHERE NOT p.every AND l.id = t.level_id AND l.system_id = b.system_id
      AND t.indicator_id = b.indicator_id AND t.version = o.version
      AND t.period <> ALL(periods);
    DELETE FROM indicator_tables t USING region_levels l, data_versions v
    WHERE l.id = t.level_id AND v.system_id = l.system_id AND v.indicator_id = t.indicator_id
      AND t.version <> v.version;
END $$;

"""

_DOWN = r"""
DROP FUNCTION sz_touch(integer[], integer[], date[]);
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
    JOIN region_systems s ON s.id = u.id
    CROSS JOIN affected a JOIN indicators i ON i.id = a.id
    ORDER BY 1, 2
    ON CONFLICT (system_id, indicator_id) DO UPDATE SET version = nextval('data_version_seq');
    DELETE FROM indicator_tables t USING region_levels l, data_versions v
    WHERE l.id = t.level_id AND v.system_id = l.system_id AND v.indicator_id = t.indicator_id
      AND t.version <> v.version;
END $$;

"""


def _values_changed(periods: bool) -> str:
    """The trigger function of changed values, passing their periods on or not."""
    declared, new, old, passed = ("", "", "", "")
    if periods:
        declared = "periods date[];"
        new, old = (
            ", array_agg(DISTINCT n.period)",
            ", array_cat(periods, array_agg(DISTINCT o.period))",
        )
        passed = ", periods"
    into = "systems, changed" + (", periods" if periods else "")
    return f"""
CREATE OR REPLACE FUNCTION sz_values_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    systems integer[];
    changed integer[];
    {declared}
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT array_agg(DISTINCT r.system_id), array_agg(DISTINCT n.indicator_id){new}
        INTO {into}
        FROM new_rows n JOIN regions r ON r.id = n.region_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT array_cat(systems, array_agg(DISTINCT r.system_id)),
               array_cat(changed, array_agg(DISTINCT o.indicator_id)){old}
        INTO {into}
        FROM old_rows o JOIN regions r ON r.id = o.region_id;
    END IF;
    IF changed IS NOT NULL THEN
        PERFORM sz_touch(systems, changed{passed});
    END IF;
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.execute(_INPUTS)
    op.execute(_TOUCH + _values_changed(periods=True))


def downgrade() -> None:  # the definitions of 0009
    op.execute(_DOWN + _values_changed(periods=False))
    # the view keeps its added column: a view cannot drop one, and nothing else reads it
