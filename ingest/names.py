"""Region names as keys: stable codes made from names (for sources that publish names only)
and the normalised form under which statistics rows are matched to regions by name, so that
`St. Pauli`, `St.Pauli` and `st pauli` are one region while the stored name stays as written."""

from __future__ import annotations

import re
import unicodedata

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SOFT_HYPHEN = "\u00ad"


def code_from_name(name: str) -> str:
    """A stable code for a region known by its name: lower case ASCII words joined by '-'
    ('Altstadt-Nord' → 'altstadt-nord', 'St.Georg' → 'st-georg', 'Groß Borstel' →
    'gross-borstel')."""
    folded = unicodedata.normalize("NFKC", name).replace(_SOFT_HYPHEN, "").lower()
    ascii_ = unicodedata.normalize("NFKD", folded.translate(_UMLAUTS))
    ascii_ = ascii_.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")


def normalise_name(name: str, abbreviations: dict[str, str] | None = None) -> str:
    """The form two spellings of one name share: abbreviations written out (as declared,
    e.g. 'Str.' → 'Straße'), umlauts written out, case, blanks, dots and dashes ignored."""
    text = unicodedata.normalize("NFKC", name).replace(_SOFT_HYPHEN, "")
    for short, full in (abbreviations or {}).items():
        text = re.sub(rf"{re.escape(short)}(?!\w)", full, text, flags=re.IGNORECASE)
    return code_from_name(text).replace("-", "")
