#!/usr/bin/env bash
# Run molecule for one role against the lab's container engine:
#   scripts/molecule.sh ROLE [molecule args...]      e.g. scripts/molecule.sh dirac_mariadb test
# Starts (or reuses) the engine the lab uses - Docker if one answers, else podman's Docker-compatible
# API service with the project's containers.conf - and makes sure the cached lab host image
# dirac-lab-host:latest exists (`dirac-kit lab build`), then runs molecule in roles/ROLE with
# DOCKER_HOST pointing at that engine. Scenario containers are named molecule-<role>: they never
# collide with lab hosts, and the default lab is left alone.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
role="${1:?usage: scripts/molecule.sh ROLE [molecule args...] (ROLE: a directory of roles/)}"
shift
[ -d "$repo/roles/$role/molecule" ] || { echo "molecule.sh: no scenario in roles/$role/molecule" >&2; exit 2; }
venv_bin="${DIRAC_KIT_VENV_BIN:-$repo/.venv/bin}"
[ -x "$venv_bin/python" ] || venv_bin="$(dirname "$(command -v python3)")"
export PATH="$venv_bin:$PATH"  # molecule calls ansible-config, ansible-playbook and pytest from PATH
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export CONTAINERS_CONF="$repo/etc/containers/containers.conf"
# Every scenario converges its container through the engine's API (connection community.docker.docker_api,
# the docker SDK): with the lab's podman no docker CLI is needed.
# The lab's engine helper prints the engine URL (and builds the cached image when missing).
DOCKER_HOST="$(python -m dirac_kit lab engine --quiet)"
export DOCKER_HOST
# testinfra (the verify step) execs through the engine's CLI: podman's for the lab's podman service,
# docker's for a Docker engine.
if [ "$DOCKER_HOST" = "unix:///run/podman/podman.sock" ]; then DIRAC_TESTINFRA_BACKEND=podman; else DIRAC_TESTINFRA_BACKEND=docker; fi
export DIRAC_TESTINFRA_BACKEND
cd "$repo/roles/$role"
exec molecule "$@"
