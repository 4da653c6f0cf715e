"""The error type every layer raises for problems a user can fix; the CLI prints it as one line."""


class SozialraumError(Exception):
    """A user-facing error with a one-line message (no traceback needed to understand it)."""
