"""A typed, read-mostly view over DIRAC CFG files, parsed with the DIRAC project's `diraccfg`.

Several files are merged in order, later files win (DIRAC's own merge semantics). Paths use
DIRAC's slash notation: ``/Systems/WorkloadManagement/Production/Services/JobManager/Port``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from diraccfg import CFG

from dirac_core.config.locator import parse_cfg
from dirac_core.errors import ConfigError

_MISSING = object()


def _split(path: str) -> list[str]:
    return [part for part in path.strip("/").split("/") if part]


class Config:
    """Merged configuration. Options are strings in CFG; typed getters convert and complain clearly."""

    def __init__(self, cfg: CFG | None = None, sources: Sequence[str] = ()) -> None:
        self.cfg: CFG = cfg if cfg is not None else CFG()
        self.sources: list[str] = list(sources)

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> Config:
        merged = CFG()
        sources: list[str] = []
        for path in paths:
            merged = merged.mergeWith(load_cfg_file(Path(path)))
            sources.append(str(path))
        return cls(merged, sources)

    @classmethod
    def from_text(cls, text: str, source: str = "<text>") -> Config:
        # diraccfg parses; the locator adds the file:line diraccfg's own errors lack.
        return cls(parse_cfg(text, source)[0], [source])

    def merged_with(self, other: Config) -> Config:
        return Config(self.cfg.mergeWith(other.cfg), [*self.sources, *other.sources])

    def _node(self, path: str) -> object:
        node: object = self.cfg
        for part in _split(path):
            if not isinstance(node, CFG) or not node.existsKey(part):
                return _MISSING
            node = node[part]
        return node

    def has(self, path: str) -> bool:
        return self._node(path) is not _MISSING

    def get(self, path: str, default: str | object | None = _MISSING) -> str:
        node = self._node(path)
        if node is _MISSING or isinstance(node, CFG):
            if default is _MISSING:
                raise ConfigError(f"option {path} is not set: add it to the instance or host CFG layer")
            return default  # type: ignore[return-value]
        return str(node)

    def get_int(self, path: str, default: int | None = None) -> int:
        raw = self.get(path, None if default is None else str(default))
        if raw is None:
            raise ConfigError(f"option {path} is not set: add an integer value")
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"option {path} = {raw!r} is not an integer") from exc

    def get_bool(self, path: str, default: bool = False) -> bool:
        raw = self.get(path, None)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in {"yes", "true", "y", "1", "on"}:
            return True
        if value in {"no", "false", "n", "0", "off"}:
            return False
        raise ConfigError(f"option {path} = {raw!r} is not a boolean: use yes or no")

    def get_list(self, path: str, default: Sequence[str] = ()) -> list[str]:
        raw = self.get(path, None)
        if raw is None:
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def sections(self, path: str = "/") -> list[str]:
        node = self._node(path)
        return list(node.listSections()) if isinstance(node, CFG) else []

    def options(self, path: str = "/") -> list[str]:
        node = self._node(path)
        return list(node.listOptions()) if isinstance(node, CFG) else []

    def section_dict(self, path: str) -> dict[str, str]:
        """Options (not subsections) of a section as a plain dict."""
        return {name: self.get(f"{path}/{name}") for name in self.options(path)}

    def set(self, path: str, value: str) -> None:
        self.cfg.setOption(path.strip("/"), value)

    def as_text(self) -> str:
        return str(self.cfg.serialize())


def load_cfg_file(path: Path) -> CFG:
    """Parse one CFG file; errors name the file so operators know where to look."""
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found: check the --cfg path")
    return parse_cfg(path.read_text(encoding="utf-8"), str(path))[0]
