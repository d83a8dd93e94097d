"""Merge a CFG overlay into a CFG layer file on a DIRAC host (overlay values win).

    python cfg_merge.py LAYER_FILE OVERLAY_FILE [--backup SUFFIX]

Run with the release's Python (it has diraccfg). The result is parsed back before it replaces the
file (atomically); with --backup the first original is kept as LAYER_FILE+SUFFIX (never
overwritten, so a rollback restores what was there before the migration). Prints "changed" or
"unchanged".
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from diraccfg import CFG


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("layer", type=Path)
    parser.add_argument("overlay", type=Path)
    parser.add_argument("--backup", default="")
    args = parser.parse_args()
    base = CFG().loadFromBuffer(args.layer.read_text()) if args.layer.exists() else CFG()
    merged = CFG().loadFromBuffer(str(base.serialize())).mergeWith(CFG().loadFromBuffer(args.overlay.read_text()))
    text = str(merged.serialize())
    if args.layer.exists() and str(base.serialize()) == text:
        print("unchanged")
        return 0
    CFG().loadFromBuffer(text)  # refuse to write what does not parse
    if args.backup and args.layer.exists():
        backup = args.layer.with_name(args.layer.name + args.backup)
        if not backup.exists():
            shutil.copy2(args.layer, backup)
    tmp = args.layer.with_name(args.layer.name + ".tmp")
    tmp.write_text(text)
    if args.layer.exists():
        shutil.copystat(args.layer, tmp)
        st = args.layer.stat()
        os.chown(tmp, st.st_uid, st.st_gid)
    tmp.replace(args.layer)
    print("changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
