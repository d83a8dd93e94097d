"""Certificate DN -> Caller lookups in a large Registry: indexed snapshot vs a fresh scan per request.

Baseline (same run): a new Registry per lookup, i.e. a scan of every /Registry/Users entry, which
is what an unindexed lookup costs. Run: .venv/bin/python bench/registry_lookup.py [users]
"""

from __future__ import annotations

import sys
import time

from dirac_core.auth.registry import Registry
from dirac_core.config.cfg import Config
from dirac_core.config.tree import tree_to_cfg


def main() -> None:
    n_users = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    users = {f"u{i}": {"DN": f"/O=DIRAC/OU=users/CN=u{i}", "ID": f"sub-{i}"} for i in range(n_users)}
    groups = {f"g{j}": {"Users": list(users)[j::5], "Properties": ["NormalUser"], "VO": "egi"} for j in range(5)}
    config = Config.from_text(tree_to_cfg({"Registry": {"Users": users, "Groups": groups}}))
    last = f"/O=DIRAC/OU=users/CN=u{n_users - 1}"

    scans = 10
    start = time.perf_counter()
    for _ in range(scans):
        Registry(config).caller_for_dn(last)
    scan_ms = 1000 * (time.perf_counter() - start) / scans

    registry = Registry(config)
    registry.caller_for_dn(last)  # build the index once
    lookups = 2000
    start = time.perf_counter()
    for _ in range(lookups):
        registry.caller_for_dn(last)
    indexed_ms = 1000 * (time.perf_counter() - start) / lookups

    print(f"users: {n_users}")
    print(f"baseline: scan per lookup   {scan_ms:9.3f} ms")
    print(f"indexed snapshot lookup     {indexed_ms:9.3f} ms")
    print(f"speed-up: {scan_ms / indexed_ms:.0f}x")


if __name__ == "__main__":
    main()
