"""Query parameters shared by several routers, parsed with messages a user can act on."""

from __future__ import annotations

from layers.errors import InvalidParameter

BBox = tuple[float, float, float, float]


def parse_bbox(raw: str | None) -> BBox | None:
    """``west,south,east,north`` in degrees (EPSG:4326)."""
    if raw is None:
        return None
    parts = raw.split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise InvalidParameter(
            f"bbox must be four numbers west,south,east,north in degrees, not {raw!r}"
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidParameter(
            f"bbox {raw!r} is not west,south,east,north in degrees with west < east, south < north"
        )
    return west, south, east, north


def parse_keys(raw: str | None) -> list[str]:
    """``a, b,c`` → ``["a", "b", "c"]`` (indicator keys and the like)."""
    return [k.strip() for k in (raw or "").split(",") if k.strip()]


def check_region_filter(system: str | None, region: str | None) -> None:
    """A region code means nothing without the system it belongs to."""
    if region is not None and system is None:
        raise InvalidParameter("region needs system, e.g. system=<key>&region=<code>")


def parse_breaks(raw: str | None) -> list[float] | None:
    if not raw:
        return None
    try:
        return [float(p) for p in raw.split(",")]
    except ValueError:
        raise InvalidParameter(f"breaks must be numbers separated by commas, not {raw!r}") from None


def capped_limit(limit: int | None, cap: int) -> int:
    """The requested number of features, refused over the configured cap."""
    if limit is not None and limit > cap:
        raise InvalidParameter(f"limit {limit} is over the cap of {cap}")
    return limit or cap
