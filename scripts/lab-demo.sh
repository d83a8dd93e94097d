#!/usr/bin/env bash
# Issue 6 demo: the two-stage migration of EGI and FG, in the lab, with the operator's tools.
#
#   scripts/lab-demo.sh            # lab up, old site deployed and loaded, stage 1, stage 2, report
#   DEMO_FILES=2000 DEMO_JOBS=100 scripts/lab-demo.sh     # a lighter load
#   KEEP_LAB=1 scripts/lab-demo.sh # leave the lab running afterwards (dirac-kit lab down removes it)
#
# Everything goes through the kit: dirac-kit lab, ansible-playbook site.yml, dirac-kit runbook run
# (which runs the step playbooks playbooks/stage1-*.yml / stage2-*.yml one by one, with markers), and the
# DIRAC CLIs on the lab hosts for the activity. At the end it prints where the HTML report is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
[ -x "$VENV/bin/dirac-kit" ] || { echo "lab-demo: no venv at $VENV: run make setup first" >&2; exit 2; }
export PATH="$VENV/bin:$PATH"  # as an operator with the kit's venv activated; the kit sets up the rest
INV=inventories/lab
VAULT=$(ls "$INV"/vault-password.lab* 2>/dev/null | head -1)
VAULT_ARGS=(--vault-id "lab@$VAULT")
FILES=${DEMO_FILES:-10000}
JOBS=${DEMO_JOBS:-1000}
PILOTS=${DEMO_PILOTS:-4}
LAB=${DIRAC_LAB_NAME:-lab}
# The kit keeps this lab's runbook state, step markers and engine reports in var/<lab>/runs/lab/
# (dirac_kit/state.py); `lab down` forgets the markers of the hosts it removes.
RUN_DIR=var/$LAB/runs/lab
STATE=$RUN_DIR/runbooks

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
cleanup() { [ -n "${KEEP_LAB:-}" ] || dirac-kit lab down || true; }
trap cleanup EXIT

say "1/6 lab up: old site (cyf-dirac01/02, cyf-db01) and new site (ccdiracli07-11, ccdiracdb01)"
dirac-kit lab up

say "2/6 deploy EGI and FG on the old site"
ansible-playbook -i "$INV" "${VAULT_ARGS[@]}" playbooks/site.yml --limit cyfronet

say "3/6 real activity on the old site: $FILES files per instance with replicas and metadata, $JOBS jobs run by $PILOTS pilots"
dirac-kit lab load --files "$FILES" --jobs "$JOBS" --pilots "$PILOTS"

say "4/6 stage 1: runbook rendered from the real inventory, then run step by step (markers, resumable)"
dirac-kit runbook render stage1 -i "$INV"
time dirac-kit runbook run stage1 -i "$INV" --yes-i-really-mean-it

say "5/6 stage 2: shared configuration layer and shared services"
time dirac-kit runbook run stage2 -i "$INV" --yes-i-really-mean-it

say "6/6 where things are"
dirac-kit ops status -i "$INV" || true
echo
echo "HTML runbook reports (steps, durations, freeze windows, verify reports):"
echo "  $ROOT/$STATE/stage1/stage1.html"
echo "  $ROOT/$STATE/stage2/stage2.html"
echo "Engine reports: $ROOT/$RUN_DIR/reports/   Step markers: $ROOT/$RUN_DIR/markers/"
