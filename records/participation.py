"""Participation events as catalog indicators: per region, level and year the number of events
(all, and per type) and of participants, so they map and compare like any statistic.

Values are written for every region of every level directly (an event placed in a
Bezirksregion counts there and in its Bezirk, not in any one Planungsraum), with the period
31 December of the year, after every event write, in one run of kind ``participation``.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.catalog import Catalog, Indicator, upsert_catalog
from ingest.runs import finish_run, start_run
from records.vocabulary import EVENT_TYPE_PLURALS, slug

CATALOG = "participation"
ALL_EVENTS = "participation_events"
PARTICIPANTS = "participation_participants"


def event_type_key(event_type: str) -> str:
    return f"{ALL_EVENTS}_{slug(event_type)}"


def participation_catalog() -> Catalog:
    def count(key: str, name: str, description: str, unit: str = "Anzahl") -> Indicator:
        return Indicator(
            key=key,
            topic="Beteiligung",
            name_de=name,
            name_en=key.replace("_", " ").capitalize(),
            description=description,
            unit=unit,
            kind="count",
            aggregation="sum",
            polarity="higher_is_better",
        )

    indicators = [
        count(ALL_EVENTS, "Beteiligungsveranstaltungen", "Veranstaltungen im Jahr, alle Formate"),
        count(
            PARTICIPANTS,
            "Teilnehmende an Beteiligungsveranstaltungen",
            "Summe der Teilnehmenden im Jahr (Veranstaltungen ohne Angabe zählen nicht mit)",
            unit="Personen",
        ),
    ]
    indicators += [
        count(event_type_key(t), plural, f"Veranstaltungen der Art „{t}“ im Jahr")
        for t, plural in EVENT_TYPE_PLURALS.items()
    ]
    return Catalog(
        key=CATALOG,
        source="Beteiligungsveranstaltungen, erfasst von den Koordinierenden der Bezirke",
        licence="intern",
        attribution="Bezirksämter (Sozialraumorientierte Planungskoordination)",
        indicators=indicators,
    )


def event_footprint(conn: Connection, event_id: int) -> tuple[set[int], set[int]]:
    """The regions an event counts in and the year it counts for (none when deleted)."""
    rows = conn.execute(
        text(
            "SELECT er.region_id, extract(year FROM e.held_on)::int FROM events e "
            "JOIN event_regions er ON er.event_id = e.id "
            "WHERE e.id = :id AND e.deleted_at IS NULL"
        ),
        {"id": event_id},
    ).all()
    return {r for r, _ in rows}, {y for _, y in rows}


def refresh_participation_indicators(
    conn: Connection, touched: tuple[set[int], set[int]] | None = None
) -> int:
    """Recompute the participation indicators: of the regions and years ``touched`` (an event's
    footprint before and after a change), else of every region and year. Returns rows written.

    A year that gets its first event is written for every region (zeros where none took
    place); a year without events any more loses its values."""
    # one refresh at a time: two writers would both delete and insert the same rows
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('participation indicators'))"))
    ids = upsert_catalog(conn, participation_catalog())
    state = conn.execute(
        text(
            "SELECT count(*) || ':' || coalesce(max(updated_at)::text, '') || ':' || "
            "coalesce(max(version)::text, '') FROM events"
        )
    ).scalar_one()
    run_id = start_run(
        conn, "participation", "events", hashlib.sha256(state.encode()).hexdigest(), {}
    )
    live_years = set(
        conn.execute(
            text(
                "SELECT DISTINCT extract(year FROM held_on)::int FROM events "
                "WHERE deleted_at IS NULL"
            )
        ).scalars()
    )
    stored_years = set(
        conn.execute(
            text(
                "SELECT DISTINCT extract(year FROM period)::int FROM statistic_values "
                "WHERE indicator_id = :i"
            ),
            {"i": ids[ALL_EVENTS]},
        ).scalars()
    )
    regions, years = (None, live_years | stored_years) if touched is None else touched
    gone = sorted(y for y in years if y not in live_years)
    conn.execute(
        text(
            "DELETE FROM statistic_values WHERE indicator_id = ANY(:ids) "
            "AND extract(year FROM period)::int = ANY(:years)"
        ),
        {"ids": list(ids.values()), "years": gone},
    )
    whole = sorted(
        y for y in years if y in live_years and (regions is None or y not in stored_years)
    )
    some = sorted(y for y in years if y in live_years and regions is not None and y in stored_years)
    written = 0
    measures = [(ids[ALL_EVENTS], "coalesce(c.n, 0)", None)]
    measures.append((ids[PARTICIPANTS], "coalesce(c.people, 0)", None))
    measures += [(ids[event_type_key(t)], "coalesce(c.n, 0)", t) for t in EVENT_TYPE_PLURALS]
    for indicator_id, value_sql, event_type in measures:
        for chosen_years, chosen_regions in ((whole, None), (some, regions)):
            if chosen_years:
                written += _write_counts(
                    conn, indicator_id, value_sql, event_type, chosen_years, chosen_regions, run_id
                )
    finish_run(conn, run_id, status="ok", counts={"values": written}, report={})
    return written


def _write_counts(
    conn: Connection,
    indicator_id: int,
    value_sql: str,
    event_type: str | None,
    years: list[int],
    regions: set[int] | None,
    run_id: int,
) -> int:
    """Upsert one indicator's values for ``years`` and ``regions`` (None: all); unchanged
    values are left alone, so nothing computed from them is recomputed."""
    return conn.execute(
        text(
            f"""
            WITH live AS (
                SELECT e.id, e.participants, extract(year FROM e.held_on)::int AS year
                FROM events e
                WHERE e.deleted_at IS NULL
                  AND (CAST(:type AS text) IS NULL OR e.type = :type)
            ), c AS (
                SELECT er.region_id, live.year, count(*) AS n,
                       sum(live.participants) AS people
                FROM live JOIN event_regions er ON er.event_id = live.id
                GROUP BY er.region_id, live.year
            )
            INSERT INTO statistic_values (indicator_id, region_id, period, value, status, run_id)
            SELECT :ind, r.id, make_date(y.year, 12, 31), {value_sql}, 'valid', :run
            FROM regions r CROSS JOIN unnest(CAST(:years AS integer[])) AS y(year)
            LEFT JOIN c ON c.region_id = r.id AND c.year = y.year
            WHERE CAST(:regions AS integer[]) IS NULL OR r.id = ANY(:regions)
            ON CONFLICT (indicator_id, region_id, period) DO UPDATE
            SET value = EXCLUDED.value, run_id = EXCLUDED.run_id
            WHERE statistic_values.value IS DISTINCT FROM EXCLUDED.value
            """
        ),
        {
            "ind": indicator_id,
            "type": event_type,
            "run": run_id,
            "years": years,
            "regions": None if regions is None else sorted(regions),
        },
    ).rowcount
