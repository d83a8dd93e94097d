"""DIRAC's ClassAd-style job description language (JDL): parse, query, serialize, expand parametric jobs.

::

    [
        Executable = "my.sh";
        Arguments = "-n %n -p %s";
        InputSandbox = {"my.sh", "SB:ProductionSandboxSE|/sandboxes/...tar"};
        Parameters = 10; ParameterStart = 1; ParameterStep = 2;
        Site = {"EGI.CYFRONET.pl", "EGI.IN2P3.fr"};
        CPUTime = 3600;
    ]

Values are strings, integers, floats, booleans, ``{...}`` lists of those, or expressions kept as raw text
(``Requirements = other.Site == "x";``). DIRAC's own writer (``Job()._toJDL()``) also emits bare words:
``JobName = my-job;`` is kept as raw text (read with `JDL.get_str`) and unquoted list items
(``{std.out, LFN:/vo/f}``) are strings. Errors name the line and column. Parametric expansion follows
DIRAC's ParametricJob: ``%s`` (or ``%(Name)s`` with ``Parameters.Name``) becomes the parameter value and
``%n`` the zero-padded job number; ``Parameter``/``ParameterNumber`` are added to each job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from dirac_core.errors import BadRequest


class JDLError(BadRequest):
    """A malformed JDL; the message starts with ``line L, column C``."""


@dataclass(frozen=True)
class Expr:
    """A ClassAd expression DIRAC keeps as text (Requirements, ...)."""

    text: str


Scalar = str | int | float | bool | Expr
Value = Scalar | list[Scalar]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_NUMBER = re.compile(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?")
# DIRAC's writer leaves list items unquoted: file names, paths, LFN:/..., SB:SE|/path, site names.
_BARE_WORD = re.compile(r"[^\s,{}\[\];\"=()]+")
_PARAM_KEYS = ("Parameters", "ParameterStart", "ParameterStep", "ParameterFactor")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # -------------------------------------------------------------- positions and errors
    def where(self, pos: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return line, column

    def error(self, message: str, pos: int | None = None) -> JDLError:
        line, column = self.where(self.pos if pos is None else pos)
        return JDLError(f"JDL line {line}, column {column}: {message}")

    def skip(self) -> None:
        """Skip whitespace and comments (# ..., // ..., /* ... */)."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char.isspace():
                self.pos += 1
            elif char == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("unterminated /* comment: close it with */")
                self.pos = end + 2
            else:
                return

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    # -------------------------------------------------------------- grammar
    def parse(self) -> dict[str, Value]:
        self.skip()
        bracketed = self.peek() == "["
        open_pos = self.pos
        if bracketed:
            self.pos += 1
        attributes: dict[str, Value] = {}
        lowered: dict[str, str] = {}
        while True:
            self.skip()
            char = self.peek()
            if char == "]":
                if not bracketed:
                    raise self.error("']' without an opening '[': remove it or start the JDL with '['")
                self.pos += 1
                self.skip()
                if self.peek():
                    raise self.error("text after the closing ']': remove it")
                break
            if not char:
                if bracketed:
                    raise self.error("missing closing ']' for the '[' here: add ']' at the end", open_pos)
                break
            name_pos = self.pos
            match = _NAME.match(self.text, self.pos)
            if not match:
                raise self.error(f"expected an attribute name, found {char!r}")
            name = match.group(0)
            self.pos = match.end()
            if name.lower() in lowered:
                raise self.error(f"attribute {name} is set twice (also as {lowered[name.lower()]}): keep one", name_pos)
            self.skip()
            if self.peek() != "=":
                raise self.error(f"expected '=' after attribute {name}")
            self.pos += 1
            self.skip()
            value = self.value(name)
            attributes[name] = value
            lowered[name.lower()] = name
            value_end = self.pos
            self.skip()
            if self.peek() == ";":
                self.pos += 1
            elif self.peek() not in {"]", ""}:
                raise self.error(f"missing ';' after the value of {name}", value_end)
        return attributes

    def value(self, name: str) -> Value:
        start = self.pos
        char = self.peek()
        if char in {";", "]", ""}:
            raise self.error(f"missing value for {name}")
        if char == "{":
            return self.list_value(name)
        scalar = self.scalar(name)
        if scalar is not None and self._at_value_end():
            return scalar
        self.pos = start
        return self.expression(name)

    def _at_value_end(self) -> bool:
        saved = self.pos
        self.skip()
        at_end = self.peek() in {";", "]", ""}
        self.pos = saved
        return at_end

    def scalar(self, name: str) -> Scalar | None:
        char = self.peek()
        if char == '"':
            return self.string()
        match = _NUMBER.match(self.text, self.pos)
        if match and not _NAME.match(self.text, match.end()):
            self.pos = match.end()
            literal = match.group(0)
            return float(literal) if any(c in literal for c in ".eE") else int(literal)
        word = _NAME.match(self.text, self.pos)
        if word and word.group(0).lower() in {"true", "false"}:
            self.pos = word.end()
            return word.group(0).lower() == "true"
        return None

    def string(self) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\n":
                break
            out.append(char)
            self.pos += 1
        raise self.error("unterminated string: close it with '\"' on the same line", start)

    def list_value(self, name: str) -> list[Scalar]:
        open_pos = self.pos
        self.pos += 1
        items: list[Scalar] = []
        while True:
            self.skip()
            char = self.peek()
            if char == "}":
                self.pos += 1
                return items
            if not char or char in {";", "]"}:
                raise self.error(f"list of {name} is not closed: add '}}'", open_pos)
            item_pos = self.pos
            item = self.scalar(name)
            if item is None or not self._at_item_end():
                self.pos = item_pos
                item = self.bare_word(name)
            items.append(item)
            self.skip()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "}":
                raise self.error(f"expected ',' or '}}' in the list of {name}")

    def _at_item_end(self) -> bool:
        saved = self.pos
        self.skip()
        at_end = self.peek() in {",", "}"}
        self.pos = saved
        return at_end

    def bare_word(self, name: str) -> str:
        """An unquoted list item, as DIRAC's own JDL writer emits them (``{std.out, /bin/echo, LFN:/a/b}``)."""
        match = _BARE_WORD.match(self.text, self.pos)
        if not match:
            found = self.peek()
            raise self.error(
                f"list of {name} may hold strings, numbers and bare words only, found {found!r}: "
                'quote the item ("...") or remove it'
            )
        self.pos = match.end()
        return match.group(0)

    def expression(self, name: str) -> Expr:
        start = self.pos
        depth = 0
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == '"':
                self.string()
                continue
            if char in "([{":
                depth += 1
            elif char in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif char == ";" and depth == 0:
                break
            elif char == "\n" and depth == 0:
                # A value ends at the end of its line unless brackets are open: names the missing ';'.
                rest = text[self.pos :].lstrip()
                if _NAME.match(rest) and re.match(r"[A-Za-z_][A-Za-z0-9_.]*\s*=[^=]", rest):
                    break
            elif char == "=" and depth == 0:
                before, after = text[self.pos - 1 : self.pos], text[self.pos + 1 : self.pos + 2]
                if before not in "=!<>" and after != "=":
                    raise self.error(f"missing ';' after the value of {name}")
                if after == "=":
                    self.pos += 1
            self.pos += 1
        raw = text[start : self.pos].strip()
        if not raw:
            raise self.error(f"missing value for {name}", start)
        return Expr(raw)


def _format_scalar(value: Scalar) -> str:
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def format_value(value: Value) -> str:
    if isinstance(value, list):
        return "{" + ", ".join(_format_scalar(item) for item in value) + "}"
    return _format_scalar(value)


class JDL:
    """An ordered set of JDL attributes."""

    def __init__(self, attributes: dict[str, Value] | None = None) -> None:
        self.attributes: dict[str, Value] = dict(attributes or {})

    @classmethod
    def parse(cls, text: str) -> JDL:
        if not text.strip():
            raise JDLError('JDL line 1, column 1: empty job description: give at least Executable = "...";')
        return cls(_Parser(text).parse())

    # -------------------------------------------------------------- access
    def __contains__(self, name: str) -> bool:
        return name in self.attributes

    def __iter__(self) -> Iterator[str]:
        return iter(self.attributes)

    def get(self, name: str) -> Value | None:
        return self.attributes.get(name)

    def set(self, name: str, value: Value) -> None:
        self.attributes[name] = value

    def delete(self, name: str) -> None:
        self.attributes.pop(name, None)

    def get_str(self, name: str, default: str = "") -> str:
        value = self.attributes.get(name)
        if value is None:
            return default
        if isinstance(value, list):
            raise JDLError(f"JDL attribute {name} must be a single value, not a list")
        if isinstance(value, Expr):
            return value.text
        return str(value)

    def get_int(self, name: str, default: int) -> int:
        value = self.attributes.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise JDLError(f"JDL attribute {name} = {format_value(value)} must be an integer")
        try:
            return int(value)
        except ValueError:
            raise JDLError(f"JDL attribute {name} = {format_value(value)} must be an integer") from None

    def get_list(self, name: str) -> list[str]:
        """A list attribute as strings; a single value counts as a one-element list; "" or "ANY" as none."""
        value = self.attributes.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = [_format_scalar(item) if isinstance(item, Expr) else str(item) for item in items]
        return [item.strip() for item in out if item.strip() and item.strip().upper() != "ANY"]

    def copy(self) -> JDL:
        return JDL({name: list(value) if isinstance(value, list) else value for name, value in self.attributes.items()})

    # -------------------------------------------------------------- output
    def to_text(self) -> str:
        lines = ["["]
        lines += [f"    {name} = {format_value(value)};" for name, value in self.attributes.items()]
        lines.append("]")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    # -------------------------------------------------------------- parametric jobs
    def is_parametric(self) -> bool:
        return any(name == "Parameters" or name.startswith("Parameters.") for name in self.attributes)

    def parametric_length(self) -> int:
        """Number of jobs a parametric description expands to (DIRAC's getParameterVectorLength)."""
        length: int | None = None
        for name, value in self.attributes.items():
            if not (name == "Parameters" or name.startswith("Parameters.")):
                continue
            if isinstance(value, list):
                this = len(value)
            elif isinstance(value, int) and not isinstance(value, bool):
                this = value
            else:
                raise JDLError(f"JDL attribute {name} = {format_value(value)}: give a number of jobs or a list")
            if length is not None and this != length:
                raise JDLError(f"parameter vectors differ in length: {name} has {this}, another has {length}")
            length = this
        if length is None:
            return 1
        if length <= 0:
            raise JDLError(f"illegal number of job parameters {length}: give at least 1")
        return length

    def _sequences(self, count: int) -> dict[str, list[Scalar]]:
        by_sequence: dict[str, dict[str, Value]] = {}
        for name, value in self.attributes.items():
            for key in _PARAM_KEYS:
                if name == key or name.startswith(f"{key}."):
                    sequence = name.partition(".")[2] or "0"
                    by_sequence.setdefault(sequence, {})[key] = value
        sequences: dict[str, list[Scalar]] = {}
        for sequence, spec in by_sequence.items():
            if "Parameters" not in spec:
                raise JDLError(f"ParameterStart/Step/Factor given for sequence {sequence} without Parameters")
            given = spec["Parameters"]
            if isinstance(given, list):
                sequences[sequence] = list(given)
                continue
            numbers = {key: spec.get(key, default) for key, default in _numeric_defaults().items()}
            for key, number in numbers.items():
                if isinstance(number, bool) or not isinstance(number, (int, float)):
                    raise JDLError(f"JDL attribute {key} = {format_value(number)} must be a number")
            start, step, factor = (numbers["ParameterStart"], numbers["ParameterStep"], numbers["ParameterFactor"])
            assert (
                isinstance(start, (int, float)) and isinstance(step, (int, float)) and isinstance(factor, (int, float))
            )
            as_float = any(isinstance(n, float) for n in (start, step, factor))
            current: float = float(start) if as_float else start
            values: list[Scalar] = []
            for _ in range(count):
                values.append(current)
                current = current * factor + step
            sequences[sequence] = values
        return sequences

    def expand_parametric(self, max_jobs: int) -> list[JDL]:
        """One JDL per job; a non-parametric JDL gives itself. More than `max_jobs` jobs is refused."""
        if not self.is_parametric():
            return [self.copy()]
        count = self.parametric_length()
        if count > max_jobs:
            raise JDLError(
                f"parametric job expands to {count} jobs, above the limit of {max_jobs} (MaxParametricJobs): "
                "split it or ask an administrator to raise the limit"
            )
        sequences = self._sequences(count)
        width = len(str(count - 1))
        jobs: list[JDL] = []
        for number in range(count):
            replacements = {"%n": str(number).zfill(width)}
            for sequence, values in sequences.items():
                token = "%s" if sequence == "0" else f"%({sequence})s"
                replacements[token] = _format_parameter(values[number])
            job = JDL()
            for name, value in self.attributes.items():
                if any(name == key or name.startswith(f"{key}.") for key in _PARAM_KEYS):
                    continue
                job.set(name, _substitute(value, replacements))
            for sequence, values in sequences.items():
                job.set("Parameter" if sequence == "0" else f"Parameter.{sequence}", _format_parameter(values[number]))
            job.set("ParameterNumber", number)
            jobs.append(job)
        return jobs


def _numeric_defaults() -> dict[str, Value]:
    return {"ParameterStart": 1, "ParameterStep": 0, "ParameterFactor": 1}


def _format_parameter(value: Scalar) -> str:
    return _format_scalar(value) if isinstance(value, Expr) else str(value)


def _replace_all(text: str, replacements: dict[str, str]) -> str:
    for token, replacement in replacements.items():
        text = text.replace(token, replacement)
    return text


def _substitute(value: Value, replacements: dict[str, str]) -> Value:
    if isinstance(value, list):
        return [_substitute_scalar(item, replacements) for item in value]
    return _substitute_scalar(value, replacements)


def _substitute_scalar(value: Scalar, replacements: dict[str, str]) -> Scalar:
    if isinstance(value, str):
        return _replace_all(value, replacements)
    if isinstance(value, Expr):
        text = _replace_all(value.text, replacements)
        if text == value.text:
            return value
        # `CPUTime = %s;` becomes a number once substituted.
        parser = _Parser(text)
        scalar = parser.scalar("parameter")
        if scalar is not None and parser.pos == len(text):
            return scalar
        return Expr(text)
    return value
