"""City packs: everything particular to one city, declared in ``data/cities/<city>/city.toml``
beside the city's statistics sources, facility sources, composite indices and own indicators.

A pack names the region systems it uses (their manifests lie in ``data/lor_boundaries/``), its
official CRS (areas are measured and exports written in it), what the map shows first and what
a region profile contains. Python holds no city: every consumer asks the pack.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from pyproj import CRS
from pyproj.exceptions import CRSError

from spatial.errors import SozialraumError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CitySystem(_Strict):
    key: str
    apply_fixes: bool = Field(
        default=False, description="apply the manifest's known source corrections on load"
    )


class MapDefaults(_Strict):
    system: str | None = Field(default=None, description="region system of the map")
    level: str | None = Field(default=None, description="level shown first; default the finest")
    indicator: str = Field(description="indicator shown first")
    key_indicators: list[str] = Field(default_factory=list, max_length=40)
    service_indicators: list[str] = Field(default_factory=list, max_length=40)
    overlays: list[str] | None = Field(
        default=None, description="facility categories offered; default all with facilities"
    )


class ClassMap(_Strict):
    """Class indicators a profile maps for the finest regions inside (a social monitoring)."""

    title: str
    status: str
    dynamics: str | None = None
    overall: str | None = None


# the written sections every profile offers unless its city names others (key → heading)
STANDARD_SECTIONS = {
    "ziele": "Ziele und Strategien",
    "handlungsbedarfe": "Handlungsbedarfe",
    "ressourcen": "Ressourcen und Akteure im Gebiet",
}


class ProfileTemplate(_Strict):
    population: str = Field(description="the population count")
    key_indicators: list[str] = Field(min_length=1, max_length=40)
    age_bands: list[str] = Field(default_factory=list, max_length=20)
    classes: ClassMap | None = None
    sections: dict[str, str] = Field(
        default_factory=lambda: dict(STANDARD_SECTIONS),
        min_length=1,
        max_length=20,
        description="standard written sections, key → heading, in order",
    )

    @field_validator("sections")
    @classmethod
    def _section_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", key) or key.startswith("frei-"):
                raise ValueError(f"section key {key!r}: lower-case letters, digits, '-'")
        return value


class CityPack(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str
    official_crs: str = Field(description="an EPSG code (EPSG:<n>); areas and exports use it")
    systems: list[CitySystem] = Field(min_length=1)
    map: MapDefaults
    profile: ProfileTemplate
    _directory: Path = PrivateAttr(default=Path("."))

    @field_validator("official_crs")
    @classmethod
    def _projected_metric(cls, value: str) -> str:
        try:
            crs = CRS.from_user_input(value)
        except CRSError as exc:
            raise ValueError(f"unknown CRS {value!r}") from exc
        if not crs.is_projected or crs.to_epsg() is None:
            raise ValueError(f"{value} is not a projected CRS with an EPSG code")
        return f"EPSG:{crs.to_epsg()}"

    @property
    def srid(self) -> int:
        return int(self.official_crs.split(":")[1])

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def system_keys(self) -> list[str]:
        return [s.key for s in self.systems]

    def part(self, name: str) -> Path:
        """One of the pack's folders: statistics, facilities, composites, indicators."""
        return self._directory / name

    def own_catalogs(self) -> set[str]:
        """The keys of the catalogs only this city declares (its ``indicators/`` files)."""
        own = {
            tomllib.loads(path.read_text(encoding="utf-8")).get("key", path.stem)
            for path in sorted(self.part("indicators").glob("*.toml"))
        }
        if any(self.part("composites").glob("*.toml")):
            own.add(self.composite_catalog)
        return own

    @property
    def composite_catalog(self) -> str:
        """The catalog key of the city's composite indices in the store."""
        return f"{self.key}-composite"


def load_city(cities_dir: Path, key: str) -> CityPack:
    """Read ``<cities_dir>/<key>/city.toml``; errors name the file and the field."""
    path = cities_dir / key / "city.toml"
    if not path.exists():
        known = ", ".join(city_keys(cities_dir)) or "none"
        raise SozialraumError(f"{path}: no city pack {key!r} (known: {known})")
    try:
        pack = CityPack.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise SozialraumError(f"{path}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        raise SozialraumError(f"{path}: invalid city pack at {loc}: {first['msg']}") from exc
    if pack.key != key:
        raise SozialraumError(f"{path}: city key {pack.key!r} does not match its folder")
    pack._directory = path.parent
    return pack


def city_keys(cities_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in cities_dir.glob("*/city.toml"))


def all_cities(cities_dir: Path) -> list[CityPack]:
    return [load_city(cities_dir, key) for key in city_keys(cities_dir)]


def city_of_system(cities: list[CityPack], system: str) -> CityPack | None:
    """The pack that uses ``system``, if any."""
    return next((c for c in cities if system in c.system_keys), None)


class Deployment(_Strict):
    """Defaults of a deployment (``data/deployment.toml``): the storage CRS and the default
    city (the settings ``SOZIALRAUM_SRID`` and ``SOZIALRAUM_DEFAULT_CITY`` override them) and the
    time zone dates and times are shown in."""

    storage_crs: str
    default_city: str
    timezone: str

    @property
    def srid(self) -> int:
        return int(self.storage_crs.split(":")[1])


def load_deployment(path: Path) -> Deployment:
    try:
        return Deployment.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise SozialraumError(f"{path}: cannot read the deployment defaults: {exc}") from exc


class Cities:
    """The city packs in use, the default one first."""

    def __init__(self, packs: list[CityPack], default_city: str | None = None) -> None:
        self.packs = sorted(packs, key=lambda p: p.key != default_city)
        self._own = {p.key: p.own_catalogs() for p in self.packs}

    def foreign_catalogs(self, pack: CityPack | None) -> set[str]:
        """Catalogs other cities declare: their indicators are not this city's to offer."""
        mine = pack.key if pack else None
        foreign = {k for key, own in self._own.items() if key != mine for k in own}
        return foreign - self._own.get(mine, set())

    def of_system(self, system: str | None) -> CityPack | None:
        return city_of_system(self.packs, system) if system else None

    def map_systems(self) -> list[tuple[CityPack, str]]:
        """Each city with the region system its map shows first."""
        return [(p, p.map.system or p.system_keys[0]) for p in self.packs]

    def srid_of(self, system: str | None) -> int | None:
        """The official CRS of the system's city (else of the default city)."""
        pack = self.of_system(system) or (self.packs[0] if self.packs else None)
        return pack.srid if pack else None
