"""Stage 2: factor what the instances have in common into one shared CFG layer.

Input: each instance's global layers (shared + instance, what its Configuration Server serves).
Output: one shared layer holding every option that is identical in all instances under the
shareable sections (/Resources, /Operations, /Systems: "one definition of each host and
service"), and per instance a slim layer with the rest (its /DIRAC Setup, its /Registry, its
URLs and DB hosts). The factoring is proven, not assumed: each instance's merged configuration
must be option-for-option identical before and after, or nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from diraccfg import CFG

from dirac_core.config.diff import CfgDiff, diff_cfgs, flatten
from dirac_core.config.layers import LayeredConfig
from dirac_core.contract.layers import layer_file
from dirac_core.errors import BadRequest, Conflict

# Sections an instance may share; /DIRAC (Setup, Configuration) and /Registry stay per instance.
SHAREABLE = ("/Resources", "/Operations", "/Systems")


@dataclass
class Factoring:
    shared: CFG
    instances: dict[str, CFG]
    before_between: CfgDiff  # first instance vs each other one, before
    shared_options: int
    per_instance_before: dict[str, int] = field(default_factory=dict)
    per_instance_after: dict[str, int] = field(default_factory=dict)

    def report(self) -> dict[str, object]:
        return {
            "shared_options": self.shared_options,
            "instance_options_before": self.per_instance_before,
            "instance_options_after": self.per_instance_after,
            "verified": "every instance's merged configuration is identical before and after",
        }


def _cfg_from(options: Mapping[str, str]) -> CFG:
    cfg = CFG()
    for path, value in options.items():
        parts = path.strip("/").split("/")
        node = cfg
        for section in parts[:-1]:
            if not node.isSection(section):
                node.createNewSection(section)
            node = cast(CFG, node[section])
        node.setOption(parts[-1], value)
    return cfg


def _shareable(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def factor(merged: Mapping[str, CFG], prefixes: Sequence[str] = SHAREABLE) -> Factoring:
    """Split the merged global configurations of the instances into shared + per-instance layers."""
    if len(merged) < 2:
        raise BadRequest("share-config needs at least two instances: pass --instance NAME=LAYERS twice or more")
    flat = {name: flatten(cfg) for name, cfg in merged.items()}
    names = list(flat)
    first = flat[names[0]]
    common = {
        path: value
        for path, value in first.items()
        if _shareable(path, prefixes) and all(flat[other].get(path) == value for other in names[1:])
    }
    shared = _cfg_from(common)
    instances = {name: _cfg_from({p: v for p, v in flat[name].items() if p not in common}) for name in names}
    for name in names:  # proof: shared + slim instance layer == what the instance served before
        after = CFG().mergeWith(shared).mergeWith(instances[name])
        changed = diff_cfgs(merged[name], after)
        if not changed.empty:
            raise Conflict(f"factoring changed instance {name}: {'; '.join(changed.lines()[:5])}: nothing written")
    return Factoring(
        shared=shared,
        instances=instances,
        before_between=diff_cfgs(merged[names[0]], merged[names[1]]),
        shared_options=len(common),
        per_instance_before={n: len(flat[n]) for n in names},
        per_instance_after={n: len(flatten(instances[n])) for n in names},
    )


def load_global(spec: str) -> CFG:
    """The global (served) configuration of a layer spec: directory, YAML layer set or .cfg file."""
    return LayeredConfig.load([spec]).merged_cfg("global")


def write_layers(result: Factoring, out: Path, shared_name: str = layer_file("shared")) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = [out / shared_name]
    top = "# Shared layer written by dirac-kit share-config (stage 2): common to every instance.\n"
    written[0].write_text(top + str(result.shared.serialize()), encoding="utf-8")
    for name, cfg in result.instances.items():
        path = out / layer_file("instance", name)
        header = f"# Instance layer of {name} after stage 2 (its own Setup, Registry, URLs).\n"
        path.write_text(header + str(cfg.serialize()), encoding="utf-8")
        written.append(path)
    return written
