"""Errors of the analysis layer, split by what the caller did wrong (the web maps them to 404 and
422, the command line prints them as one line)."""

from __future__ import annotations

from spatial.errors import SozialraumError


class LayerError(SozialraumError):
    """A request the analysis layer cannot answer as asked."""


class NotFound(LayerError):
    """An unknown region system, level, region, indicator or period."""


class NotComputable(LayerError):
    """The request is understood but the data or the indicator's rules do not allow it."""

    def __init__(self, message: str, *, published_at: str | None = None) -> None:
        super().__init__(message)
        self.published_at = published_at  # the level name where a rule-'none' value exists


class InvalidParameter(LayerError):
    """A parameter outside what the method allows (e.g. 12 classes, unknown method)."""
