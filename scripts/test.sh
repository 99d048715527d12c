#!/usr/bin/env bash
# The test command of the README: installs what it needs, builds the package, runs the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k parsers).
set -euo pipefail
source "$(dirname "$0")/_common.sh"
cd "$ROOT"
ensure_system_packages
ensure_venv
install_package test
log "running pytest"
exec python -m pytest -ra "$@"
