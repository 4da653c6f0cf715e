"""Getting source files onto disk: from the local mirror, the download cache, or the network.

With a mirror configured nothing is downloaded. Downloads are cached per data set with their
sha256; a declared checksum is verified; zips are unpacked. When every URL fails, the error
names the data set, each URL with its reason, and the landing page for a manual download.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx

from ingest.errors import DownloadError, IngestError
from ingest.manifest import Source
from spatial.settings import DataSettings

SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qpj")
ProgressHook = Callable[[int, int | None], None]

_SUFFIX_BY_TYPE = {
    "json": ".geojson",
    "geo+json": ".geojson",
    "zip": ".zip",
    "gml": ".gml",
    "xml": ".gml",
    "geopackage": ".gpkg",
    "flatgeobuf": ".fgb",
}


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes (what a manifest's ``sha256`` declares)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_of(paths: list[Path]) -> str:
    """One checksum over several files (names and contents), e.g. a shapefile's parts."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def input_checksum(files: list[Path], options: dict) -> str:
    """What identifies an ingest's input: the files and the options that shape the result."""
    digest = hashlib.sha256(sha256_of(files).encode())
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def companion_files(path: Path) -> list[Path]:
    """The file plus the sidecars that belong to it (a shapefile is several files)."""
    files = [path]
    if path.suffix.lower() == ".shp":
        for suffix in SIDECARS:
            for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
                if candidate.exists():
                    files.append(candidate)
    return files


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "source"


def resolve_source(
    source: Source, settings: DataSettings, progress: ProgressHook | None = None
) -> Path:
    """A local path for ``source``: mirror, then cache, then download."""
    if settings.data_mirror is not None:
        if not source.mirror_path:
            raise IngestError(
                f"data set {source.title!r} has no mirror_path but SOZIALRAUM_DATA_MIRROR "
                f"is set ({settings.data_mirror}); unset it to download"
            )
        path = settings.data_mirror / source.mirror_path
        # a manifest never reaches beside the mirror, also not through a link
        if not path.resolve().is_relative_to(settings.data_mirror.resolve()):
            raise IngestError(
                f"data set {source.title!r}: {source.mirror_path!r} lies outside the mirror "
                f"{settings.data_mirror}",
                file=path,
            )
        if not path.exists():
            raise IngestError(
                f"missing file for data set {source.title!r} in the mirror {settings.data_mirror}",
                file=path,
            )
        return path
    target_dir = settings.cache_dir / slug(source.title)
    cached = _cached_file(target_dir)
    if cached is not None:
        return cached
    return _download(source, target_dir, settings, progress)


def _wanted_name(source: Source) -> str | None:
    if source.member:
        return Path(source.member).name
    if source.mirror_path:
        return Path(source.mirror_path).name
    return None


def _cached_file(target_dir: Path) -> Path | None:
    marker = target_dir / ".complete"
    if not marker.exists():
        return None
    name = marker.read_text().strip()
    path = target_dir / name
    return path if path.exists() else None


def _suffix_for(url: str, content_type: str) -> str:
    url_suffix = Path(httpx.URL(url).path).suffix.lower()
    if url_suffix in (".zip", ".geojson", ".json", ".gpkg", ".fgb", ".gml", ".shp"):
        return ".geojson" if url_suffix == ".json" else url_suffix
    for key, suffix in _SUFFIX_BY_TYPE.items():
        if key in content_type:
            return suffix
    return ".dat"


def _download(
    source: Source, target_dir: Path, settings: DataSettings, progress: ProgressHook | None
) -> Path:
    failures: list[str] = []
    limit = settings.max_download_mb * 1024 * 1024
    for url in source.urls:
        if target_dir.exists():
            shutil.rmtree(target_dir)
        target_dir.mkdir(parents=True)
        try:
            path = _fetch(url, target_dir, settings.download_timeout_s, limit, progress)
            if source.sha256:
                actual = file_sha256(path)
                if actual != source.sha256.lower():
                    raise ValueError(f"checksum {actual[:12]}… differs from {source.sha256[:12]}…")
            if path.suffix == ".zip":
                path = _unzip(path, target_dir, _wanted_name(source))
        except (httpx.HTTPError, OSError, ValueError, zipfile.BadZipFile) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            failures.append(f"{url} ({type(exc).__name__}: {reason})")
            continue
        (target_dir / ".complete").write_text(str(path.relative_to(target_dir)))
        return path
    shutil.rmtree(target_dir, ignore_errors=True)
    tried = "; ".join(failures) or "no URLs in the manifest"
    manual = f"; download it manually from {source.landing_page}" if source.landing_page else ""
    raise DownloadError(f"could not download {source.title!r}: tried {tried}{manual}")


def _fetch(
    url: str, target_dir: Path, timeout: float, limit: int, progress: ProgressHook | None
) -> Path:
    with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
        response.raise_for_status()
        suffix = _suffix_for(str(response.url), response.headers.get("content-type", ""))
        path = target_dir / f"download{suffix}"
        total = int(response.headers.get("content-length") or 0) or None
        done = 0
        with path.open("wb") as handle:
            for chunk in response.iter_bytes(1 << 16):
                done += len(chunk)
                if done > limit:
                    raise ValueError(f"larger than the {limit // (1024 * 1024)} MB limit")
                handle.write(chunk)
                if progress:
                    progress(done, total)
    if done == 0:
        raise ValueError("empty response")
    return path


def _unzip(archive: Path, target_dir: Path, wanted: str | None) -> Path:
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            name = Path(info.filename)
            if name.is_absolute() or ".." in name.parts:
                raise ValueError(f"unsafe path in zip: {info.filename}")
        bundle.extractall(target_dir)
    archive.unlink()
    candidates = [p for p in target_dir.rglob("*") if p.is_file()]
    if wanted:
        for path in candidates:
            if path.name.lower() == wanted.lower():
                return path
        raise ValueError(f"zip does not contain {wanted}")
    for suffix in (".shp", ".gpkg", ".geojson", ".fgb", ".gml"):
        for path in candidates:
            if path.suffix.lower() == suffix:
                return path
    raise ValueError("zip contains no vector file")


def fetch_url(url: str, settings: DataSettings, progress: ProgressHook | None = None) -> Path:
    """Download a user-given URL (e.g. a WFS GetFeature request) into the cache."""
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    source = Source(title=f"url-{key}", urls=[url], landing_page=None)
    target_dir = settings.cache_dir / source.title
    cached = _cached_file(target_dir)
    return cached if cached is not None else _download(source, target_dir, settings, progress)
