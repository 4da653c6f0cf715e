"""The map's browser libraries (Leaflet, Leaflet.markercluster, Leaflet.draw, Leaflet.VectorGrid
for the vector tiles of large levels), fetched once from
the npm registry, checked against pinned integrity hashes and served from ``web/static/vendor``
— the pages never depend on a CDN, so they work offline and on closed networks.

Run ``python -m web.assets`` (``make setup`` does); ``SOZIALRAUM_NPM_REGISTRY`` points at a
registry mirror.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx

VENDOR = Path(__file__).parent / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrity: str  # the registry's sha512 of the tarball
    files: dict[str, str]  # path in the package (prefix for directories) → path under vendor/

    @property
    def tarball(self) -> str:
        return f"{self.name}/-/{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"


PACKAGES = (
    Package(
        "leaflet",
        "1.9.4",
        "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
        {
            "dist/leaflet.js": "leaflet/leaflet.js",
            "dist/leaflet.css": "leaflet/leaflet.css",
            "dist/images/": "leaflet/images/",
            "LICENSE": "leaflet/LICENSE",
        },
    ),
    Package(
        "leaflet.markercluster",
        "1.5.3",
        "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==",
        {
            "dist/leaflet.markercluster.js": "markercluster/leaflet.markercluster.js",
            "dist/MarkerCluster.css": "markercluster/MarkerCluster.css",
            "dist/MarkerCluster.Default.css": "markercluster/MarkerCluster.Default.css",
            "MIT-LICENCE.txt": "markercluster/LICENCE.txt",
        },
    ),
    Package(
        "leaflet-draw",
        "1.0.4",
        "sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==",
        {
            "dist/leaflet.draw.js": "draw/leaflet.draw.js",
            "dist/leaflet.draw.css": "draw/leaflet.draw.css",
            "dist/images/": "draw/images/",
            "package.json": "draw/package.json",
        },
    ),
    Package(
        "leaflet.vectorgrid",
        "1.3.0",
        "sha512-kWmj1pKM+MVdo/7Mg5zsB3YrGZvo/uIuiANV9MvWUFOG+Y2xAJzrteDhoIcCgTjHSSRJ36xdeGdIQVhuWjnCZw==",
        {
            "dist/Leaflet.VectorGrid.bundled.min.js": "vectorgrid/vectorgrid.min.js",
            "README.md": "vectorgrid/README.md",  # its licence and those of the bundled parts
        },
    ),
)

LEAFLET_JS = "/static/vendor/leaflet/leaflet.js"
LEAFLET_CSS = "/static/vendor/leaflet/leaflet.css"
CLUSTER_JS = "/static/vendor/markercluster/leaflet.markercluster.js"
CLUSTER_CSS = (
    "/static/vendor/markercluster/MarkerCluster.css",
    "/static/vendor/markercluster/MarkerCluster.Default.css",
)


DRAW_JS = "/static/vendor/draw/leaflet.draw.js"
DRAW_CSS = "/static/vendor/draw/leaflet.draw.css"
VECTORGRID_JS = "/static/vendor/vectorgrid/vectorgrid.min.js"


class AssetError(RuntimeError):
    pass


def missing(vendor: Path = VENDOR) -> list[Package]:
    marker = "{}@{}"
    return [p for p in PACKAGES if not (vendor / marker.format(p.name, p.version)).exists()]


def ensure_assets(vendor: Path = VENDOR, registry: str | None = None) -> list[str]:
    """Fetch what is missing; returns the packages fetched."""
    registry = (
        registry or os.environ.get("SOZIALRAUM_NPM_REGISTRY") or "https://registry.npmjs.org"
    ).rstrip("/")
    fetched = []
    for package in missing(vendor):
        url = f"{registry}/{package.tarball}"
        try:
            response = httpx.get(url, timeout=60, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise AssetError(f"cannot fetch {url}: {exc}") from exc
        digest = "sha512-" + base64.b64encode(hashlib.sha512(response.content).digest()).decode()
        if digest != package.integrity:
            raise AssetError(f"{url} does not match its pinned integrity hash")
        _extract(response.content, package, vendor)
        (vendor / f"{package.name}@{package.version}").touch()
        fetched.append(f"{package.name}@{package.version}")
    return fetched


def _extract(tarball: bytes, package: Package, vendor: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive.getmembers():
            if not member.isfile():
                continue
            inner = member.name.removeprefix("package/")
            for source, target in package.files.items():
                if inner == source or (source.endswith("/") and inner.startswith(source)):
                    destination = vendor / (
                        target + inner.removeprefix(source) if source.endswith("/") else target
                    )
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(archive.extractfile(member).read())


if __name__ == "__main__":
    try:
        done = ensure_assets()
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    if done:
        print("fetched " + ", ".join(done))
