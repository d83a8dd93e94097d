"""Compare two merged configurations option by option (two instances, or two versions of one)."""

from __future__ import annotations

from dataclasses import dataclass, field

from diraccfg import CFG

from dirac_core.config.locator import iter_options

HIDDEN = "<hidden>"


def is_secret(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return name.endswith("password")


def shown(path: str, value: str) -> str:
    """The value as printed: secrets never reach a terminal or a log."""
    return HIDDEN if is_secret(path) else value


def normalized(value: str) -> str:
    # "a,b" and "a, b" are the same DIRAC list; compare items, not spacing.
    return ", ".join(item.strip() for item in value.split(",") if item.strip())


def flatten(cfg: CFG) -> dict[str, str]:
    return {path: normalized(value) for path, value in iter_options(cfg)}


@dataclass
class CfgDiff:
    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": {p: shown(p, v) for p, v in self.added.items()},
            "removed": {p: shown(p, v) for p, v in self.removed.items()},
            "changed": {p: {"from": shown(p, a), "to": shown(p, b)} for p, (a, b) in self.changed.items()},
        }

    def lines(self) -> list[str]:
        rows: list[tuple[str, str]] = []
        rows += [(p, f"+ {p} = {shown(p, v)}") for p, v in self.added.items()]
        rows += [(p, f"- {p} = {shown(p, v)}") for p, v in self.removed.items()]
        rows += [(p, f"~ {p}: {shown(p, a)} -> {shown(p, b)}") for p, (a, b) in self.changed.items()]
        return [text for _, text in sorted(rows)]


def diff_cfgs(before: CFG, after: CFG) -> CfgDiff:
    old, new = flatten(before), flatten(after)
    result = CfgDiff()
    for path in sorted(new.keys() - old.keys()):
        result.added[path] = new[path]
    for path in sorted(old.keys() - new.keys()):
        result.removed[path] = old[path]
    for path in sorted(old.keys() & new.keys()):
        if old[path] != new[path]:
            result.changed[path] = (old[path], new[path])
    return result
