"""Source manifests: one TOML file per region system that says where each level comes from.

A manifest lists the system's levels from coarsest to finest. Each level is either read from a
source file (mirror path, official URLs with fallbacks, licence, field mapping) or derived by
dissolving a finer level by code prefix, optionally checked against a reference file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.errors import IngestError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(Strict):
    """One data set: where it lies in the mirror and where it can be downloaded."""

    title: str
    mirror_path: str | None = None
    urls: list[str] = Field(default_factory=list)
    member: str | None = Field(default=None, description="file inside a downloaded zip")
    sha256: str | None = Field(default=None, description="checksum of the downloaded file")
    landing_page: str | None = None
    licence: str | None = None
    attribution: str | None = None
    crs: str | None = Field(default=None, description="CRS to assume when the file has none")
    layer: str | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> Source:
        if not self.mirror_path and not self.urls:
            raise ValueError(f"source {self.title!r} needs a mirror_path or urls")
        if self.mirror_path and (
            PurePosixPath(self.mirror_path).is_absolute()
            or ".." in PurePosixPath(self.mirror_path.replace("\\", "/")).parts
        ):
            raise ValueError(
                f"source {self.title!r}: mirror_path {self.mirror_path!r} must be a path inside "
                "the mirror (relative, without '..')"
            )
        return self


class Fix(Strict):
    """A known correction of a source feature, applied only on request (--apply-fixes)."""

    description: str
    where: dict[str, str]
    set: dict[str, str]


class Fill(Strict):
    """A region missing from its level's file: its geometry is what its parent leaves over
    when the regions of the level inside the parent are taken out."""

    code: str
    name: str
    parent: str = Field(description="code of the parent region (next coarser level)")


class Derivation(Strict):
    """A coarser level dissolved from a finer one: by code prefix, or by a column of the
    system's key table that names the coarser region of every finer one."""

    from_level: str
    by: Literal["prefix", "key_table"] = "prefix"
    column: str | None = Field(default=None, description="key table column ('key_table')")
    code_column: str | None = Field(
        default=None, description="key table column with the codes of the derived regions"
    )
    names: dict[str, str] = Field(default_factory=dict)
    name_field: str | None = Field(default=None, description="field of the finer level's file")

    @model_validator(mode="after")
    def _column_for_key_table(self) -> Derivation:
        if (self.by == "key_table") != bool(self.column):
            raise ValueError("a derivation by 'key_table' names its 'column' (and only it does)")
        return self


class KeyTable(Strict):
    """A table that assigns each region of the finest file level (by name or code in
    ``key_column``) to the regions of the coarser levels derived from it."""

    source: Source
    key_column: str
    code_column: str | None = Field(
        default=None, description="codes of the file level's regions (else made from names)"
    )
    delimiter: str | None = None
    encoding: str | None = None


class ReferenceCheck(Strict):
    source: Source
    code_field: str
    name_field: str | None = None
    tolerance: float = Field(default=0.005, gt=0, lt=1)


class Level(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    code_length: int | None = Field(default=None, ge=1, le=64)
    source: Source | None = None
    more_sources: list[Source] = Field(
        default_factory=list,
        description="further files of the same level (a region split over files is joined)",
    )
    fill: list[Fill] = Field(default_factory=list, description="regions the files lack")
    code_field: str | None = None
    codes: Literal["field", "generated"] = Field(
        default="field",
        description="'generated': the source has names only; codes are made from the names",
    )
    name_field: str | None = None
    parent_field: str | None = None
    parent_by: Literal["field", "prefix", "containment"] | None = None
    derive: Derivation | None = None
    check_against: ReferenceCheck | None = None
    fixes: list[Fix] = Field(default_factory=list)

    @model_validator(mode="after")
    def _source_or_derived(self) -> Level:
        if (self.source is None) == (self.derive is None):
            raise ValueError(f"level {self.key!r} needs exactly one of 'source' or 'derive'")
        if self.more_sources and self.source is None:
            raise ValueError(f"level {self.key!r}: 'more_sources' go with a 'source'")
        if self.source is not None and self.codes == "field" and not self.code_field:
            raise ValueError(f"level {self.key!r} reads a file and needs 'code_field'")
        if self.codes == "generated" and not self.name_field:
            raise ValueError(f"level {self.key!r} generates codes from names: give 'name_field'")
        by_prefix = self.derive is not None and self.derive.by == "prefix"
        if by_prefix and self.code_length is None:
            raise ValueError(f"derived level {self.key!r} needs 'code_length' (the prefix)")
        return self


class SystemManifest(Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    city: str
    valid_from: date | None = None
    valid_to: date | None = None
    landing_page: str | None = None
    licence: str | None = None
    attribution: str | None = None
    key_table: KeyTable | None = None
    levels: list[Level] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> SystemManifest:
        keys = [level.key for level in self.levels]
        if len(set(keys)) != len(keys):
            raise ValueError("level keys must be unique")
        for rank, level in enumerate(self.levels):
            if level.derive and level.derive.from_level not in keys[rank + 1 :]:
                raise ValueError(
                    f"level {level.key!r} derives from {level.derive.from_level!r}, "
                    "which must be a finer level of the same system"
                )
            if level.derive and level.derive.by == "key_table":
                if self.key_table is None:
                    raise ValueError(f"level {level.key!r} derives by a key table: add [key_table]")
                if level.derive.from_level != keys[rank + 1]:
                    raise ValueError(
                        f"level {level.key!r} derives by the key table from the next finer level "
                        f"({keys[rank + 1]!r}), not {level.derive.from_level!r}"
                    )
        return self

    def level(self, key: str) -> Level:
        for level in self.levels:
            if level.key == key:
                return level
        raise KeyError(key)


def available_systems(manifest_dir: Path) -> list[str]:
    return sorted(p.stem for p in manifest_dir.glob("*.toml"))


Folders = Path | Sequence[Path]


def _folders(directory: Folders) -> list[Path]:
    return [directory] if isinstance(directory, Path) else list(directory)


def manifest_path(directory: Folders, key: str) -> Path:
    """``<folder>/<key>.toml`` in the first of the folders that has it (else in the first)."""
    folders = _folders(directory)
    for folder in folders:
        if (folder / f"{key}.toml").exists():
            return folder / f"{key}.toml"
    return (folders[0] if folders else Path(".")) / f"{key}.toml"


def load_toml_model(directory: Folders, key: str, model: type[M], what: str) -> M:
    """Read ``<directory>/<key>.toml`` into ``model`` (the first of several folders that has
    it); errors name the file and the field."""
    path = manifest_path(directory, key)
    if not path.exists():
        known = ", ".join(manifest_keys(directory)) or "none"
        raise IngestError(f"no {what} {key!r} (known: {known})", file=path)
    try:
        return model.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise IngestError(f"not valid TOML: {exc}", file=path) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(part) for part in first["loc"])
        raise IngestError(f"invalid {what} at {loc}: {first['msg']}", file=path) from exc


def manifest_keys(directory: Folders) -> list[str]:
    """The keys (file names) of the manifests in the folder(s), sorted, each once."""
    return sorted({p.stem for folder in _folders(directory) for p in folder.glob("*.toml")})


def load_keyed_model(directory: Folders, key: str, model: type[M], what: str) -> M:
    """Like :func:`load_toml_model`, and the file's ``key`` must be its file name."""
    loaded = load_toml_model(directory, key, model, what)
    if loaded.key != key:
        raise IngestError(
            f"{what} key {loaded.key!r} does not match its file name",
            file=manifest_path(directory, key),
        )
    return loaded


def load_manifest(manifest_dir: Path, system: str) -> SystemManifest:
    """Read and validate ``<manifest_dir>/<system>.toml``."""
    return load_keyed_model(manifest_dir, system, SystemManifest, "manifest for region system")
