#!/usr/bin/env bash
# tipg, the peer the service benchmarks compare with, in its own environment (.venv-tipg): its
# dependency pins are its own and must not move ours.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
PEER=("tipg==1.6.1" "uvicorn>=0.29")
if "$PYTHON" -m uv --version >/dev/null 2>&1; then
  test -x .venv-tipg/bin/python || "$PYTHON" -m uv venv -q --python "$PYTHON" .venv-tipg
  "$PYTHON" -m uv pip install -q --python .venv-tipg/bin/python "${PEER[@]}"
else
  test -x .venv-tipg/bin/python || "$PYTHON" -m venv .venv-tipg
  .venv-tipg/bin/pip install --quiet --disable-pip-version-check "${PEER[@]}"
fi
