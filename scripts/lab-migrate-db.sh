#!/usr/bin/env bash
# The database part of stage 1 (and its rollback) in a lab of two DB hosts, measured.
#
#   scripts/lab-migrate-db.sh [FILES JOBS ACCOUNTING_ROWS]     # default 10000 1000 200000
#
# A named lab (DIRAC_LAB_NAME, default `dbmig`) with only cyf-db01 and ccdiracdb01, beside any other
# lab (own ansible SSH control-path directory). dirac_mariadb on both, EGI data loaded on the old
# one, a writer keeps inserting as a service would; then the step playbook `stage1-migrate-db.yml`
# (the earlier steps need service hosts, none here), independent checks (row counts, CHECKSUM TABLE,
# JobID floor), a write on the new site, the step playbook `rollback-carry-back.yml`, and the checks again.
# Prints the freeze windows. EGI_MODE=replicate|frozen (default frozen, see docs/migration.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
[ -x "$VENV/bin/dirac-kit" ] || { echo "lab-migrate-db: no venv at $VENV: run make setup first" >&2; exit 2; }
export PATH="$VENV/bin:$PATH" PYTHONPATH="$ROOT" ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export DIRAC_LAB_NAME=${DIRAC_LAB_NAME:-dbmig}
WORK=$ROOT/var/$DIRAC_LAB_NAME-run
export DIRAC_LAB_SSH_CONFIG=$ROOT/var/$DIRAC_LAB_NAME/ssh_config
export ANSIBLE_SSH_CONTROL_PATH_DIR=$WORK/ansible-cp
export DIRAC_MIGRATION_REPORT_ROOT=$WORK/reports
FILES=${1:-10000} JOBS=${2:-1000} ROWS=${3:-200000} MODE=${EGI_MODE:-frozen}
INV=$WORK/inv
rm -rf "$WORK" && mkdir -p "$WORK" "$ANSIBLE_SSH_CONTROL_PATH_DIR"
cp -r inventories/lab "$INV"
VAULT=$(ls "$INV"/vault-password.lab* | head -1)
ANS=(-i "$INV" --vault-id "lab@$VAULT")

# Only the DB hosts; the EGI plan without the Job DBs nobody created and without repopulate.
cat > "$INV/hosts.yml" <<'YML'
all:
  children:
    cyfronet: {hosts: {cyf-db01: }}
    cc_in2p3: {hosts: {ccdiracdb01: }}
    egi: {hosts: {}}
    fg: {hosts: {}}
    diracservers: {children: {egi: , fg: }}
    configservers: {hosts: {}}
    dbservers: {hosts: {cyf-db01: , ccdiracdb01: }}
YML
cat > "$INV/group_vars/all/zz-run.yml" <<YML
dirac_migration_instances: [egi]
dirac_migration_plans:
  egi:
    source: "{{ _lab_migration_source }}"
    target: "{{ _lab_migration_target }}"
    cutover_mode: $MODE
    databases:
      - {name: JobDB, target_name: egi_JobDB, source_name: egi_JobDB, strategy: reset, keep_ids_above_source: true}
      - {name: egi_AccountingDB, strategy: copy}
      - {name: egi_FileCatalogDB, strategy: copy}
YML

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
on() { ssh -o ControlPath=none -F "$DIRAC_LAB_SSH_CONFIG" "$@"; }
cleanup() { [ -f "$WORK/writer.pid" ] && kill "$(cat "$WORK/writer.pid")" 2>/dev/null || true
            [ -n "${KEEP_LAB:-}" ] || python -m dirac_kit lab down || true; }
trap cleanup EXIT

say "lab $DIRAC_LAB_NAME: two DB hosts"
python -m dirac_kit lab up -i "$INV"
OLD=$(awk '/^Host cyf-db01/{f=1} f&&/HostName/{print $2; exit}' "$DIRAC_LAB_SSH_CONFIG")

say "MariaDB on both (dirac_mariadb) and the engine's account"
cat > playbooks/.lab-migrate-db-setup.yml <<'YML'
- name: MariaDB and the migration account on the DB hosts
  hosts: dbservers
  become: true
  roles: [dirac_mariadb]
  tasks:
    - name: Migration account
      ansible.builtin.include_role: {name: dirac_migration, tasks_from: db_account}
YML
ansible-playbook "${ANS[@]}" playbooks/.lab-migrate-db-setup.yml; rm -f playbooks/.lab-migrate-db-setup.yml

say "old site data: $FILES files, $JOBS jobs, $ROWS accounting rows; a writer keeps inserting"
python scripts/lab_migration/load_old_db.py "$OLD" "$FILES" "$JOBS" "$ROWS"
python scripts/lab_migration/writer.py "$OLD" "$WORK/writer.log" & echo $! > "$WORK/writer.pid"
sleep 3

say "stage 1, migrate-db ($MODE)"
start=$(date +%s)
ansible-playbook "${ANS[@]}" playbooks/stage1-migrate-db.yml -e dirac_migration_confirm=true
echo "migrate-db step wall time: $(( $(date +%s) - start )) s"
kill "$(cat "$WORK/writer.pid")"; rm -f "$WORK/writer.pid"; sleep 1
tail -1 "$WORK/writer.log"

check() {
  for h in cyf-db01 ccdiracdb01; do
    echo "-- $h"
    on "$h" "mysql -N -e \"SELECT COUNT(*), MAX(id) FROM egi_AccountingDB.ac_bucket_demo;
      CHECKSUM TABLE egi_AccountingDB.ac_bucket_demo, egi_FileCatalogDB.FC_Files, egi_FileCatalogDB.FC_Replicas;
      SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA='egi_JobDB' AND TABLE_NAME='JobJDLs';
      SELECT @@global.read_only\""
  done
}
say "independent checks (same MariaDB version on both: CHECKSUM TABLE compares)"
check

say "a write on the new site after the cutover, then the rollback's carry-back"
on ccdiracdb01 "mysql -e \"INSERT INTO egi_AccountingDB.ac_bucket_demo (setup, start_time, entries) VALUES ('EGI-CC', 1, 7)\""
ansible-playbook "${ANS[@]}" playbooks/rollback-carry-back.yml -e dirac_migration_confirm=true
check
say "freeze windows"
on ccdiracdb01 "grep -h freeze_seconds /opt/dirac/migrate/stage1-fingerprint.json" || true
grep -rh "freeze window" "$WORK/reports" 2>/dev/null || true
