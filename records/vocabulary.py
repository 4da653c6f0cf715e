"""The controlled lists of projects and participation events (German labels as stored), and
how moments are written for readers (in the deployment's time zone, never the server's)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from spatial.settings import DEPLOYMENT

LOCAL_TIME = ZoneInfo(DEPLOYMENT.timezone)

PROJECT_STATUSES = ("Idee", "in Planung", "laufend", "abgeschlossen", "eingestellt")
STATUS_COLOURS = {
    "Idee": "#9e9ac8",
    "in Planung": "#fd8d3c",
    "laufend": "#31a354",
    "abgeschlossen": "#3182bd",
    "eingestellt": "#969696",
}
PROJECT_TOPICS = (
    "Bildung",
    "Kinder und Jugend",
    "Familie",
    "Senioren",
    "Gesundheit",
    "Integration",
    "Wohnen und Wohnumfeld",
    "Kultur",
    "Sport",
    "Beteiligung",
    "Umwelt und Klima",
    "Arbeit und Beschäftigung",
    "Nachbarschaft",
    "Sicherheit",
    "Mobilität",
)
EVENT_TYPE_PLURALS = {
    "Sozialraumgespräch": "Sozialraumgespräche",
    "Runder Tisch": "Runde Tische",
    "Stadtteilkonferenz": "Stadtteilkonferenzen",
    "Arbeitskreis": "Arbeitskreissitzungen",
    "Bürgerversammlung": "Bürgerversammlungen",
    "Workshop": "Workshops",
    "Sonstiges Format": "sonstige Beteiligungsformate",
}
EVENT_TYPES = tuple(EVENT_TYPE_PLURALS)
EVENT_GROUPS = (
    "Verwaltung",
    "freie Träger",
    "Bewohnerinnen und Bewohner",
    "Politik",
    "Wirtschaft",
    "Schulen und Kitas",
    "Vereine und Initiativen",
    "Wohnungswirtschaft",
    "Polizei",
)


def slug(label: str) -> str:
    """An ASCII key for a German label (indicator keys, CSS classes)."""
    replaced = label.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    return re.sub(r"[^a-z0-9]+", "_", replaced).strip("_")


def check_choice(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
    return value


def de_timestamp(moment: datetime | str | None) -> str:
    """``dd.mm.yyyy hh:mm`` in the deployment's time zone (a stored moment is UTC-aware)."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(LOCAL_TIME).strftime("%d.%m.%Y %H:%M")
