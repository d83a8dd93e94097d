"""`dirac-core up` starts a whole local instance and stops every child cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from dirac_core.client.config import service_url
from dirac_core.client.http import ServiceClient, make_ssl_context
from dirac_core.config.cfg import Config
from tests.support.instance import DIRAC_CORE, ROOT, subprocess_env


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose.
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_up_serves_components_and_stops_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cmd = [DIRAC_CORE, "up", "--state-dir", str(state), "--port-base", "0", "--no-db-init"]
    cmd += ["--registry", "tests.support.demo:demo_registry"]
    up = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env(), cwd=ROOT)
    pids: list[int] = []
    try:
        assert up.stdout is not None
        line = up.stdout.readline().decode()
        assert line.startswith("READY "), (line, up.stderr.read().decode() if up.poll() is not None else "")
        cfg = Config.from_files([state / "dirac.cfg"])
        ca = str(state / "certs" / "ca.pem")
        pids = [int(p.read_text()) for p in (state / "run").glob("*.pid")]
        assert len(pids) == 3  # test IdP, Framework/Auth, Demo/Items
        with httpx.Client(verify=make_ssl_context(None, ca)) as http:
            for component in ("Framework/Auth", "Demo/Items"):
                url = service_url(cfg, component)
                assert http.get(url.rsplit("/", 2)[0] + "/health").json()["status"] == "ok"
        # The generated instance works end to end with a certificate of the generated Registry.
        cert = (str(state / "certs/users/alice/usercert.pem"), str(state / "certs/users/alice/userkey.pem"))
        with ServiceClient(service_url(cfg, "Demo/Items"), cert=cert, ca_bundle=ca) as client:
            assert client.rpc("whoami")["username"] == "alice"
        up.send_signal(signal.SIGTERM)
        assert up.wait(60) == 0
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)]
    assert not list((state / "run").glob("*.pid"))


def test_up_check_with_the_product_registry(tmp_path: Path) -> None:
    """Every component registered today starts and answers /health (then `--check` stops them)."""
    state = tmp_path / "state"
    cmd = [DIRAC_CORE, "up", "--state-dir", str(state), "--port-base", "0", "--check", "--no-db-init"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("READY ")
    assert "Framework/Auth" in result.stderr
    assert "all services stopped" in result.stderr
