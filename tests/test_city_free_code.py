"""Cities are data: no Python module outside the tests and benchmarks names a city, one of its
region systems, its official CRS or an indicator only its pack declares."""

from __future__ import annotations

import re
import tomllib

from ingest.catalog import all_catalogs
from spatial.settings import PROJECT_ROOT, DataSettings

CODE_DIRS = ("spatial", "ingest", "layers", "records", "profiles", "web", "cli", "accounts")


def _city_words() -> set[str]:
    data = DataSettings()
    shared = {i.key for c in all_catalogs([data.catalog_dir]) for i in c.indicators}
    words: set[str] = set()
    for pack in data.packs():
        words |= {pack.name, pack.key, *pack.system_keys, str(pack.srid)}
        own = {i.key for c in all_catalogs([pack.part("indicators")]) for i in c.indicators}
        words |= own - shared
        for path in pack.part("composites").glob("*.toml"):
            composite = tomllib.loads(path.read_text(encoding="utf-8"))
            words.add(composite["key"])
        for system in pack.system_keys:
            manifest = tomllib.loads(
                (data.manifest_dir / f"{system}.toml").read_text(encoding="utf-8")
            )
            words.add(manifest["city"])
    return words


def test_the_words_are_found():
    words = _city_words()
    assert {"Berlin", "Hamburg", "berlin-lor-2021", "25833", "25832"} <= words
    assert {"mss_status_index", "share_sgb2_recipients", "kita_places_per_100_u6"} <= words


def test_no_python_module_names_a_city():
    pattern = re.compile(
        r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(_city_words()))) + r")(?!\w)",
        re.IGNORECASE,
    )
    found = []
    for directory in CODE_DIRS:
        for path in sorted((PROJECT_ROOT / directory).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = pattern.search(line)
                if match:
                    found.append(f"{path.relative_to(PROJECT_ROOT)}:{number}: {match.group(0)}")
    assert not found, "\n".join(found)
