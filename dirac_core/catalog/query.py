"""DIRAC's metadata query language (``dirac fc find``, findFilesByMetadata) parsed into a small tree.

Grammar (keywords are case-insensitive)::

    query      := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := factor ("AND" factor)*
    factor     := "(" or_expr ")" | comparison
    comparison := FIELD OP VALUE ("," VALUE)*       # a=1,2,3 means a in (1,2,3), a!=1,2 means not in
                | FIELD ["NOT"] "IN" "(" VALUE ("," VALUE)* ")"
    OP         := "=" | "==" | "!=" | "<" | ">" | "<=" | ">="
    VALUE      := number | 'quoted' | "quoted" | bare word

Example: ``energy>10 AND (type=raw OR type in (reco, mc)) AND run!=3``. DIRAC's dictionary form
(``{"energy": {">": 10}, "type": ["raw", "reco"], "run": 5}``) is accepted by `from_dict`.
Errors are BadRequests naming the 1-based character position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dirac_core.errors import BadRequest

Value = str | int | float


@dataclass(frozen=True)
class Condition:
    field: str
    op: str  # =, !=, <, >, <=, >=, in, nin
    values: tuple[Value, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND or OR
    items: tuple[Node, ...]


Node = Condition | BoolOp

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op><=|>=|!=|==|=|<|>)
      | (?P<lpar>\()
      | (?P<rpar>\))
      | (?P<comma>,)
      | (?P<quoted>'[^']*'|"[^"]*")
      | (?P<word>[^\s()<>=!,'"]+)
    )""",
    re.VERBOSE,
)
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_DICT_OPS = {"=": "=", "==": "=", "!=": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">=", "in": "in", "nin": "nin"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int  # 1-based column


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        if text[index:].strip() == "":
            break
        match = _TOKEN.match(text, index)
        if match is None or match.lastgroup is None:
            bad = index + len(text[index:]) - len(text[index:].lstrip())
            raise BadRequest(f"query {text!r}: unexpected character {text[bad]!r} at position {bad + 1}")
        kind = match.lastgroup
        tokens.append(Token(kind, match.group(kind), match.start(kind) + 1))
        index = match.end()
    return tokens


@dataclass(frozen=True)
class QueryLimits:
    """How complex one query may be (FileCatalog options MaxQueryNesting, MaxQueryConditions)."""

    max_nesting: int = 32
    max_conditions: int = 200


class _Parser:
    def __init__(self, text: str, limits: QueryLimits) -> None:
        self.text = text
        self.limits = limits
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.conditions = 0

    def fail(self, message: str, token: Token | None = None) -> BadRequest:
        where = f"at position {token.pos}" if token else f"at the end (position {len(self.text) + 1})"
        return BadRequest(f"query {self.text!r}: {message} {where}: write e.g. energy>10 AND type=raw")

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise self.fail("unexpected end of query")
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.upper() == word

    def parse(self) -> Node:
        if not self.tokens:
            raise BadRequest("empty metadata query: write e.g. energy>10 AND type=raw")
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            raise self.fail(f"unexpected {token.text!r} (missing AND/OR?)", token)
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.keyword("OR"):
            self.take()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", tuple(items))

    def and_expr(self) -> Node:
        items = [self.factor()]
        while self.keyword("AND"):
            self.take()
            items.append(self.factor())
        return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))

    def factor(self) -> Node:
        token = self.take()
        if token.kind == "lpar":
            self.depth += 1
            if self.depth > self.limits.max_nesting:
                raise BadRequest(
                    f"metadata query nests parentheses deeper than {self.limits.max_nesting} "
                    "(FileCatalog option MaxQueryNesting): write a flatter query"
                )
            node = self.or_expr()
            self.depth -= 1
            closing = self.peek()
            if closing is None or closing.kind != "rpar":
                raise self.fail("missing ')'", closing)
            self.take()
            return node
        if token.kind != "word" or not _FIELD.match(token.text) or token.text.upper() in {"AND", "OR", "IN", "NOT"}:
            raise self.fail(f"expected a metadata field name, found {token.text!r}", token)
        return self.comparison(token.text)

    def comparison(self, field: str) -> Condition:
        self.conditions += 1
        check_condition_count(self.conditions, self.limits)
        negate = False
        if self.keyword("NOT"):
            self.take()
            negate = True
            if not self.keyword("IN"):
                raise self.fail("expected IN after NOT", self.peek())
        if self.keyword("IN"):
            self.take()
            opening = self.take()
            if opening.kind != "lpar":
                raise self.fail("expected '(' after IN", opening)
            values = [self.value()]
            while (sep := self.take()).kind == "comma":
                values.append(self.value())
            if sep.kind != "rpar":
                raise self.fail("expected ',' or ')' in the IN list", sep)
            return Condition(field, "nin" if negate else "in", tuple(values))
        op_token = self.take()
        if op_token.kind != "op":
            raise self.fail(f"expected an operator (=, !=, <, >, <=, >=, in) after {field!r}", op_token)
        op = "=" if op_token.text == "==" else op_token.text
        values = [self.value()]
        while (token := self.peek()) is not None and token.kind == "comma":
            self.take()
            values.append(self.value())
        if len(values) > 1:
            if op not in {"=", "!="}:
                raise self.fail(f"a value list needs = or !=, not {op}", op_token)
            return Condition(field, "in" if op == "=" else "nin", tuple(values))
        return Condition(field, op, tuple(values))

    def value(self) -> Value:
        token = self.take()
        if token.kind == "quoted":
            return token.text[1:-1]
        if token.kind != "word" or token.text.upper() in {"AND", "OR"}:
            raise self.fail(f"expected a value, found {token.text!r}", token)
        return token.text  # typed later, by the field's MetaType


def check_condition_count(count: int, limits: QueryLimits) -> None:
    if count > limits.max_conditions:
        raise BadRequest(
            f"metadata query has more than {limits.max_conditions} conditions "
            "(FileCatalog option MaxQueryConditions): split it, or use IN (v1, v2, ...)"
        )


def parse_query(text: str, limits: QueryLimits = QueryLimits()) -> Node:
    return _Parser(text, limits).parse()


def from_dict(query: Mapping[str, Any], limits: QueryLimits = QueryLimits()) -> Node:
    """DIRAC's metaDict: field -> value | [values] | {op: value}; all conditions ANDed."""
    items: list[Node] = []
    for field, spec in query.items():
        if not isinstance(field, str) or not _FIELD.match(field):
            raise BadRequest(f"metadata query: {field!r} is not a field name")
        if isinstance(spec, Mapping):
            for raw_op, value in spec.items():
                op = _DICT_OPS.get(str(raw_op).lower())
                if op is None:
                    raise BadRequest(
                        f"metadata query: operator {raw_op!r} for {field} is not one of {sorted(_DICT_OPS)}"
                    )
                values = tuple(value) if isinstance(value, list | tuple) else (value,)
                if op in {"in", "nin"} or len(values) == 1:
                    items.append(Condition(field, op, values))
                else:
                    raise BadRequest(f"metadata query: {field} {raw_op} takes one value, not a list")
        elif isinstance(spec, list | tuple):
            if not spec:
                raise BadRequest(f"metadata query: empty value list for {field}")
            items.append(Condition(field, "in", tuple(spec)))
        else:
            items.append(Condition(field, "=", (spec,)))
    if not items:
        raise BadRequest("empty metadata query: give at least one condition")
    check_condition_count(len(items), limits)
    return items[0] if len(items) == 1 else BoolOp("AND", tuple(items))


def as_query(query: str | Mapping[str, Any], limits: QueryLimits = QueryLimits()) -> Node:
    if isinstance(query, str):
        return parse_query(query, limits)
    if isinstance(query, Mapping):
        return from_dict(query, limits)
    raise BadRequest(f"metadata query must be a string or a dict, not {type(query).__name__}")


def fields_of(node: Node) -> set[str]:
    if isinstance(node, Condition):
        return {node.field}
    return set().union(*(fields_of(item) for item in node.items))
