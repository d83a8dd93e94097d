"""python -m dirac_core.contract --check | --write: the repository files derived from the contract.

Run from the repository root: --write regenerates playbooks/vars/components.yml and the docs tables,
--check exits 1 naming each stale one (the tests run the same check).
"""

from __future__ import annotations

import sys
from pathlib import Path

from dirac_core.contract.ansible import VARS_FILE, components_vars_text
from dirac_core.contract.docs import stale_tables, write_tables


def stale_files(root: Path) -> list[str]:
    stale = stale_tables(root)
    vars_file = root / VARS_FILE
    if not vars_file.is_file() or vars_file.read_text(encoding="utf-8") != components_vars_text():
        stale.insert(0, VARS_FILE)
    return stale


def main(argv: list[str]) -> int:
    root = Path.cwd()
    if argv == ["--write"]:
        (root / VARS_FILE).write_text(components_vars_text(), encoding="utf-8")
        write_tables(root)
        return 0
    if argv == ["--check"]:
        stale = stale_files(root)
        for rel in stale:
            print(f"stale: {rel}: run python -m dirac_core.contract --write", file=sys.stderr)
        return 1 if stale else 0
    print("usage: python -m dirac_core.contract --check | --write (in the repository root)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
