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


def refresh_participation_indicators(conn: Connection) -> int:
    """Recompute every participation indicator for every year with events; returns rows."""
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
    conn.execute(
        text("DELETE FROM statistic_values WHERE indicator_id = ANY(:ids)"),
        {"ids": list(ids.values())},
    )
    written = 0
    measures = [(ids[ALL_EVENTS], "coalesce(c.n, 0)", None)]
    measures.append((ids[PARTICIPANTS], "coalesce(c.people, 0)", None))
    measures += [(ids[event_type_key(t)], "coalesce(c.n, 0)", t) for t in EVENT_TYPE_PLURALS]
    for indicator_id, value_sql, event_type in measures:
        written += conn.execute(
            text(
                f"""
                WITH live AS (
                    SELECT e.id, e.participants, extract(year FROM e.held_on)::int AS year
                    FROM events e
                    WHERE e.deleted_at IS NULL
                      AND (CAST(:type AS text) IS NULL OR e.type = :type)
                ), years AS (
                    SELECT DISTINCT extract(year FROM held_on)::int AS year
                    FROM events WHERE deleted_at IS NULL
                ), c AS (
                    SELECT er.region_id, live.year, count(*) AS n,
                           sum(live.participants) AS people
                    FROM live JOIN event_regions er ON er.event_id = live.id
                    GROUP BY er.region_id, live.year
                )
                INSERT INTO statistic_values (indicator_id, region_id, period, value, status,
                                              run_id)
                SELECT :ind, r.id, make_date(years.year, 12, 31), {value_sql}, 'valid', :run
                FROM regions r CROSS JOIN years
                LEFT JOIN c ON c.region_id = r.id AND c.year = years.year
                """
            ),
            {"ind": indicator_id, "type": event_type, "run": run_id},
        ).rowcount
    finish_run(conn, run_id, status="ok", counts={"values": written}, report={})
    return written
