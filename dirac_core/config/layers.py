"""Layered DIRAC configuration: shared, instance and host-local CFG files, merged in order.

A layer set is given as any mix of (later wins):

* a directory: its ``layers.yaml`` if present, else every ``*.cfg`` in name order
  (``00-shared.cfg``, ``10-instance.cfg``, ``90-host.cfg``);
* a YAML file ``{layers: [{name, file, scope}]}`` (files relative to the YAML);
* a single ``.cfg`` file, one layer named after the file.

Scope ``global`` layers make the CS content served by Configuration/Server; ``local`` layers stay
on their host (certificate paths, DB ``PasswordFile`` paths, ``/DIRAC/Configuration/Master``). A
file is local when its name starts with a number >= 90 (``90-host.cfg``) or is ``host.cfg``, or
when the YAML says ``scope: local``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from diraccfg import CFG

from dirac_core.config.cfg import Config
from dirac_core.config.locator import Location, SourceMap, parse_cfg
from dirac_core.errors import ConfigError

Scope = Literal["global", "local"]
_LOCAL_PREFIX = re.compile(r"^(\d+)-")
_YAML_KEYS = {"name", "file", "scope"}


@dataclass(frozen=True)
class Layer:
    name: str
    path: Path
    scope: Scope = "global"


def scope_from_filename(path: Path) -> Scope:
    match = _LOCAL_PREFIX.match(path.name)
    if match and int(match.group(1)) >= 90:
        return "local"
    return "local" if path.stem == "host" else "global"


def _layer_name(path: Path) -> str:
    return _LOCAL_PREFIX.sub("", path.stem)


def _layers_from_yaml(path: Path) -> list[Layer]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read layer set ({exc}): fix the YAML") from exc
    entries = data.get("layers") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no 'layers:' list: write layers: [{{name: shared, file: shared.cfg}}, ...]")
    layers: list[Layer] = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or "file" not in entry:
            raise ConfigError(f"{path}: layer #{index} has no 'file': give each layer a file: <name>.cfg")
        unknown = set(entry) - _YAML_KEYS
        if unknown:
            raise ConfigError(f"{path}: layer #{index} has unknown key(s) {sorted(unknown)}: use name, file, scope")
        file = path.parent / str(entry["file"])
        scope = entry.get("scope", scope_from_filename(file))
        if scope not in ("global", "local"):
            raise ConfigError(f"{path}: layer #{index} scope {scope!r} is invalid: use global or local")
        layers.append(Layer(str(entry.get("name", _layer_name(file))), file, scope))
    return layers


def expand_layer_spec(spec: str | Path) -> list[Layer]:
    path = Path(spec)
    if path.is_dir():
        if (path / "layers.yaml").is_file():
            return _layers_from_yaml(path / "layers.yaml")
        files = sorted(path.glob("*.cfg"))
        if not files:
            raise ConfigError(f"{path}: no *.cfg layer files in this directory: add 00-shared.cfg, 10-<instance>.cfg")
        return [Layer(_layer_name(f), f, scope_from_filename(f)) for f in files]
    if path.suffix in {".yaml", ".yml"}:
        if not path.is_file():
            raise ConfigError(f"{path}: layer set file not found: check the --layers path")
        return _layers_from_yaml(path)
    return [Layer(_layer_name(path), path, scope_from_filename(path))]


def layer_set(specs: Iterable[str | Path]) -> list[Layer]:
    layers = [layer for spec in specs for layer in expand_layer_spec(spec)]
    if not layers:
        raise ConfigError("no configuration layers given: pass --layers DIR|SET.yaml|FILE.cfg or set DIRAC_LAYERS")
    names = [layer.name for layer in layers]
    dupes = sorted({name for name in names if names.count(name) > 1})
    if dupes:
        raise ConfigError(f"layer name(s) {dupes} used twice: give each layer a unique name in the layer set")
    return layers


@dataclass(frozen=True)
class ParsedLayer:
    layer: Layer
    cfg: CFG
    source_map: SourceMap


def parse_layer(layer: Layer) -> ParsedLayer:
    if not layer.path.is_file():
        raise ConfigError(f"{layer.path}: layer {layer.name!r} file not found: create it or fix the layer set")
    cfg, source_map = parse_cfg(layer.path.read_text(encoding="utf-8"), str(layer.path))
    return ParsedLayer(layer, cfg, source_map)


def parse_text_layer(text: str, name: str, scope: Scope = "global") -> ParsedLayer:
    """A layer from text (a commit, a downloaded CS): `name` stands for the file in locations."""
    cfg, source_map = parse_cfg(text, name)
    return ParsedLayer(Layer(name, Path(name), scope), cfg, source_map)


@dataclass(frozen=True)
class Setting:
    """One layer's value for an option."""

    layer: str
    value: str
    location: Location | None
    appends: tuple[Location, ...] = ()


def _lookup(cfg: CFG, path: str) -> CFG | str | None:
    node: CFG | str = cfg
    for part in (p for p in path.strip("/").split("/") if p):
        if not isinstance(node, CFG) or not node.existsKey(part):
            return None
        node = node[part]
    return node


class LayeredConfig:
    """Parsed layers plus their merge; knows which layer and line set each value."""

    def __init__(self, layers: Sequence[ParsedLayer]) -> None:
        self.layers = list(layers)

    @classmethod
    def load(cls, specs: Iterable[str | Path]) -> LayeredConfig:
        return cls([parse_layer(layer) for layer in layer_set(specs)])

    def merged_cfg(self, scope: Scope | None = None) -> CFG:
        merged = CFG()
        for parsed in self.layers:
            if scope is None or parsed.layer.scope == scope:
                merged = merged.mergeWith(parsed.cfg)
        return merged

    def config(self, scope: Scope | None = None) -> Config:
        chosen = [p for p in self.layers if scope is None or p.layer.scope == scope]
        return Config(self.merged_cfg(scope), [str(p.layer.path) for p in chosen])

    @property
    def has_local_layer(self) -> bool:
        return any(p.layer.scope == "local" for p in self.layers)

    def settings(self, path: str) -> list[Setting]:
        """Every layer's value for option `path`, lowest layer first: the last one wins."""
        found: list[Setting] = []
        for parsed in self.layers:
            node = _lookup(parsed.cfg, path)
            if isinstance(node, str):
                found.append(
                    Setting(
                        parsed.layer.name,
                        node,
                        parsed.source_map.option(path),
                        tuple(parsed.source_map.appends.get(path, ())),
                    )
                )
        return found

    def section_locations(self, path: str) -> list[tuple[str, Location | None]]:
        return [
            (parsed.layer.name, parsed.source_map.section(path))
            for parsed in self.layers
            if isinstance(_lookup(parsed.cfg, path), CFG)
        ]

    def option_location(self, path: str) -> Location | None:
        """Where the winning value of an option was set."""
        settings = self.settings(path)
        return settings[-1].location if settings else None

    def section_location(self, path: str) -> Location | None:
        """Where a section was first opened (the lowest layer that has it)."""
        for _, location in self.section_locations(path):
            if location is not None:
                return location
        return None
