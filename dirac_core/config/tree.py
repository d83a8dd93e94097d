"""Write CFG text from nested dicts (generated configurations: `dirac-core up`, tests)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CfgTree = Mapping[str, Any]  # str -> str | int | list[str] | CfgTree


def merge_trees(base: CfgTree, extra: CfgTree) -> dict[str, Any]:
    """Deep merge, `extra` wins (like CFG layering)."""
    merged: dict[str, Any] = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_trees(merged[key], value)
        else:
            merged[key] = value
    return merged


def tree_to_cfg(tree: CfgTree, indent: int = 0) -> str:
    pad = "  " * indent
    lines: list[str] = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            lines.append(f"{pad}{key}")
            lines.append(f"{pad}{{")
            body = tree_to_cfg(value, indent + 1)
            if body:
                lines.append(body.rstrip("\n"))
            lines.append(f"{pad}}}")
        elif isinstance(value, list | tuple):
            lines.append(f"{pad}{key} = {', '.join(str(v) for v in value)}")
        elif isinstance(value, bool):
            lines.append(f"{pad}{key} = {'yes' if value else 'no'}")
        else:
            lines.append(f"{pad}{key} = {value}")
    return "\n".join(lines) + ("\n" if lines else "")
