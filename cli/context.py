"""The settings of one command-line run: built once, in the root command, from the
environment, and handed to every command through the command context."""

from __future__ import annotations

from typer.main import get_current_context

from web.settings import Settings


def current_settings() -> Settings:
    """The run's settings (built on first use when a command is invoked on its own)."""
    root = get_current_context().find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings()
    return root.obj
