"""The real DIRAC client (PyPI's DIRAC, in its own venv) against a real `dirac-core up` instance.

The client venv comes from scripts/dirac-client.sh (cached by version outside the repository; the
first run installs it, ~70 s). The client runs as a subprocess with its own Python: nothing of
dirac_core is imported on its side, so what passes here is what an installed DIRAC client does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from dirac_core.client.http import ServiceClient
from dirac_core.config.cfg import Config
from dirac_core.server.local import LocalLayout
from tests.support.instance import DIRAC_CORE, ROOT, LocalInstance, subprocess_env

# The DIRAC client versions the suite drives (one install each, cached); DIRAC_COMPAT_VERSIONS=9.1.22 overrides.
DIRAC_VERSIONS = tuple(os.environ.get("DIRAC_COMPAT_VERSIONS", "9.1.22,8.0.86").split(","))
COMPONENTS = (
    "WorkloadManagement/JobManager",
    "WorkloadManagement/JobMonitoring",
    "WorkloadManagement/SandboxStore",
    "DataManagement/FileCatalog",
)
CLIENT_SCRIPT = Path(__file__).with_name("dirac_client_calls.py")
USER_HOME = "/dirac/user/a/alice"  # dirac_client_calls.py works below it
META_FIELD = "compatRun"


@dataclass
class UpInstance:
    state: Path
    config: Config

    def url(self, component: str) -> str:
        system, service = component.split("/")
        # dirac-core up writes the v8 layout (/Systems/<System>/<Instance>/URLs); take whichever holds it.
        for section in self.config.sections(f"/Systems/{system}") or [""]:
            value = self.config.get(f"/Systems/{system}/{section}/URLs/{service}", None)
            if value:
                return str(value)
        raise KeyError(component)

    def dips_url(self, component: str) -> str:
        """The DISET URL of `component` (dirac-core up gives each one a DisetPort)."""
        system, service = component.split("/")
        for section in self.config.sections(f"/Systems/{system}") or [""]:
            port = self.config.get(f"/Systems/{system}/{section}/Services/{service}/DisetPort", None)
            if port:
                return f"dips://127.0.0.1:{port}/{component}"
        raise KeyError(component)

    def admin_client(self, component: str) -> ServiceClient:
        """Our own client as the catalog/job administrator (a token of the instance's issuer)."""
        instance = LocalInstance(LocalLayout(self.state), {}, {})
        return ServiceClient(self.url(component), token=instance.admin_token(), ca_bundle=instance.ca_file)

    def prepare_catalog(self) -> None:
        """What an operator does before users arrive: the user's home and a metadata field."""
        with self.admin_client("DataManagement/FileCatalog") as fc:
            fc.rpc("createDirectory", [USER_HOME])
            fc.rpc("changePathOwner", {USER_HOME: {"Owner": "alice", "Group": "dirac_user"}})
            fc.rpc("addMetadataField", META_FIELD, "INT", "-d")


def install_client(version: str) -> Path:
    """The python of a venv holding DIRAC `version`; installs it on first use."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "dirac-client.sh"), version], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"could not install the DIRAC {version} client (scripts/dirac-client.sh {version}):\n"
            f"{result.stderr[-3000:]}\nrun scripts/setup.sh (apt: swig libssl-dev) and check network access to PyPI",
            pytrace=False,
        )
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def dirac_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpInstance]:
    """`dirac-core up` with the components the compat calls use (SQLite, generated CA and users)."""
    state = tmp_path_factory.mktemp("up") / "state"
    cmd = [DIRAC_CORE, "up", "--state-dir", str(state), "--port-base", "0"]
    for component in COMPONENTS:
        cmd += ["--component", component]
    log = (state.parent / "up.log").open("wb")
    up = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=subprocess_env(), cwd=ROOT)
    try:
        assert up.stdout is not None
        line = up.stdout.readline().decode()
        if not line.startswith("READY "):
            up.wait(30)
            pytest.fail(f"dirac-core up did not start: {(state.parent / 'up.log').read_text()[-3000:]}")
        instance = UpInstance(state, Config.from_files([state / "dirac.cfg"]))
        instance.prepare_catalog()
        yield instance
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait()
        log.close()


def client_cfg(up: UpInstance, workdir: Path, transport: str = "https") -> Path:
    """A DIRAC 9 client's dirac.cfg: service URLs (``https`` or ``dips``), the CA directory, the host credential."""
    certs = up.state / "certs"
    ca_dir = workdir / "certificates"
    ca_dir.mkdir(exist_ok=True)
    # requests (DIRAC's Tornado transport) verifies against a hashed CA directory.
    ca_hash = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(certs / "ca.pem")], capture_output=True, text=True, check=True
    ).stdout.strip()
    (ca_dir / f"{ca_hash}.0").write_bytes((certs / "ca.pem").read_bytes())
    systems: dict[str, dict[str, str]] = {}
    for component in COMPONENTS:
        system, service = component.split("/")
        systems.setdefault(system, {})[service] = up.dips_url(component) if transport == "dips" else up.url(component)
    lines = [
        "DIRAC",
        "{",
        # DIRAC 8 resolves URLs through Setup -> instance; DIRAC 9 reads /Systems/<System>/URLs.
        "  Setup = Compat",
        "  Setups",
        "  {",
        "    Compat",
        "    {",
        *[f"      {system} = Production" for system in systems],
        "    }",
        "  }",
        "  Security",
        "  {",
        f"    CALocation = {ca_dir}",
        f"    CertFile = {certs / 'hostcert.pem'}",
        f"    KeyFile = {certs / 'hostkey.pem'}",
        "  }",
        "}",
        "Systems",
        "{",
    ]
    for system, urls in systems.items():
        lines += [f"  {system}", "  {", "    URLs", "    {"]
        lines += [f"      {service} = {url}" for service, url in urls.items()]
        lines += ["    }", "    Production", "    {", "      URLs", "      {"]
        lines += [f"        {service} = {url}" for service, url in urls.items()]
        lines += ["      }", "    }", "  }"]
    # DIRAC downloads a sandbox through its storage element: DIRAC's DIP plugin, here over HTTPS to the store.
    sandbox_store = urlsplit(up.url("WorkloadManagement/SandboxStore"))
    lines += [
        "}",
        "Resources",
        "{",
        "  StorageElements",
        "  {",
        "    ProductionSandboxSE",
        "    {",
        "      BackendType = DISET",
        "      AccessProtocol = https",
        "      DIP",
        "      {",
        f"        Host = {sandbox_store.hostname}",
        f"        Port = {sandbox_store.port}",
        "        ProtocolName = DIP",
        "        Protocol = https",
        f"        Path = {sandbox_store.path}",
        "        Access = remote",
        "      }",
        "    }",
        "  }",
        "  FileCatalogs",
        "  {",
        "    FileCatalog",
        "    {",
        "      AccessType = Read-Write",
        "      Status = Active",
        "      Master = True",
        "    }",
        "  }",
        "}",
    ]
    cfg = workdir / "dirac.cfg"
    cfg.write_text("\n".join(lines) + "\n")
    return cfg


def run_client(
    python: Path,
    up: UpInstance,
    workdir: Path,
    tag: str,
    user: str = "alice",
    script: Path = CLIENT_SCRIPT,
    transport: str = "https",
) -> dict[str, Any]:
    """Run `script` with the DIRAC client as `user` (an RFC proxy made by DIRAC itself)."""
    cert_dir = up.state / "certs" / "users" / user
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DIRAC", "X509_", "PYTHON"))}
    # These would override the CA directory DIRAC gives requests (this machine exports them).
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        env.pop(name, None)
    env.update(
        DIRACSYSCONFIG=str(client_cfg(up, workdir, transport)),
        HOME=str(workdir),
        X509_USER_PROXY=str(workdir / f"proxy-{user}.pem"),
        COMPAT_USER_CERT=str(cert_dir / "usercert.pem"),
        COMPAT_USER_KEY=str(cert_dir / "userkey.pem"),
        COMPAT_TAG=tag,
    )
    result = subprocess.run(
        [str(python), str(script)], capture_output=True, text=True, env=env, cwd=workdir, timeout=300
    )
    out = result.stdout.strip().splitlines()
    if result.returncode != 0 or not out:
        pytest.fail(f"DIRAC client script failed ({result.returncode}):\n{result.stderr[-4000:]}", pytrace=False)
    return json.loads(out[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="session", params=DIRAC_VERSIONS)
def dirac_calls(
    request: pytest.FixtureRequest, dirac_up: UpInstance, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """What each call of dirac_client_calls.py returned ({name: S_OK/S_ERROR dict}), per DIRAC version."""
    python = install_client(request.param)
    return run_client(python, dirac_up, tmp_path_factory.mktemp(f"dirac-{request.param}"), request.param)
