"""The metadata query language: what parses to what, and errors that name the position."""

from __future__ import annotations

import pytest

from dirac_core.catalog.query import BoolOp, Condition, as_query, fields_of, parse_query
from dirac_core.errors import BadRequest


def test_single_comparisons() -> None:
    assert parse_query("energy>10") == Condition("energy", ">", ("10",))
    assert parse_query("type = raw") == Condition("type", "=", ("raw",))
    assert parse_query("type==raw") == Condition("type", "=", ("raw",))
    for op in ("!=", "<", ">", "<=", ">="):
        assert parse_query(f"run{op}3") == Condition("run", op, ("3",))


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    a, b, c = Condition("a", "=", ("1",)), Condition("b", "=", ("2",)), Condition("c", "=", ("3",))
    assert parse_query("a=1 OR b=2 AND c=3") == BoolOp("OR", (a, BoolOp("AND", (b, c))))
    assert parse_query("(a=1 or b=2) and c=3") == BoolOp("AND", (BoolOp("OR", (a, b)), c))
    assert parse_query("a=1 AND b=2 AND c=3") == BoolOp("AND", (a, b, c))


def test_lists_quotes_and_not_in() -> None:
    assert parse_query("type in (raw, 'mc sim')") == Condition("type", "in", ("raw", "mc sim"))
    assert parse_query("type NOT IN (raw)") == Condition("type", "nin", ("raw",))
    assert parse_query("type=raw,reco") == Condition("type", "in", ("raw", "reco"))
    assert parse_query("type!=raw,reco") == Condition("type", "nin", ("raw", "reco"))
    assert parse_query('name="a b"') == Condition("name", "=", ("a b",))
    assert parse_query("date>=2024-01-01") == Condition("date", ">=", ("2024-01-01",))
    assert fields_of(parse_query("a=1 AND (b=2 OR c in (1,2))")) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("energy>>10", 8),
        ("energy>10 type=raw", 11),
        ("(energy>10", 11),
        ("energy>10 AND", 14),
        ("energy", 7),
        ("10>energy", 1),
        ("type in raw", 9),
        ("a=1 AND OR b=2", 9),
        ("energy>10 @ x", 11),
        ("type in (a,", 12),
        ("run<1,2", 4),
    ],
)
def test_errors_name_the_position(query: str, position: int) -> None:
    with pytest.raises(BadRequest, match=f"position {position}\\b"):
        parse_query(query)


def test_empty_and_dict_form() -> None:
    with pytest.raises(BadRequest, match="empty"):
        parse_query("   ")
    node = as_query({"energy": {">": 10, "<=": 20}, "type": ["raw", "reco"], "run": 5})
    assert node == BoolOp(
        "AND",
        (
            Condition("energy", ">", (10,)),
            Condition("energy", "<=", (20,)),
            Condition("type", "in", ("raw", "reco")),
            Condition("run", "=", (5,)),
        ),
    )
    with pytest.raises(BadRequest, match="operator"):
        as_query({"energy": {"~": 1}})
    with pytest.raises(BadRequest, match="string or a dict"):
        as_query(42)  # type: ignore[arg-type]
