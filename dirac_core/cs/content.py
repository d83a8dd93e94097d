"""The CS content a server holds: an immutable snapshot, and the checks a new one must pass first."""

from __future__ import annotations

import base64
import hashlib
import zlib
from dataclasses import dataclass
from functools import cached_property

from diraccfg import CFG

from dirac_core.config import schema
from dirac_core.config.layers import LayeredConfig, parse_text_layer
from dirac_core.config.locator import iter_options
from dirac_core.config.validate import errors, validate
from dirac_core.cs.version import NAME_PATH, VERSION_PATH
from dirac_core.errors import BadRequest

_MAX_LISTED = 5


class RefusedConfiguration(BadRequest):
    """A new CS failed to parse or validate; the message lists file:line of each error."""


@dataclass(frozen=True)
class Snapshot:
    version: str
    name: str
    text: str  # exactly what is served
    cfg: CFG  # parsed `text`; never mutated after the snapshot is built

    @cached_property
    def hash(self) -> str:
        return text_hash(self.text)

    @cached_property
    def compressed(self) -> bytes:
        return zlib.compress(self.text.encode("utf-8"), 9)

    def compressed_b64(self) -> str:
        return base64.b64encode(self.compressed).decode("ascii")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def get_option(cfg: CFG, path: str) -> str | None:
    node: CFG | str = cfg
    for part in path.strip("/").split("/"):
        if not isinstance(node, CFG) or not node.existsKey(part):
            return None
        node = node[part]
    return node if isinstance(node, str) else None


def content_key(cfg: CFG) -> str:
    """Identity of a CS ignoring its Version: an unchanged commit or reload makes no new version."""
    items = sorted((path, value) for path, value in iter_options(cfg) if path != VERSION_PATH)
    return text_hash("\n".join(f"{path}={value}" for path, value in items))


def check_new_content(text: str, source: str) -> CFG:
    """Parse with diraccfg and validate against the schema; raise before anything is swapped."""
    try:
        parsed = parse_text_layer(text, source)
    except Exception as exc:
        raise RefusedConfiguration(f"configuration refused, old one kept: {exc}") from exc
    return check_parsed(LayeredConfig([parsed]), parsed.cfg)


def check_parsed(layered: LayeredConfig, cfg: CFG) -> CFG:
    failed = errors(validate(layered, host_rules=False))
    if failed:
        listed = "; ".join(str(issue) for issue in failed[:_MAX_LISTED])
        more = f" (and {len(failed) - _MAX_LISTED} more)" if len(failed) > _MAX_LISTED else ""
        raise RefusedConfiguration(
            f"configuration refused, old one kept: {len(failed)} error(s): {listed}{more}; "
            "run dirac-core config validate on the layers and fix them"
        )
    return cfg


def with_version(cfg: CFG, version: str) -> CFG:
    stamped = cfg.clone()
    if not stamped.existsKey("DIRAC"):
        stamped.createNewSection("DIRAC")
    dirac = stamped["DIRAC"]
    assert isinstance(dirac, CFG)
    if not dirac.existsKey("Configuration"):
        dirac.createNewSection("Configuration")
    stamped.setOption(VERSION_PATH.strip("/"), version)
    return stamped


def without_local_options(cfg: CFG) -> CFG:
    """The CS as served: options that only make sense on one host removed (e.g. Master = yes)."""
    served = cfg.clone()
    for path in schema.LOCAL_ONLY_OPTIONS:
        section, _, option = path.strip("/").rpartition("/")
        node = served[section] if section else served
        if isinstance(node, CFG) and option in node.listOptions():
            node.deleteKey(option)
    return served


def snapshot_of(cfg: CFG, version: str) -> Snapshot:
    stamped = with_version(cfg, version)
    return Snapshot(version, get_option(stamped, NAME_PATH) or "", stamped.serialize(), stamped)
