"""Is a file where it says it is? Coordinates with exchanged axes (latitude first, northing
first) are valid numbers in the right range and load without a word, only to lie nowhere near
the city. When the store already holds regions, a sample of the new features is placed as
read and with the axes exchanged: if few lie in any region as read and most do exchanged, the
file is refused before anything is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pyproj import CRS, Transformer
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.errors import IngestError

SAMPLE = 400


def _inside(conn: Connection, x: np.ndarray, y: np.ndarray, srid: int) -> np.ndarray:
    """Which points (storage CRS) lie in some region of the store."""
    finite = np.isfinite(x) & np.isfinite(y)
    found = np.zeros(len(x), dtype=bool)
    if not finite.any():
        return found
    hits = conn.execute(
        text(
            "SELECT p.i FROM unnest(CAST(:i AS int[]), CAST(:x AS float8[]), "
            "CAST(:y AS float8[])) AS p(i, x, y) WHERE EXISTS (SELECT 1 FROM regions r "
            "WHERE ST_Intersects(r.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), :srid)))"
        ),
        {
            "i": np.flatnonzero(finite).tolist(),
            "x": x[finite].tolist(),
            "y": y[finite].tolist(),
            "srid": srid,
        },
    ).scalars()
    found[list(hits)] = True
    return found


def check_axis_order(
    conn: Connection,
    x: np.ndarray,
    y: np.ndarray,
    crs: CRS,
    srid: int,
    path: Path,
    what: str,
    features: np.ndarray | None = None,
) -> None:
    """Refuse features (``x``, ``y`` in the file's ``crs``, one point each; ``features``: their
    indexes in the file, if not 0, 1, …) that lie in no region as read but in regions with
    their axes exchanged."""
    if len(x) == 0 or not conn.execute(text("SELECT EXISTS (SELECT 1 FROM regions)")).scalar():
        return
    pick = np.linspace(0, len(x) - 1, min(SAMPLE, len(x))).astype(int)
    x, y = np.asarray(x, dtype=float)[pick], np.asarray(y, dtype=float)[pick]
    to_store = Transformer.from_crs(crs, CRS.from_epsg(srid), always_xy=True)
    with np.errstate(all="ignore"):
        as_read = _inside(conn, *to_store.transform(x, y, errcheck=False), srid)
        if as_read.mean() >= 0.5:
            return
        exchanged = _inside(conn, *to_store.transform(y, x, errcheck=False), srid)
    if exchanged.mean() < 0.9:
        return  # somewhere else entirely (another city): not a question of axis order
    example = int(np.flatnonzero(exchanged)[0])
    raise IngestError(
        f"the axes seem exchanged: {int((~as_read).sum())} of {len(pick)} {what} sampled lie "
        f"in no region as read, {int(exchanged.sum())} with x and y swapped (e.g. "
        f"({x[example]:.6g}, {y[example]:.6g}) read as x, y); {crs.to_string()} wants x "
        "first (longitude or easting): swap the columns or declare the right CRS",
        file=path,
        feature=int(pick[example] if features is None else features[pick[example]]),
    )


def representative_points(wkb, limit: int = SAMPLE) -> tuple[np.ndarray, ...]:
    """(x, y, feature index) of a point inside each of up to ``limit`` evenly spaced features
    of a column of WKB."""
    import shapely

    values = np.asarray(wkb, dtype=object)
    pick = np.linspace(0, len(values) - 1, min(limit, len(values))).astype(int)
    points = shapely.point_on_surface(shapely.from_wkb(values[pick]))
    return shapely.get_x(points), shapely.get_y(points), pick
