"""Client-side configuration: find service URLs and the CA bundle in a small local dirac.cfg.

DIRAC style: ``/DIRAC/Setup``, ``/DIRAC/Setups/<Setup>/<System> = <Instance>`` and
``/Systems/<System>/<Instance>/URLs/<Name> = https://host:port/System/Name`` (comma-separated list:
the first is used). ``/DIRAC/Security/CAFile`` is the bundle that verifies the servers.
"""

from __future__ import annotations

import os
from pathlib import Path

from dirac_core.client.http import ServiceClient
from dirac_core.config.cfg import Config
from dirac_core.config.paths import system_section
from dirac_core.errors import ConfigError

DEFAULT_CLIENT_CFG = Path("~/.dirac/dirac.cfg")


def client_config_path(explicit: str | Path | None = None) -> Path:
    """--cfg, else $DIRAC_CFG (first entry), else ~/.dirac/dirac.cfg."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("DIRAC_CFG", "")
    if env:
        return Path(env.split(os.pathsep)[0]).expanduser()
    return DEFAULT_CLIENT_CFG.expanduser()


def client_config_paths(explicit: str | Path | None = None) -> list[Path]:
    """--cfg, else every $DIRAC_CFG entry (merged in order, as the servers load their layers)."""
    env = os.environ.get("DIRAC_CFG", "")
    if explicit or not env:
        return [client_config_path(explicit)]
    return [Path(entry).expanduser() for entry in env.split(os.pathsep) if entry]


def load_client_config(explicit: str | Path | None = None) -> Config:
    paths = client_config_paths(explicit)
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"client configuration {path} not found: pass --cfg or write it (see docs/runtime.md)")
    return Config.from_files(paths)


def service_urls(config: Config, component: str) -> list[str]:
    system, _, name = component.partition("/")
    path = f"{system_section(config, system)}/URLs/{name}"
    urls = config.get_list(path)
    if not urls:
        raise ConfigError(f"{path} is not set: add the URL https://host:port/{component} to the client cfg")
    return urls


def service_url(config: Config, component: str) -> str:
    return service_urls(config, component)[0]


def ca_bundle(config: Config) -> str | None:
    return config.get("/DIRAC/Security/CAFile", None)


def service_client(
    component: str,
    *,
    cfg_file: str | Path | None = None,
    use_certificate: bool = False,
    timeout: float = 60.0,
) -> ServiceClient:
    """A client for `component` from the client cfg: the `dirac login` token, or with
    `use_certificate` the ``/DIRAC/Security/CertFile``/``KeyFile`` pair (hosts, pilots)."""
    from dirac_core.client.login import load_token

    config = load_client_config(cfg_file)
    url = service_url(config, component)
    if use_certificate:
        cert = (config.get("/DIRAC/Security/CertFile"), config.get("/DIRAC/Security/KeyFile"))
        return ServiceClient(url, cert=cert, ca_bundle=ca_bundle(config), timeout=timeout)
    return ServiceClient(url, token=load_token().access_token, ca_bundle=ca_bundle(config), timeout=timeout)
