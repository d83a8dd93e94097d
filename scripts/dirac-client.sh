#!/usr/bin/env bash
# Install the real DIRAC client (the DIRAC package from PyPI) into its own venv, cached by version,
# outside the repository, and print that venv's python on the last line of stdout.
#
#   scripts/dirac-client.sh [VERSION]        # default 9.1.22; 8.0.x works the same way
#
# Cache: ${DIRAC_CLIENT_CACHE:-${XDG_CACHE_HOME:-~/.cache}/dirac-kit/dirac-client}/<VERSION>.
# Safe to re-run: a finished venv (its .installed stamp) is reused as is.
#
# Why not plain `pip install DIRAC`: its requirement gfal2-python does not build against Debian 12's
# gfal2 (and is only used for storage access), so we install DIRAC's other requirements, read from
# the wheel's own METADATA, then DIRAC itself with --no-deps. tornado~=5.1.1 (DIRAC's `server` extra)
# is added because DIRAC's token client imports it. M2Crypto needs swig and libssl-dev from apt
# (listed in scripts/setup.sh).
set -euo pipefail

version="${1:-9.1.22}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "dirac-client: '$version' is not a DIRAC release number; give one like 9.1.22 or 8.0.60" >&2
  exit 2
fi
python="${DIRAC_CLIENT_PYTHON:-python3.11}"
cache="${DIRAC_CLIENT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dirac-kit/dirac-client}"
venv="$cache/$version"
stamp="$venv/.installed"
# Requirements of DIRAC that the client cannot install here or does not need.
skip_requirements='^(gfal2-python)$'
extra_requirements=("tornado~=5.1.1")

if [ -f "$stamp" ] && [ -x "$venv/bin/python" ]; then
  echo "$venv/bin/python"
  exit 0
fi

for pkg in swig libssl-dev; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    echo "dirac-client: the system package '$pkg' is missing (M2Crypto needs it); run scripts/setup.sh" >&2
    exit 1
  fi
done
if ! command -v "$python" >/dev/null; then
  echo "dirac-client: '$python' not found; DIRAC $version needs Python 3.11 (set DIRAC_CLIENT_PYTHON)" >&2
  exit 1
fi

echo "dirac-client: installing DIRAC $version into $venv" >&2
rm -rf "$venv"
mkdir -p "$cache"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip wheel >&2
"$venv/bin/pip" download -q --no-deps --dest "$work" "DIRAC==$version" >&2
wheel=("$work"/[Dd][Ii][Rr][Aa][Cc]-"$version"-*.whl)
# The requirements without an extra marker are what `pip install DIRAC` would install.
"$venv/bin/python" - "${wheel[0]}" "$skip_requirements" >"$work/requirements.txt" <<'EOF'
import re, sys, zipfile
from email.parser import Parser

wheel, skip = sys.argv[1], re.compile(sys.argv[2], re.IGNORECASE)
with zipfile.ZipFile(wheel) as archive:
    metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    message = Parser().parsestr(archive.read(metadata).decode())
for requirement in message.get_all("Requires-Dist") or []:
    spec, _, marker = requirement.partition(";")
    name = re.split(r"[\s<>=!~\[(]", spec.strip(), maxsplit=1)[0]
    if "extra ==" in marker or skip.match(name):
        continue
    print(requirement.strip())
EOF
printf '%s\n' "${extra_requirements[@]}" >>"$work/requirements.txt"
"$venv/bin/pip" install -q -r "$work/requirements.txt" >&2
"$venv/bin/pip" install -q --no-deps "${wheel[0]}" >&2
"$venv/bin/python" -c "import DIRAC, M2Crypto, tornado" >&2
touch "$stamp"
echo "dirac-client: DIRAC $version ready" >&2
echo "$venv/bin/python"
