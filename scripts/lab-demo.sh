#!/usr/bin/env bash
# Issue 6 demo: the two-stage migration of EGI and FG, in the lab, with the operator's tools.
#
#   scripts/lab-demo.sh            # lab up, old site deployed and loaded, stage 1, stage 2, report
#   DEMO_FILES=2000 DEMO_JOBS=100 scripts/lab-demo.sh     # a lighter load
#   KEEP_LAB=1 scripts/lab-demo.sh # leave the lab running afterwards (dirac-kit lab down removes it)
#
# Everything goes through the kit: dirac-kit lab, ansible-playbook site.yml, dirac-kit runbook run
# (which calls playbooks/migrate-stage1.yml / migrate-stage2.yml step by step, with markers), and the
# DIRAC CLIs on the lab hosts for the activity. At the end it prints where the HTML report is.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
[ -x "$VENV/bin/dirac-kit" ] || { echo "lab-demo: no venv at $VENV: run make setup first" >&2; exit 2; }
export PATH="$VENV/bin:$PATH" PYTHONPATH="$ROOT" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
INV=inventories/lab
VAULT=$(ls "$INV"/vault-password.lab* 2>/dev/null | head -1)
VAULT_ARGS=(--vault-id "lab@$VAULT")
FILES=${DEMO_FILES:-10000}
JOBS=${DEMO_JOBS:-1000}
STATE=var/runbooks
# All layer files in name order, as the services load them (dirac.cfg alone is the host layer: no Setup).
CFG='DIRAC_CFG=$(ls /opt/dirac/etc/layers/*.cfg | paste -sd:)'
DIRAC="sudo -u dirac env $CFG /opt/dirac/pro/bin/dirac"
DIRAC_CORE="sudo -u dirac env $CFG /opt/dirac/pro/bin/dirac-core"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
on() { local host=$1; shift; dirac-kit lab ssh "$host" -- "$@"; }
cleanup() { [ -n "${KEEP_LAB:-}" ] || dirac-kit lab down || true; }
trap cleanup EXIT

say "1/6 lab up: old site (cyf-dirac01/02, cyf-db01) and new site (ccdiracli07-11, ccdiracdb01)"
dirac-kit lab up

say "2/6 deploy EGI and FG on the old site"
ansible-playbook -i "$INV" "${VAULT_ARGS[@]}" playbooks/site.yml --limit cyfronet

say "3/6 real activity on the old site: $FILES files with replicas and metadata, $JOBS jobs run by pilots"
for instance in egi fg; do
  host=$([ "$instance" = egi ] && echo cyf-dirac01 || echo cyf-dirac02)
  python3 - "$instance" "$FILES" > "var/demo-files-$instance.txt" <<'PY'
import sys
instance, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    top = "/eiscat.se/run" if instance == "egi" and i % 10 == 0 else f"/{instance}/data"
    lfn = f"{top}/d{i // 500:03d}/f{i:06d}.dat"
    print(f"{lfn} {1000 + i} CYFRONET-USER srm://cyf-se{lfn} {i:08x}")
PY
  on "$host" "cat > /tmp/files.txt" < "var/demo-files-$instance.txt"
  on "$host" "$DIRAC fc add --from-file /tmp/files.txt"
  on "$host" "$DIRAC fc meta add-field --file run int || true"
  on "$host" "$DIRAC fc meta set /$instance/data/d000/f000001.dat run=42"
  for i in 1 2 3 4 5; do  # second replicas on a few files
    on "$host" "$DIRAC fc add-replica /$instance/data/d000/f00000$i.dat IN2P3-CC-disk --pfn srm://cyf-tape/$instance/$i"
  done
  on "$host" "printf '[\n  Executable = \"/bin/true\";\n  JobName = \"demo\";\n]\n' | sudo -u dirac tee /tmp/true.jdl >/dev/null"
  on "$host" "$DIRAC jobs submit --bulk $JOBS --ids-file /tmp/jobids.txt /tmp/true.jdl"
  on "$host" "$DIRAC_CORE pilot --site ${instance^^}.CYF.pl --max-jobs $JOBS"
  on "$host" "$DIRAC jobs wait --timeout 1800 \$(cat /tmp/jobids.txt)"
done

say "4/6 stage 1: runbook rendered from the real inventory, then run step by step (markers, resumable)"
dirac-kit runbook render stage1 -i "$INV" --state-dir "$STATE"
time dirac-kit runbook run stage1 -i "$INV" --state-dir "$STATE"

say "5/6 stage 2: shared configuration layer and shared services"
time dirac-kit runbook run stage2 -i "$INV" --state-dir "$STATE"

say "6/6 where things are"
dirac-kit ops status -i "$INV" || true
echo
echo "HTML runbook reports (steps, durations, freeze windows, verify reports):"
echo "  $ROOT/$STATE/stage1/stage1.html"
echo "  $ROOT/$STATE/stage2/stage2.html"
echo "Engine reports: $ROOT/var/reports/   Step markers: $ROOT/var/markers/lab/"
