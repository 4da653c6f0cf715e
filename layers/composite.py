"""Composite indices declared in ``data/composites/*.toml`` (the MSS method, generalised).

Components are catalog indicators with a weight (default 1) and a direction (+1: a higher value
raises the index). Included are the regions with valid values for every component. Each
component is z-standardised over them with the population standard deviation, the weighted
z-values are summed, and the sum is standardised the same way: that is the index. Classes
follow thresholds in the order declared; a region that is not included gets no class.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Connection

from ingest.manifest import Folders, load_toml_model, manifest_keys
from layers.errors import NotComputable, NotFound
from layers.levels import Level, get_level
from layers.meta import Evaluate, get_indicator

_REGION = ["region_id", "code", "name", "parent_code"]


class Component(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str
    weight: float = Field(default=1.0, gt=0)
    direction: int = Field(default=1, description="+1 or -1")

    @model_validator(mode="after")
    def _sign(self) -> Component:
        if self.direction not in (1, -1):
            raise ValueError("direction must be 1 or -1")
        return self


class IndexClass(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    below: float | None = Field(default=None, description="index < below")
    up_to: float | None = Field(default=None, description="index <= up_to")

    def holds(self, value: float) -> bool:
        if self.below is not None:
            return value < self.below
        if self.up_to is not None:
            return value <= self.up_to
        return True


class Combination(BaseModel):
    """A class indicator that overlays this index's classes with another index's classes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name_de: str
    name_en: str
    other: str = Field(description="key of the other composite index")


class CompositeIndex(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    name_de: str
    name_en: str
    class_name_de: str
    topic: str = "Indizes"
    polarity: Literal["higher_is_better", "higher_is_worse", "neutral"] = "neutral"
    components: list[Component] = Field(min_length=1)
    classes: list[IndexClass] = Field(min_length=2)
    combined: Combination | None = None

    @model_validator(mode="after")
    def _classes_complete(self) -> CompositeIndex:
        *bounded, last = self.classes
        if any(c.below is None and c.up_to is None for c in bounded):
            raise ValueError("only the last class may be open-ended")
        if last.below is not None or last.up_to is not None:
            raise ValueError("the last class takes the rest: give it no threshold")
        return self

    def classify(self, value: float) -> str:
        return next(c.label for c in self.classes if c.holds(value))

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.classes]


def load_composites(directory: Folders) -> dict[str, CompositeIndex]:
    found: dict[str, CompositeIndex] = {}
    for name in manifest_keys(directory):
        index = load_toml_model(directory, name, CompositeIndex, "composite index")
        found[index.key] = index
    for index in found.values():
        if index.combined and index.combined.other not in found:
            raise NotComputable(
                f"{index.key} is combined with unknown index {index.combined.other}"
            )
    return found


def composite_table(
    conn: Connection, index: CompositeIndex, system: str, level: str, period: date, ev: Evaluate
) -> pd.DataFrame:
    """code, name, parent code, index, class, status ('valid' when included, else 'no_data')
    per region."""
    target = get_level(conn, system, level)
    frame = None
    for component in index.components:
        values = ev.values(conn, get_indicator(conn, component.indicator), target, period)
        values = values[[*_REGION, "value", "status"]].rename(
            columns={"value": component.indicator, "status": f"{component.indicator}__status"}
        )
        frame = values if frame is None else frame.merge(values, on=_REGION)
    status_columns = [f"{c.indicator}__status" for c in index.components]
    included = (frame[status_columns] == "valid").all(axis=1).to_numpy()
    if included.sum() < 2:
        raise NotFound(f"{index.key}: fewer than two regions with all components for {period}")
    result = frame[_REGION].copy()
    result["index"] = np.nan
    result.loc[included, "index"] = index_values(frame.loc[included], index)
    result["class"] = [
        index.classify(v) if ok else None for v, ok in zip(result["index"], included, strict=True)
    ]
    result["status"] = np.where(included, "valid", "no_data")
    return result


def index_values(components: pd.DataFrame, index: CompositeIndex) -> np.ndarray:
    """The index over the included regions (one column per component indicator)."""
    total = np.zeros(len(components))
    for component in index.components:
        x = components[component.indicator].to_numpy(float)
        total += component.weight * component.direction * _z(x, component.indicator)
    return _z(total, index.key)


def combined_classes(status: pd.DataFrame, dynamics: pd.DataFrame, names=("Status", "Dynamik")):
    """The overlay of two indices' classes, e.g. 'Status mittel, Dynamik negativ'."""
    both = status[["code", "class"]].merge(
        dynamics[["code", "class"]], on="code", suffixes=("_a", "_b")
    )
    both["class"] = [
        f"{names[0]} {a}, {names[1]} {b}" if pd.notna(a) and pd.notna(b) else None
        for a, b in zip(both["class_a"], both["class_b"], strict=True)
    ]
    return both[["code", "class"]]


def _z(values: np.ndarray, what: str) -> np.ndarray:
    sd = values.std(ddof=0)
    if sd == 0:
        raise NotComputable(f"{what} does not vary over the included regions")
    return (values - values.mean()) / sd


def composite_values(
    conn: Connection, definition: dict, target: Level, period: date, ev: Evaluate
) -> pd.DataFrame:
    """A composite catalog indicator as level values: the index, or a class as its number
    (1 = first label) — the definition stored with the indicator says which."""
    index = CompositeIndex.model_validate(definition["index"])
    table = composite_table(conn, index, target.system, target.key, period, ev)
    if definition["part"] == "index":
        value = table["index"]
    elif definition["part"] == "class":
        value = table["class"].map({label: n for n, label in enumerate(index.labels, 1)})
    else:
        other = CompositeIndex.model_validate(definition["other"])
        second = composite_table(conn, other, target.system, target.key, period, ev)
        first = table["class"].map({label: n for n, label in enumerate(index.labels)})
        then = second["class"].map({label: n for n, label in enumerate(other.labels)})
        value = first * len(other.labels) + then + 1
    rows = table[_REGION].copy()
    rows["value"] = value.astype(float)
    rows["status"] = np.where(rows["value"].notna(), "valid", "no_data")
    rows["partial"] = False
    return rows


def combined_labels(index: CompositeIndex, other: CompositeIndex) -> list[str]:
    return [
        f"{index.class_name_de} {a}, {other.class_name_de} {b}"
        for a in index.labels
        for b in other.labels
    ]
