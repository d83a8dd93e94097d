#!/usr/bin/env bash
# The main job, embedded edition: start every component on localhost with SQLite and a
# self-signed CA, then run jobs end to end. (Replaced by the lab migration demo as it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/dirac-core --help
