#!/usr/bin/env bash
# CI stage "lab": every test marked `lab` (tests/lab, tests/ansible: the molecule scenario of each role
# and the site acceptance on the new site, and any later lab test), on the lab of this machine.
#   bash scripts/ci-lab-stage.sh            (called from .ci/run after the default suite)
# 1. builds the lab host image (cached: seconds when the recipe did not change, ~2 min cold),
# 2. brings up the new site's hosts (tests/ansible/test_site_lab.py deploys site.yml on them),
# 3. runs `pytest -m lab`, 4. ALWAYS tears the lab down (trap), so nothing keeps running after CI.
# DIRAC_LAB_NAME=<name> runs the stage on a lab of its own beside a developer's default lab.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
venv_bin="${DIRAC_KIT_VENV_BIN:-$repo/.venv/bin}"
export PATH="$venv_bin:$PATH"
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export CONTAINERS_CONF="$repo/etc/containers/containers.conf"
export DIRAC_LAB_NAME="${DIRAC_LAB_NAME:-lab}"
export DIRAC_LAB_SSH_CONFIG="$repo/var/$DIRAC_LAB_NAME/ssh_config"

started=$(date +%s)
step() { echo "== ci-lab-stage: $* ($(( $(date +%s) - started )) s)"; }

teardown() {
  rc=$?
  step "tearing down lab $DIRAC_LAB_NAME"
  python -m dirac_kit lab down || echo "ci-lab-stage: lab down failed (see above)" >&2
  step "done, exit $rc"
  exit "$rc"
}
trap teardown EXIT

step "lab image"
python -m dirac_kit lab build
step "lab up (new site)"
python -m dirac_kit lab up --site new
step "pytest -m lab"
python -m pytest -m lab -p no:cacheprovider --durations=0 "$@"
