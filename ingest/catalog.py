"""The indicator catalog: every indicator described once (names, unit, kind, aggregation rule,
polarity, decimals, source, small-number rule), one TOML file per source in ``data/indicators``,
upserted into the store by every statistics ingest that uses it."""

from __future__ import annotations

import json
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.manifest import Folders, load_toml_model, manifest_keys


class Indicator(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    topic: str
    name_de: str
    name_en: str
    description: str | None = None
    unit: str
    kind: Literal["count", "share", "rate", "mean", "index", "class"]
    aggregation: Literal["sum", "ratio", "weighted_mean", "none", "derived"]
    numerator: str | None = None
    denominator: str | None = None
    weight: str | None = None
    polarity: Literal["higher_is_better", "higher_is_worse", "neutral"] = "neutral"
    decimals: int = Field(default=0, ge=0, le=6)
    min_population: int | None = Field(default=None, ge=1)
    scale: float = Field(default=1.0, gt=0, description="ratio × scale, e.g. 100 for percent")
    expression: str | None = Field(
        default=None, description="'derived': a formula over other indicators (layers.derived)"
    )
    class_labels: list[str] | None = Field(
        default=None, description="'class' indicators: the label of value 1, 2, … in order"
    )
    composite: dict | None = Field(default=None, description="computed by a composite index")
    method: str | None = Field(default=None, description="how a computed series was made")
    small_numbers: Literal["reliability", "disclosure"] = Field(
        default="reliability",
        description="reliability: values of regions under min_population are not shown; "
        "disclosure: a count (a ratio's numerator) under min_count must not be recoverable",
    )
    min_count: int | None = Field(default=None, ge=1)
    complements: list[str] = Field(
        default_factory=list, description="indicators that add up with this one to a total"
    )
    min_value: float | None = Field(
        default=None, description="smallest plausible value (default by kind: counts and shares 0)"
    )
    max_value: float | None = Field(
        default=None, description="largest plausible value (default by kind: shares 100)"
    )

    def plausible_range(self) -> tuple[float, float]:
        """The values a source may load for this indicator (checked on the way in)."""
        low = {"count": 0.0, "share": 0.0}.get(self.kind, -math.inf)
        high = {"share": 100.0}.get(self.kind, math.inf)
        return (
            low if self.min_value is None else self.min_value,
            high if self.max_value is None else self.max_value,
        )

    @model_validator(mode="after")
    def _rule_complete(self) -> Indicator:
        if self.aggregation == "ratio" and not (self.numerator and self.denominator):
            raise ValueError(f"{self.key}: 'ratio' needs numerator and denominator")
        if self.aggregation == "weighted_mean" and not self.weight:
            raise ValueError(f"{self.key}: 'weighted_mean' needs a weight indicator")
        if (self.aggregation == "derived") != bool(self.expression):
            raise ValueError(f"{self.key}: an expression goes with aggregation 'derived'")
        if self.small_numbers == "disclosure":
            if not self.min_count:
                raise ValueError(f"{self.key}: the disclosure rule needs min_count")
            if self.aggregation not in ("sum", "ratio"):
                raise ValueError(
                    f"{self.key}: the disclosure rule applies to counts (sum) and ratios"
                )
        return self

    def definition(self) -> dict:
        """What is stored beside the columns: everything the analysis layer needs besides."""
        extra: dict = {"scale": self.scale}
        if self.small_numbers != "reliability":
            extra.update(small_numbers=self.small_numbers, min_count=self.min_count)
        if self.complements:
            extra["complements"] = self.complements
        for name in ("expression", "class_labels", "composite", "method"):
            if getattr(self, name) is not None:
                extra[name] = getattr(self, name)
        return extra


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    # a shared catalog credits nobody: its values are credited to the sources that load them
    source: str | None = None
    licence: str | None = None
    attribution: str | None = None
    indicators: list[Indicator] = Field(min_length=1)

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        keys = [i.key for i in self.indicators]
        if len(set(keys)) != len(keys):
            raise ValueError("indicator keys must be unique")
        for indicator in self.indicators:
            for ref in (indicator.numerator, indicator.denominator, indicator.weight):
                if ref and ref not in keys:
                    raise ValueError(f"{indicator.key} refers to unknown indicator {ref!r}")
        return self


def load_catalog(catalog_dir: Folders, key: str) -> Catalog:
    return load_toml_model(catalog_dir, key, Catalog, "indicator catalog")


def all_catalogs(catalog_dir: Folders) -> list[Catalog]:
    return [load_catalog(catalog_dir, key) for key in manifest_keys(catalog_dir)]


def upsert_catalog(conn: Connection, catalog: Catalog) -> dict[str, int]:
    """Write the catalog's indicators; returns indicator key → id."""
    ids = {}
    for ind in catalog.indicators:
        ids[ind.key] = conn.execute(
            text(
                """
                INSERT INTO indicators (key, catalog, topic, name_de, name_en, description, unit,
                    kind, aggregation, numerator, denominator, weight, polarity, decimals,
                    source, licence, attribution, min_population, definition)
                VALUES (:key, :catalog, :topic, :name_de, :name_en, :description, :unit, :kind,
                    :aggregation, :numerator, :denominator, :weight, :polarity, :decimals,
                    :source, :licence, :attribution, :min_population,
                    CAST(:definition AS jsonb))
                ON CONFLICT (key) DO UPDATE SET catalog = EXCLUDED.catalog,
                    topic = EXCLUDED.topic, name_de = EXCLUDED.name_de,
                    name_en = EXCLUDED.name_en, description = EXCLUDED.description,
                    unit = EXCLUDED.unit, kind = EXCLUDED.kind,
                    aggregation = EXCLUDED.aggregation, numerator = EXCLUDED.numerator,
                    denominator = EXCLUDED.denominator, weight = EXCLUDED.weight,
                    polarity = EXCLUDED.polarity, decimals = EXCLUDED.decimals,
                    source = EXCLUDED.source, licence = EXCLUDED.licence,
                    attribution = EXCLUDED.attribution, min_population = EXCLUDED.min_population,
                    definition = EXCLUDED.definition
                RETURNING id
                """
            ),
            {
                **ind.model_dump(
                    exclude={
                        "scale",
                        "expression",
                        "class_labels",
                        "composite",
                        "method",
                        "small_numbers",
                        "min_count",
                        "complements",
                        "min_value",
                        "max_value",
                    }
                ),
                "catalog": catalog.key,
                "source": catalog.source,
                "licence": catalog.licence,
                "attribution": catalog.attribution,
                "definition": json.dumps(ind.definition()),
            },
        ).scalar_one()
    return ids
