#!/usr/bin/env bash
# Create .venv with the locked Python packages (uv), falling back to pip when uv is unavailable.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python >= 3.11 is needed ($("$PYTHON" --version 2>&1) found); set PYTHON=..." >&2
  exit 1
fi
if ! "$PYTHON" -m uv --version >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv \
    || echo "note: could not install uv, using pip" >&2
fi
if "$PYTHON" -m uv --version >/dev/null 2>&1; then
  "$PYTHON" -m uv sync --frozen --extra dev --python "$PYTHON"
else
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"
fi
