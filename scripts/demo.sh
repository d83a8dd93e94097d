#!/usr/bin/env bash
# The main job, embedded edition: a whole dirac_core instance on localhost (SQLite, self-signed CA),
# a user who logs in and submits jobs with input sandboxes, two pilots that run them, the outputs
# fetched back and a summary table. Everything is stopped on exit (also on Ctrl-C or an error).
#
#   make demo                       # or: bash scripts/demo.sh
#   DEMO_KEEP=1 make demo           # keep the state directory (certs, dirac.cfg, DBs, logs, outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
VENV=${VENV:-$REPO/.venv}
DIRAC_CORE=("$VENV/bin/dirac-core")
DIRAC=("$VENV/bin/dirac")
PY="$VENV/bin/python"
EXAMPLES=$REPO/etc/examples/jobs
SITE=DIRAC.Local.ch
export COLUMNS=${COLUMNS:-120}  # rich tables: room for URLs and times when not on a terminal

STATE=$(mktemp -d "${TMPDIR:-/tmp}/dirac-demo.XXXXXX")
export DIRAC_CFG=$STATE/dirac.cfg DIRAC_TOKEN_FILE=$STATE/token
UP_PID=""
PILOT_PIDS=()

step() { printf '\n\033[1;34m==> %s\033[0m\n' "$*"; }

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PILOT_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ -n $UP_PID ]] && kill -0 "$UP_PID" 2>/dev/null; then
        step "stopping the instance"
        kill -TERM "$UP_PID" 2>/dev/null || true
        wait "$UP_PID" 2>/dev/null || true
    fi
    if [[ $status -ne 0 ]]; then
        echo "demo failed (status $status); logs in $STATE/log" >&2
        tail -n 20 "$STATE"/up.err "$STATE"/pilot-*.log 2>/dev/null >&2 || true
    elif [[ ${DEMO_KEEP:-0} == 1 ]]; then
        echo "state kept in $STATE"
    else
        rm -rf "$STATE"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "starting an embedded instance in $STATE (dirac-core up: CA, certificates, SQLite, IdP, services)"
: >"$STATE/up.out"
"${DIRAC_CORE[@]}" up --state-dir "$STATE" --port-base 0 >"$STATE/up.out" 2>"$STATE/up.err" &
UP_PID=$!
for _ in $(seq 1 180); do
    grep -q '^READY ' "$STATE/up.out" 2>/dev/null && break
    kill -0 "$UP_PID" 2>/dev/null || { cat "$STATE/up.err" >&2; exit 1; }
    sleep 0.5
done
grep -q '^READY ' "$STATE/up.out" || { echo "instance not ready after 90 s" >&2; exit 1; }
sed -n '/services/,/test IdP/p' "$STATE/up.err"

step "dirac login (device code; the demo approves it at the test IdP as alice)"
: >"$STATE/login.out"
"${DIRAC[@]}" login >"$STATE/login.out" 2>&1 &
LOGIN_PID=$!
for _ in $(seq 1 60); do
    CODE=$(sed -n 's/.*enter the code \([A-Z0-9-]*\).*/\1/p' "$STATE/login.out")
    [[ -n $CODE ]] && break
    sleep 0.5
done
[[ -n ${CODE:-} ]] || { cat "$STATE/login.out" >&2; exit 1; }
head -n 1 "$STATE/login.out"
"$PY" - "$CODE" <<'EOF'
import sys

import httpx

from dirac_core.client.config import load_client_config

config = load_client_config()
issuer = config.get("/Resources/IdProviders/TestIdP/Issuer")
reply = httpx.post(
    f"{issuer}/device/approve",
    data={"user_code": sys.argv[1], "username": "alice"},
    verify=config.get("/DIRAC/Security/CAFile"),
)
reply.raise_for_status()
print(f"approved {sys.argv[1]} as alice at {issuer}")
EOF
wait "$LOGIN_PID"
tail -n 1 "$STATE/login.out"
"${DIRAC[@]}" whoami

step "submitting jobs with input sandboxes ($EXAMPLES)"
"${DIRAC[@]}" jobs submit "$EXAMPLES/parametric.jdl" --ids-file "$STATE/ids.parametric"
"${DIRAC[@]}" jobs submit "$EXAMPLES/hello.jdl" --bulk 30 --ids-file "$STATE/ids.bulk"
mapfile -t IDS < <(cat "$STATE/ids.parametric" "$STATE/ids.bulk")
"${DIRAC[@]}" jobs summary

step "running 2 pilots at $SITE until no job is left"
PILOT_CERT=$STATE/certs/hosts/pilot.localhost
for n in 1 2; do
    "${DIRAC_CORE[@]}" pilot --site "$SITE" --cert "$PILOT_CERT/hostcert.pem" --key "$PILOT_CERT/hostkey.pem" \
        --heartbeat 5 --log-level warning >"$STATE/pilot-$n.out" 2>"$STATE/pilot-$n.log" &
    PILOT_PIDS+=($!)
done
for pid in "${PILOT_PIDS[@]}"; do wait "$pid"; done
PILOT_PIDS=()
cat "$STATE"/pilot-*.out
"${DIRAC[@]}" jobs wait "${IDS[@]}" --timeout 60

step "fetching the output sandboxes"
"${DIRAC[@]}" jobs get-output "${IDS[@]}" --dir "$STATE/outputs"
"${DIRAC[@]}" jobs logging "${IDS[0]}"
for id in "${IDS[0]}" "${IDS[1]}" "${IDS[-1]}"; do cat "$STATE/outputs/$id/result.txt"; done

step "summary"
"${DIRAC[@]}" jobs summary --by Status --by Site
DONE=$("$PY" - "${IDS[@]}" <<'EOF'
import sys

from dirac_core.client.jobs import JobsClient

with JobsClient() as jobs:
    statuses = jobs.status(int(i) for i in sys.argv[1:])
print(sum(1 for s in statuses.values() if s["Status"] == "Done"))
EOF
)
if [[ $DONE -ne ${#IDS[@]} ]]; then
    echo "only $DONE of ${#IDS[@]} jobs are Done" >&2
    exit 1
fi
for id in "${IDS[@]}"; do
    grep -q "^job $id (parameter" "$STATE/outputs/$id/result.txt" || { echo "job $id: wrong output" >&2; exit 1; }
done
echo "all ${#IDS[@]} jobs Done, every output checked (DEMO_KEEP=1 keeps $STATE)"
