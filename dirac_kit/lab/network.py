"""The lab's private network: a user-defined bridge where DNS names are the containers' names."""

from __future__ import annotations

from typing import Any

from dirac_kit.lab.engine import Engine

NETWORK = "dirac-lab"
LABEL = "dirac.lab"


def ensure_network(engine: Engine) -> Any:
    found = engine.client.networks.list(names=[NETWORK])
    for net in found:
        if net.name == NETWORK:
            return net
    # Podman enables DNS on user-defined networks (dnsname plugin with CNI, aardvark with netavark);
    # Docker does too. Containers then resolve each other by container name (= inventory name).
    return engine.client.networks.create(NETWORK, driver="bridge", labels={LABEL: "network"})


def remove_network(engine: Engine) -> bool:
    removed = False
    for net in engine.client.networks.list(names=[NETWORK]):
        if net.name == NETWORK:
            net.remove()
            removed = True
    return removed
