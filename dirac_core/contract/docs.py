"""The docs tables the contract gives: written between markers, checked by the tests.

A table is kept in a Markdown file between ``<!-- contract:NAME -->`` and ``<!-- /contract:NAME -->``;
``python -m dirac_core.contract --write`` refreshes it, ``--check`` names every stale one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from dirac_core.contract.components import declared_components
from dirac_core.contract.options import SERVICE_OPTIONS, OptionSpec


def ports_table() -> str:
    rows = ["| component | port | databases | placed |", "| --- | --- | --- | --- |"]
    for name, spec in declared_components().items():
        placed = "once per instance" if spec.singleton else "on several hosts, once per host"
        rows.append(f"| {name} | {spec.port} | {', '.join(spec.databases) or '-'} | {placed} |")
    return "\n".join(rows)


def _option_row(path: str, option: OptionSpec) -> str:
    default = "-" if option.default is None else f"`{option.default}`"
    return f"| `{path}/{option.name}` | {option.kind} | {default} | {option.doc} |"


def options_table() -> str:
    rows = ["| CS option | kind | default | meaning |", "| --- | --- | --- | --- |"]
    rows += [_option_row("Systems/<System>/<I>/Services/<Service>", option) for option in SERVICE_OPTIONS]
    for spec in declared_components().values():
        rows += [_option_row(f"Systems/{spec.system}/<I>/Services/{spec.service}", o) for o in spec.options]
    return "\n".join(rows)


# Markdown file (relative to the repository) -> the tables it holds.
TABLES: dict[str, dict[str, Callable[[], str]]] = {
    "docs/architecture.md": {"ports": ports_table},
    "docs/configuration.md": {"options": options_table},
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- contract:{name} -->\n)(.*?)(<!-- /contract:{name} -->)", re.DOTALL)


def refreshed(text: str, name: str, table: str, where: str) -> str:
    """`text` with its contract:NAME block replaced by `table`."""
    block = _block(name)
    if not block.search(text):
        raise ValueError(f"{where}: no <!-- contract:{name} --> ... <!-- /contract:{name} --> block: add one")
    return block.sub(lambda found: found.group(1) + table + "\n" + found.group(3), text, count=1)


def stale_tables(root: Path) -> list[str]:
    """Files whose contract tables differ from the declaration (none: the docs agree)."""
    stale = []
    for rel, tables in TABLES.items():
        text = (root / rel).read_text(encoding="utf-8")
        for name, make in tables.items():
            if refreshed(text, name, make(), rel) != text:
                stale.append(f"{rel} ({name})")
    return stale


def write_tables(root: Path) -> None:
    for rel, tables in TABLES.items():
        path = root / rel
        text = path.read_text(encoding="utf-8")
        for name, make in tables.items():
            text = refreshed(text, name, make(), rel)
        path.write_text(text, encoding="utf-8")
