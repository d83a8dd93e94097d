"""Plans and engine runs for the migration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.support.mariadb_server import MariaDBServer


def target_of(server: MariaDBServer) -> dict[str, Any]:
    return {"host": server.host, "port": server.port, "user": "root"}


def write_plan(
    path: Path, source: dict[str, Any], target: dict[str, Any], databases: list[dict[str, Any]], **extra: Any
) -> Path:
    plan = {"instance": "test", "source": source, "target": target, "databases": databases, **extra}
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`dirac-core db ...` in a subprocess (this worktree's code), so SIGKILL faults hit it, not pytest."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return subprocess.run(
        [sys.executable, "-c", "from dirac_core.cli.admin import main; main()", "db", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
