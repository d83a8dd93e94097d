"""Check a layered configuration against `dirac_core.config.schema`; every issue names file:line and the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast

from diraccfg import CFG

from dirac_core.config import schema
from dirac_core.config.layers import LayeredConfig
from dirac_core.config.locator import Location, iter_options

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    severity: Severity
    location: Location | None
    path: str
    problem: str
    fix: str

    def __str__(self) -> str:
        where = str(self.location) if self.location else "(no file)"
        return f"{where}: {self.severity}: {self.path}: {self.problem}: {self.fix}"

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.location.file if self.location else None,
            "line": self.location.line if self.location else None,
            "path": self.path,
            "problem": self.problem,
            "fix": self.fix,
        }


def _parts(pattern: str) -> list[str]:
    return [p for p in pattern.strip("/").split("/") if p]


def match_sections(cfg: CFG, pattern: str) -> Iterator[str]:
    """Paths of sections matching `pattern` (``*`` = any one component); ``/`` is the root."""

    def walk(node: CFG, parts: list[str], prefix: str) -> Iterator[str]:
        if not parts:
            yield prefix or "/"
            return
        head, rest = parts[0], parts[1:]
        names = node.listSections() if head == "*" else [head] if head in node.listSections() else []
        for name in names:
            yield from walk(cast(CFG, node[name]), rest, f"{prefix}/{name}")

    yield from walk(cfg, _parts(pattern), "")


def _section(cfg: CFG, path: str) -> CFG:
    node = cfg
    for part in _parts(path):
        node = cast(CFG, node[part])
    return node


def _join(section: str, name: str) -> str:
    return f"{section.rstrip('/')}/{name}"


class Validator:
    def __init__(self, layered: LayeredConfig, host_rules: bool | None = None) -> None:
        self.layered = layered
        self.merged = layered.merged_cfg()
        # Host rules (PasswordFile) only make sense once the host-local layer is part of the set.
        self.host_rules = layered.has_local_layer if host_rules is None else host_rules
        self.issues: list[Issue] = []

    def _add(self, severity: Severity, location: Location | None, path: str, problem: str, fix: str) -> None:
        self.issues.append(Issue(severity, location, path, problem, fix))

    def run(self) -> list[Issue]:
        self._check_secrets()
        self._check_duplicates()
        self._check_layer_placement()
        self._check_known_sections()
        self._check_types()
        self._check_required()
        self._check_setups()
        return sorted(self.issues, key=lambda i: (i.location is None, i.location or Location("", 0), i.path))

    def _check_secrets(self) -> None:
        # Every layer, even where a higher layer overrides the value: the secret is in that file.
        for parsed in self.layered.layers:
            for path, _ in iter_options(parsed.cfg):
                name = path.rsplit("/", 1)[-1].lower()
                if name.endswith(schema.SECRET_OPTION_SUFFIX) and name not in schema.SECRET_OPTION_ALLOWED:
                    self._add(
                        "error",
                        parsed.source_map.option(path),
                        path,
                        "password inlined in a CFG file",
                        "delete this line, put the password alone in a file with mode 0600 and set "
                        "PasswordFile = /path/to/that/file in the host-local layer",
                    )

    def _check_duplicates(self) -> None:
        for parsed in self.layered.layers:
            for path, first, second in parsed.source_map.duplicates:
                self._add(
                    "warning",
                    second,
                    path,
                    f"assigned twice in this file (also line {first.line}), the last wins",
                    "keep one assignment",
                )

    def _check_layer_placement(self) -> None:
        for parsed in self.layered.layers:
            for path, value in iter_options(parsed.cfg):
                location = parsed.source_map.option(path)
                if " #" in value or value.startswith("#"):
                    self._add(
                        "warning",
                        location,
                        path,
                        "'#' after a value is part of the value in CFG, not a comment",
                        "move the comment to its own line above",
                    )
                if parsed.layer.scope == "global" and path in schema.LOCAL_ONLY_OPTIONS:
                    self._add(
                        "warning",
                        location,
                        path,
                        f"host-local option in global layer {parsed.layer.name} (Configuration/Server never serves it)",
                        "move it to the host-local layer (90-host.cfg)",
                    )

    def _check_known_sections(self) -> None:
        for rule in schema.KNOWN_SECTIONS:
            for section in match_sections(self.merged, rule.pattern):
                for name in _section(self.merged, section).listSections():
                    if name in rule.names:
                        continue
                    path = _join(section, name)
                    close = difflib.get_close_matches(name, rule.names, n=1, cutoff=0.7)
                    fix = (
                        f"did you mean {close[0]}? rename the section"
                        if close
                        else f"known sections here are {', '.join(rule.names)}"
                    )
                    self._add("error", self.layered.section_location(path), path, "unknown section", fix)

    def _check_types(self) -> None:
        for rule in schema.OPTION_TYPES:
            section_pattern, _, option = rule.pattern.rpartition("/")
            for section in match_sections(self.merged, section_pattern or "/"):
                node = _section(self.merged, section)
                names = node.listOptions() if option == "*" else [option] if option in node.listOptions() else []
                for name in names:
                    path = _join(section, name)
                    raw = str(node[name])
                    fix = rule.type.check(raw)
                    if fix:
                        self._add(
                            "error",
                            self.layered.option_location(path),
                            path,
                            f"value {rule.type.display(raw)!r} is not a valid {rule.type.name}",
                            fix,
                        )

    def _missing(self, section: str, option: str, fix: str) -> None:
        self._add(
            "error", self.layered.section_location(section), _join(section, option), "required option is missing", fix
        )

    def _check_required(self) -> None:
        for required in schema.REQUIRED:
            if required.host and not self.host_rules:
                continue
            for section in match_sections(self.merged, required.section):
                if required.option not in _section(self.merged, section).listOptions():
                    self._missing(section, required.option, f"add '{required.example}' to section {section}")
        for one_of in schema.REQUIRE_ONE_OF:
            if one_of.host and not self.host_rules:
                continue
            for section in match_sections(self.merged, one_of.section):
                present = set(_section(self.merged, section).listOptions())
                if any(set(alt) <= present for alt in one_of.alternatives):
                    continue
                wanted = " or ".join("/".join(alt) for alt in one_of.alternatives)
                self._add(
                    "error",
                    self.layered.section_location(section),
                    section,
                    f"incomplete section: needs {wanted}",
                    f"add the missing option(s) of one alternative: {wanted}",
                )
        for rule in schema.REQUIRE_WITH:
            if rule.host and not self.host_rules:
                continue
            for section in match_sections(self.merged, rule.section):
                present = set(_section(self.merged, section).listOptions())
                if rule.when in present and rule.then not in present:
                    self._missing(section, rule.then, f"{rule.why}: add '{rule.then} = ...' in the host-local layer")

    def _check_setups(self) -> None:
        """/DIRAC/Setup names a Setups entry, which maps every System used to an existing instance."""
        setup = _option(self.merged, "/DIRAC/Setup")
        if setup is None:
            return  # reported by REQUIRED
        setup_path = f"/DIRAC/Setups/{setup}"
        if setup_path not in set(match_sections(self.merged, setup_path)):
            self._add(
                "error",
                self.layered.option_location("/DIRAC/Setup"),
                "/DIRAC/Setup",
                f"setup {setup!r} has no section {setup_path}",
                f"add {setup_path} {{ <System> = <Instance> }} or fix the Setup name",
            )
            return
        mapping = _section(self.merged, setup_path)
        for system in match_sections(self.merged, "/Systems/*"):
            name = system.rsplit("/", 1)[-1]
            if name not in mapping.listOptions():
                instances = ", ".join(_section(self.merged, system).listSections()) or "Production"
                self._add(
                    "error",
                    self.layered.section_location(setup_path),
                    f"{setup_path}/{name}",
                    f"system {name} is configured but has no instance in setup {setup}",
                    f"add '{name} = <instance>' (one of: {instances})",
                )
                continue
            instance = str(mapping[name])
            if instance not in _section(self.merged, system).listSections():
                self._add(
                    "error",
                    self.layered.option_location(f"{setup_path}/{name}"),
                    f"{setup_path}/{name}",
                    f"instance {instance!r} has no section {system}/{instance}",
                    f"add section {system}/{instance} or name an existing instance",
                )


def _option(cfg: CFG, path: str) -> str | None:
    section, _, option = path.rpartition("/")
    for found in match_sections(cfg, section or "/"):
        node = _section(cfg, found)
        if option in node.listOptions():
            return str(node[option])
    return None


def validate(layered: LayeredConfig, host_rules: bool | None = None) -> list[Issue]:
    return Validator(layered, host_rules).run()


def errors(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.severity == "error"]
