"""The lab's private network: a user-defined bridge with DNS, where hosts resolve inventory names."""

from __future__ import annotations

from typing import Any

from dirac_kit.lab.engine import Engine
from dirac_kit.lab.paths import LabPaths

LABEL = "dirac.lab"


def _find(engine: Engine, name: str) -> Any | None:
    return next((net for net in engine.client.networks.list(names=[name]) if net.name == name), None)


def ensure_network(engine: Engine, paths: LabPaths) -> Any:
    # Podman enables DNS on user-defined networks (the dnsname plugin with CNI, aardvark-dns with
    # netavark); Docker does too. Each host joins with its inventory name as alias.
    return _find(engine, paths.network) or engine.client.networks.create(
        paths.network, driver="bridge", labels={LABEL: paths.name}
    )


def remove_network(engine: Engine, paths: LabPaths) -> bool:
    net = _find(engine, paths.network)
    if net is not None:
        net.remove()
    return net is not None
