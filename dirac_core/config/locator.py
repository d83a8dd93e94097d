"""File:line provenance for DIRAC CFG text, which diraccfg itself does not record.

The parse stays diraccfg's: `parse_cfg` runs `CFG.loadFromBuffer` and only uses the locator to
attach line numbers, both to what was parsed and to the syntax errors diraccfg reports without
a line. The locator walks the text with diraccfg's own tokenisation rules (one stripped line at a
time, ``#`` only at the start of a line, a section name accumulates until ``{``, ``=`` and ``+=``
take the whole line) so the two never disagree; `unlocated_paths` is the cross-check.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import cast

from diraccfg import CFG

from dirac_core.errors import ConfigError


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class SourceMap:
    """Where each section was opened and each option assigned in one file (CS paths ``/A/B/opt``)."""

    file: str
    sections: dict[str, Location] = field(default_factory=dict)
    options: dict[str, Location] = field(default_factory=dict)
    appends: dict[str, list[Location]] = field(default_factory=dict)
    # Options assigned twice in the same file: diraccfg keeps the last one silently.
    duplicates: list[tuple[str, Location, Location]] = field(default_factory=list)

    def option(self, path: str) -> Location | None:
        return self.options.get(path)

    def section(self, path: str) -> Location | None:
        return self.sections.get(path)


@dataclass(frozen=True)
class LocatedError:
    line: int
    problem: str
    fix: str


def _join(stack: list[str], name: str) -> str:
    return "/" + "/".join([*stack, name])


def locate(text: str, file: str) -> tuple[SourceMap, LocatedError | None]:
    """Map sections and options of `text` to lines; stop at the first error diraccfg would raise."""
    source_map = SourceMap(file)
    stack: list[str] = []
    opened_at: list[int] = []
    pending = ""  # diraccfg's currentlyParsedString: survives line ends until '{' or '='
    pending_line = 0
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        for index, char in enumerate(line):
            if char == "{":
                name = pending.strip()
                if not name:
                    return source_map, LocatedError(
                        lineno, "'{' opens a section without a name", "write the name first"
                    )
                path = _join(stack, name)
                if path in source_map.sections or path in source_map.options:
                    first = source_map.sections.get(path) or source_map.options[path]
                    return source_map, LocatedError(
                        pending_line or lineno,
                        f"{path} is defined twice in this file (first at line {first.line})",
                        "merge the two blocks into one",
                    )
                source_map.sections[path] = Location(file, pending_line or lineno)
                stack.append(name)
                opened_at.append(pending_line or lineno)
                pending = ""
                pending_line = 0
            elif char == "}":
                if not stack:
                    return source_map, LocatedError(
                        lineno, "'}' closes a section that was never opened", "remove it or open the section above"
                    )
                stack.pop()
                opened_at.pop()
            elif char == "=":
                name = line.split("=")[0].strip()
                if not name:
                    return source_map, LocatedError(lineno, "option without a name before '='", "write 'Name = value'")
                path = _join(stack, name)
                previous = source_map.options.get(path)
                if previous is not None:
                    source_map.duplicates.append((path, previous, Location(file, lineno)))
                source_map.options[path] = Location(file, lineno)
                source_map.appends.pop(path, None)
                pending = ""
                pending_line = 0
                break
            elif line[index : index + 2] == "+=":
                name = line.split("+=")[0].strip()
                path = _join(stack, name)
                if path not in source_map.options:
                    return source_map, LocatedError(
                        lineno,
                        f"'{name} +=' appends to an option not assigned before in this section of this file",
                        f"write '{name} = value' first (+= never reaches into another file or layer)",
                    )
                source_map.appends.setdefault(path, []).append(Location(file, lineno))
                pending = ""
                pending_line = 0
                break
            else:
                if not pending.strip() and not char.isspace():
                    pending_line = lineno
                pending += char
    if stack:
        return source_map, LocatedError(
            opened_at[-1], f"section /{'/'.join(stack)} is never closed", "add the missing '}'"
        )
    return source_map, None


def parse_cfg(text: str, file: str) -> tuple[CFG, SourceMap]:
    """Parse with diraccfg; errors become one line ``file:line: problem: fix``."""
    source_map, located = locate(text, file)
    cfg = CFG()
    try:
        cfg.loadFromBuffer(text)
    except Exception as exc:  # diraccfg raises bare ValueError/KeyError without a line number
        if located is not None:
            raise ConfigError(f"{file}:{located.line}: {located.problem}: {located.fix}") from exc
        raise ConfigError(f"{file}: cannot parse CFG ({exc}): check the braces and '=' lines") from exc
    # If diraccfg accepted what the locator rejected, diraccfg's parse stands; the lines found so far
    # remain and `unlocated_paths` names what has no line.
    return cfg, source_map


def iter_options(cfg: CFG, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every option of a CFG as (``/A/B/opt``, raw value), in file order."""
    for name in cfg.listOptions():
        yield f"{prefix}/{name}", str(cfg[name])
    for name in cfg.listSections():
        yield from iter_options(cast(CFG, cfg[name]), f"{prefix}/{name}")


def iter_sections(cfg: CFG, prefix: str = "") -> Iterator[str]:
    for name in cfg.listSections():
        path = f"{prefix}/{name}"
        yield path
        yield from iter_sections(cast(CFG, cfg[name]), path)


def unlocated_paths(cfg: CFG, source_map: SourceMap) -> list[str]:
    """Paths diraccfg parsed that the locator did not place: empty unless the two disagree."""
    missing = [path for path, _ in iter_options(cfg) if path not in source_map.options]
    missing += [path for path in iter_sections(cfg) if path not in source_map.sections]
    return missing
