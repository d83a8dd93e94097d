#!/usr/bin/env bash
# Install everything this repository needs on a Debian 12 machine: system packages (apt) and a
# Python venv in .venv with the project and its dev/kit extras. Safe to re-run; skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# libmariadb-dev/pkg-config: build mysqlclient. mariadb-client: tests and dumps.
# podman/runc/debootstrap/uidmap: the lab of hosts. mydumper/percona-toolkit/zstd: DB migration.
# swig/libssl-dev: build M2Crypto for the real DIRAC client (scripts/dirac-client.sh, tests/compat).
APT_PACKAGES=(
  build-essential pkg-config libmariadb-dev mariadb-client mariadb-server
  podman runc debootstrap uidmap slirp4netns fuse-overlayfs iproute2
  golang-github-containernetworking-plugin-dnsname
  openssh-client mydumper percona-toolkit zstd
  swig libssl-dev
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The tests use the MariaDB at 127.0.0.1:3306; start it if the machine has it stopped.
if ! mariadb-admin --protocol=tcp -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  echo "setup: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  for _ in $(seq 1 30); do
    mariadb-admin --protocol=tcp -h 127.0.0.1 -uroot ping >/dev/null 2>&1 && break
    sleep 1
  done
fi

PYTHON="${PYTHON:-python3}"
stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev,kit,mariadb]'
  touch "$stamp"
fi
echo "setup: ready (.venv)"
