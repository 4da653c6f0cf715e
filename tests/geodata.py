"""Small generated boundary files for tests where real data is not the point."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point, Polygon, box

X0, Y0 = 390_000.0, 5_820_000.0  # central Berlin in EPSG:25833


def grid(
    codes: list[str],
    size: float = 1000.0,
    names: list[str] | None = None,
    columns: int = 2,
    **extra,
) -> gpd.GeoDataFrame:
    """Adjacent squares (a clean coverage), one per code, in EPSG:25833."""
    geoms = [
        box(
            X0 + (i % columns) * size,
            Y0 + (i // columns) * size,
            X0 + (i % columns + 1) * size,
            Y0 + (i // columns + 1) * size,
        )
        for i in range(len(codes))
    ]
    data = {"code": codes, "name": names or [f"Gebiet {c}" for c in codes], **extra}
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:25833")


def bowtie(code: str = "01") -> gpd.GeoDataFrame:
    """A self-intersecting polygon (figure eight)."""
    shape = Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0 + 1000, Y0), (X0, Y0 + 1000)])
    return gpd.GeoDataFrame(
        {"code": [code], "name": ["Achter"]}, geometry=[shape], crs="EPSG:25833"
    )


def points(codes: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": codes, "name": codes},
        geometry=[Point(X0 + i, Y0) for i in range(len(codes))],
        crs="EPSG:25833",
    )


def write(frame: gpd.GeoDataFrame, path: Path, driver: str | None = None) -> Path:
    frame.to_file(path, driver=driver, engine="pyogrio")
    return path
