"""CRS names as clients write them (``EPSG:<code>``, a bare code, OGC URIs, ``CRS84``) → EPSG
codes, and the rule which CRS data may be exchanged in: WGS 84 or a projected CRS."""

from __future__ import annotations

import re

from pyproj import CRS
from pyproj.exceptions import CRSError

from spatial.errors import SozialraumError

_CRS84 = ("CRS84", "OGC:CRS84", "WGS84", "HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84")
_EPSG = re.compile(
    r"(?:EPSG:+|URN:OGC:DEF:CRS:EPSG::|HTTPS?://WWW\.OPENGIS\.NET/DEF/CRS/EPSG/0/)?(\d{4,6})"
)


class UnknownCrs(SozialraumError):
    """A CRS that is not known or not offered."""


def epsg_code(raw: str) -> int:
    """The EPSG code of a CRS name; WGS 84 (4326) or a projected CRS, else :class:`UnknownCrs`."""
    text = raw.strip().strip("<>").upper()
    if text in _CRS84:
        return 4326
    found = _EPSG.fullmatch(text)
    if found is None:
        raise UnknownCrs(f"crs {raw!r}: give an EPSG code such as EPSG:4326")
    srid = int(found.group(1))
    try:
        crs = CRS.from_epsg(srid)
    except CRSError:
        raise UnknownCrs(f"unknown CRS EPSG:{srid}") from None
    if srid != 4326 and not crs.is_projected:
        raise UnknownCrs(f"EPSG:{srid} is neither WGS 84 (EPSG:4326) nor a projected CRS")
    return srid
