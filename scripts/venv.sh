#!/usr/bin/env bash
# Create .venv and install the project with its pinned dependencies; skipped when up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[[ -x .venv/bin/python ]] || "$PYTHON" -m venv .venv

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -f "$stamp" ]]; then
  echo "Installing dependencies into .venv (torch comes from this machine's disk)..."
  .venv/bin/pip install -q --upgrade pip
  # torch first, pinned, so that no other package pulls a different build from the net.
  .venv/bin/pip install -q torch==2.14.1 torchvision==0.29.1
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
