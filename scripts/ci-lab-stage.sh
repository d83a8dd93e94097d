#!/usr/bin/env bash
# CI stage "lab": every test marked `lab` but not `slow` on the lab of this machine - tests/lab (the lab
# itself), tests/ansible: the molecule scenario of each role, the site acceptance on the new site
# (deploy, no-change rerun, --check --diff, verify.yml for EGI and FG, testinfra) and prechecks.
# The `slow` lab test (tests/e2e: both sites, stage 1 with kills, rollback, stage 2) is CI's last stage:
#   bash scripts/ci-lab-stage.sh [pytest args...]       (.ci/run calls it after `make test`)
#   bash scripts/ci-lab-stage.sh --e2e [pytest args...] (then .ci/run's e2e stage; the test brings up
#                                                        and tears down its own lab of both sites)
# 1. builds the lab host image (cached: seconds when the recipe did not change, ~2 min cold),
# 2. builds the controller wheelhouse of this checkout once (the scenarios and the deploy share it),
# 3. brings up the new site's hosts (tests/ansible/test_site_lab.py deploys site.yml on them),
# 4. runs pytest: the molecule scenarios run in the background, DIRAC_MOLECULE_JOBS (default 3) at a
#    time, while the site tests use the lab; 5. ALWAYS tears the lab down (trap): nothing keeps running.
# DIRAC_LAB_NAME=<name> runs the stage on a lab of its own beside a developer's default lab.
set -euo pipefail
e2e=false
if [ "${1:-}" = "--e2e" ]; then e2e=true; shift; fi
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
venv_bin="${DIRAC_KIT_VENV_BIN:-$repo/.venv/bin}"
[ -x "$venv_bin/python" ] || { echo "ci-lab-stage: no venv at $venv_bin: run scripts/setup.sh first" >&2; exit 2; }
export DIRAC_KIT_VENV_BIN="$venv_bin"
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
  # The e2e test takes its own lab down: then there is nothing left, which is not a failure.
  if ! out="$(python -m dirac_kit lab down 2>&1)"; then
    case "$out" in
      *"there is no lab named"*) echo "ci-lab-stage: lab $DIRAC_LAB_NAME is already down" ;;
      *) echo "$out"; echo "ci-lab-stage: lab down failed (see above)" >&2 ;;
    esac
  else
    echo "$out"
  fi
  step "done, exit $rc"
  exit "$rc"
}
trap teardown EXIT
trap 'exit 143' TERM  # a killed stage must not end with the status of its last command (0)
trap 'exit 130' INT

step "lab image"
python -m dirac_kit lab build
step "controller wheelhouse (playbooks/wheelhouse.yml)"
mkdir -p var
ansible-playbook -i localhost, playbooks/wheelhouse.yml >var/wheelhouse.log 2>&1 || {
  cat var/wheelhouse.log; echo "ci-lab-stage: building the wheelhouse failed (log above)" >&2; exit 1; }
if $e2e; then
  markers="slow and lab"
  set -- tests/e2e "$@"
else
  step "lab up (new site)"
  python -m dirac_kit lab up --site new
  markers="${DIRAC_LAB_MARKERS:-lab and not slow}"
fi
step "pytest -m '$markers'"
# -s: the figures the tests print (site.yml times, molecule time per role) appear in the CI log.
python -m pytest -m "$markers" -p no:cacheprovider -s --durations=0 "$@"
