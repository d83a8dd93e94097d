"""RPC/REST call rate over HTTPS against a real `dirac-core serve` process (demo component).

Baseline measured in the same run: one new TLS connection per call (what a client without
keep-alive pays). Run: .venv/bin/python bench/rpc_throughput.py [calls]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dirac_core.client.http import ServiceClient
from tests.support.instance import running_instance

NAME = "Demo/Items"


def rate(label: str, calls: int, func: object) -> float:
    assert callable(func)
    start = time.perf_counter()
    for _ in range(calls):
        func()
    elapsed = time.perf_counter() - start
    per_second = calls / elapsed
    print(f"{label:<44} {calls:>6} calls  {per_second:>8.1f} calls/s  {1000 * elapsed / calls:>7.2f} ms/call")
    return per_second


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp, running_instance(Path(tmp), ["tests.support.demo:DEMO"]) as inst:
        token = inst.token("alice")

        def new_connection_ping() -> None:
            with ServiceClient(inst.url(NAME), token=token, ca_bundle=inst.ca_file) as client:
                client.rpc("ping")

        baseline = rate("baseline: RPC ping, new TLS connection each", max(20, calls // 5), new_connection_ping)
        with ServiceClient(inst.url(NAME), token=token, ca_bundle=inst.ca_file) as client:
            rpc = rate("RPC ping, keep-alive (token auth)", calls, lambda: client.rpc("ping"))
            rpc_db = rate("RPC countItems, keep-alive (SQLite read)", calls, lambda: client.rpc("countItems"))
            rest = rate("REST GET items/count, keep-alive", calls, lambda: client.request("GET", "items/count"))
        with ServiceClient(inst.url(NAME), cert=inst.user_cert("alice"), ca_bundle=inst.ca_file) as client:
            cert = rate("RPC ping, keep-alive (client certificate)", calls, lambda: client.rpc("ping"))
        print(f"keep-alive / new-connection ratio (RPC ping): {rpc / baseline:.1f}x")
        print(f"REST / RPC ratio: {rest / rpc_db:.2f}; cert / token auth ratio: {cert / rpc:.2f}")


if __name__ == "__main__":
    main()
