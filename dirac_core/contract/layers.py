"""The CFG layer files of a deployed host, in merge order (dirac_core.config.layers reads any set)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# As dirac_core.config.layers.scope_from_filename reads each file name (a test checks it).
Scope = Literal["global", "local"]


@dataclass(frozen=True)
class LayerFile:
    role: str  # shared, instance or host
    pattern: str  # file name; {instance} is the instance name
    scope: Scope
    comment: str  # the file's first line after the managed-file header

    def file(self, instance: str) -> str:
        return self.pattern.format(instance=instance)


LAYER_FILES: tuple[LayerFile, ...] = (
    LayerFile(
        "shared",
        "00-shared.cfg",
        "global",
        "Shared layer: what every instance has in common (served by Configuration/Server).",
    ),
    LayerFile(
        "instance",
        "10-{instance}.cfg",
        "global",
        "Instance layer of {setup}, generated from the placement (served).",
    ),
    LayerFile(
        "host",
        "90-host.cfg",
        "local",
        "Host-local layer of {host}: certificates, CS role, secrets files (never served).",
    ),
)


def layer_files(instance: str) -> list[str]:
    """["00-shared.cfg", "10-egi.cfg", "90-host.cfg"]: what every service host loads, in order."""
    return [layer.file(instance) for layer in LAYER_FILES]


def layer_file(role: str, instance: str = "") -> str:
    """The file name of one layer: "host" -> 90-host.cfg, ("instance", "egi") -> 10-egi.cfg."""
    for layer in LAYER_FILES:
        if layer.role == role:
            return layer.file(instance)
    raise ValueError(f"no layer {role!r}: use one of {', '.join(layer.role for layer in LAYER_FILES)}")
