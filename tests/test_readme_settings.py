"""Every setting is documented in the README's configuration table."""

from __future__ import annotations

from spatial.settings import PROJECT_ROOT
from web.settings import Settings


def _variables() -> list[tuple[str, str]]:
    """(full variable name, its field part) of every field of every settings section."""
    out = []
    for field in Settings.model_fields.values():
        section = field.annotation
        prefix = section.model_config.get("env_prefix", "")
        out += [(f"{prefix}{key}".upper(), key.upper()) for key in section.model_fields]
    return out


def test_every_setting_is_in_the_configuration_table():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ")]
    missing = [
        full for full, part in _variables() if full not in table and f"…_{part}`" not in table
    ]
    assert not missing, f"undocumented settings: {', '.join(missing)}"
