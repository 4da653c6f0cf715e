"""A profile as a document: its outline, its pictures, the written sections' Markdown rendered
safely, the HTML body (shown inside the web page, with edit forms for those who may write),
the standalone HTML for print and the PDF (WeasyPrint: A4, page numbers, table of contents)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from layers.classify import format_number
from profiles.content import Profile
from profiles.pictures import (
    classes_map_svg,
    comparison_bars_svg,
    data_uri,
    locator_svg,
    points_map_svg,
    stacked_series_svg,
)
from records.vocabulary import de_timestamp, slug

TEMPLATES = Path(__file__).parent / "templates"
# CommonMark with tables; raw HTML is escaped and unsafe link schemes (javascript:, data:) are
# refused by the parser's link validation, so written text cannot inject markup or scripts
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(source: str) -> Markup:
    return Markup(_MARKDOWN.render(source or ""))


def _number(value, decimals: int = 0) -> str:
    return "" if value is None else format_number(value, decimals)


_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["de_date"] = lambda d: f"{d:%d.%m.%Y}" if d else ""
_ENV.filters["de_number"] = _number
_ENV.filters["markdown"] = render_markdown
_ENV.filters["de_timestamp"] = de_timestamp


@dataclass(frozen=True)
class Editing:
    """What the web page adds for a signed-in writer: forms posting to ``base_url``."""

    base_url: str
    csrf_token: str | None
    may_edit: bool
    signed_in: bool
    query: str = ""  # ``?level=…``: the region's level travels with every link and form


def outline(profile: Profile) -> list[tuple[str, str]]:
    """(anchor, heading) of every chapter, in order: the table of contents."""
    chapters = [("kennzahlen", "Kennzahlen"), ("bevoelkerung", "Bevölkerung")]
    if profile.mss:
        chapters.append(("soziale-lage", f"Soziale Lage ({profile.mss.title})"))
    chapters += [
        ("einrichtungen", "Einrichtungen und Versorgung"),
        ("projekte", "Projekte im Gebiet"),
        ("beteiligung", "Beteiligung"),
    ]
    chapters += [(f"text-{s['key']}", s["title"]) for s in profile.sections]
    chapters.append(("quellen", "Datenquellen"))
    return chapters


def pictures(profile: Profile) -> dict[str, str]:
    """Every picture of the profile as an image source (SVG data URI)."""
    shapes = profile.shapes
    out = {"locator": locator_svg(shapes.districts, shapes.region, shapes.top_code)}
    if profile.age and profile.age.bands:
        age = profile.age
        groups = [(profile.region.name, [b.share for b in age.bands])]
        if profile.top:
            groups.append((profile.top.name, [b.top_share for b in age.bands]))
        groups.append((profile.system.get("city") or "Stadt", [b.city_share for b in age.bands]))
        out["age"] = comparison_bars_svg([b.name for b in age.bands], groups)
        out["development"] = stacked_series_svg(
            [p for p, _ in age.history],
            [b.name for b in age.bands],
            [row for _, row in age.history],
            "Einwohnende",
        )
    if profile.mss:
        classes = {r.code: r.status_class for r in profile.mss.rows}
        parts = [(code, g, classes.get(code)) for code, g in shapes.parts]
        out["mss"] = classes_map_svg(parts, profile.mss.class_labels, shapes.region)
    if shapes.facilities:
        names = {g.key: g.plural for g in profile.facilities}
        out["facilities"] = points_map_svg(
            shapes.region, [g for _, g in shapes.parts], shapes.facilities, names
        )
    return {key: data_uri(svg) for key, svg in out.items()}


def render_body(profile: Profile, editing: Editing | None = None) -> Markup:
    """The profile's content as an HTML fragment (with its own style sheet)."""
    template = _ENV.get_template("profile_body.html")
    return Markup(
        template.render(
            p=profile,
            chapters=outline(profile),
            pictures=pictures(profile),
            editing=editing,
            css=Markup((TEMPLATES / "profile.css").read_text(encoding="utf-8")),
        )
    )


def render_document(profile: Profile) -> str:
    """A standalone HTML document of the profile, laid out for A4 print."""
    return _ENV.get_template("profile_document.html").render(
        p=profile,
        chapters=outline(profile),
        body=render_body(profile),
        css=Markup((TEMPLATES / "print.css").read_text(encoding="utf-8")),
    )


def _own_resources():
    """WeasyPrint's fetcher limited to what a profile is made of: ``data:`` URIs (its pictures)
    and files of the profile templates. Written text may name any URL (``![](http://…)``), and
    an anonymous reader may ask for the PDF: nothing else is ever requested (no server-side
    request forgery, no local files)."""
    from weasyprint.urls import URLFetcher

    own = TEMPLATES.resolve()

    class OwnResources(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("file:"):
                path = Path(unquote(urlsplit(url).path)).resolve()
                if not path.is_relative_to(own):
                    raise ValueError(f"not a file of the profile templates: {url}")
            return super().fetch(url, headers)

    return OwnResources(allowed_protocols={"data", "file"}, allow_redirects=False, timeout=2)


def html_to_pdf(document: str) -> bytes:
    """A standalone HTML document as PDF; resources only from ``_own_resources``."""
    from weasyprint import HTML  # imported when needed: loading it takes ~0.5 s

    return HTML(string=document, base_url=str(TEMPLATES), url_fetcher=_own_resources()).write_pdf()


def render_pdf(profile: Profile) -> bytes:
    """The profile as PDF/A4 with page numbers and a table of contents with page numbers."""
    return html_to_pdf(render_document(profile))


def file_name(profile: Profile, extension: str = "pdf") -> str:
    """E.g. ``profil_<system>_<level>_<code>_<name>.pdf``, no blanks or umlauts."""
    region = profile.region
    name = slug(region.name).replace("_", "-")
    code = slug(region.code).replace("_", "-")
    return f"profil_{region.level.system}_{region.level.key}_{code}_{name}.{extension}"
