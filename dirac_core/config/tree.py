"""Write CFG text from nested dicts: the one writer of generated configurations.

`dirac-core up` writes its dirac.cfg with it, and the dirac_config role its layer files (its
``to_dirac_cfg`` filter is this function). CFG forbids opening a section twice in a file, so
generated and operator-given content are merged as dicts first, then written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CfgTree = Mapping[str, Any]  # str -> str | int | bool | list[str] | None | CfgTree
INDENT = "  "


def merge_trees(base: CfgTree, extra: CfgTree) -> dict[str, Any]:
    """Deep merge, `extra` wins (like CFG layering)."""
    merged: dict[str, Any] = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_trees(merged[key], value)
        else:
            merged[key] = value
    return merged


def cfg_value(value: Any) -> str:
    """One option value as CFG writes it: lists joined by ', ', booleans yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(cfg_value(item) for item in value)
    return str(value)


def _lines(tree: CfgTree, depth: int) -> list[str]:
    pad = INDENT * depth
    out: list[str] = []
    for key, value in tree.items():
        if isinstance(value, Mapping):
            out += [f"{pad}{key}", f"{pad}{{", *_lines(value, depth + 1), f"{pad}}}"]
        elif value is not None:  # None: the option is left out (an unset Ansible variable)
            text = cfg_value(value)
            if "\n" in text:
                raise ValueError(f"CFG option {key!r} has a multi-line value: CFG values are single lines")
            out.append(f"{pad}{key} = {text}")
    return out


def tree_to_cfg(tree: CfgTree) -> str:
    """{"DIRAC": {"Setup": "X"}} -> 'DIRAC\\n{\\n  Setup = X\\n}\\n'."""
    return "\n".join(_lines(tree, 0)) + "\n"
