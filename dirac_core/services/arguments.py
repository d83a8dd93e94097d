"""One validation layer for the arguments of every RPC method and REST route, before any logic runs.

Two checks, both refusing with a `BadRequest` (400) that names the argument:

* `check_json_value`: what any decoded argument must be, whatever the method: nesting at most
  `MAX_ARGUMENT_DEPTH`, finite numbers, integers that fit a signed 64-bit column, strings that are
  valid Unicode (no lone surrogates, which no database can store).
* `MethodArguments`: the declared parameter types of a method. RPC tables declare their methods with
  annotated parameters (``job_id: JobId``, ``names: Names``); each argument is validated strictly
  against its annotation (no ``true`` for 1, no ``1.5`` for 1, no ``"Status"`` for a list of names).
  Parameters annotated ``Any`` (or not at all) get the generic check only.

REST routes use the same annotated types (`JobIdPath` for path parameters, `JobId` in models).
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Path
from pydantic import ConfigDict, Field, Strict, TypeAdapter, ValidationError

from dirac_core.db.base import MAX_BIGINT
from dirac_core.errors import BadRequest
from dirac_core.wms.submission import KEY_PATTERN

MAX_ARGUMENT_DEPTH = 32  # lists/dicts inside lists/dicts: DIRAC's deepest real arguments are ~4
MIN_BIGINT = -MAX_BIGINT - 1

# ---------------------------------------------------------------------------------------- declared types
JobId = Annotated[int, Strict(), Field(ge=1, le=MAX_BIGINT)]
# DIRAC clients send one JobID, a numeric string, or a list of them.
JobIdText = Annotated[str, Strict(), Field(pattern=r"^\s*[1-9][0-9]{0,18}\s*$")]
JobIds = JobId | JobIdText | list[JobId | JobIdText]
JobIdPath = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="JobID (1 .. 2^63-1)")]
Text = Annotated[str, Strict()]
Names = list[Annotated[str, Strict()]]
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_BIGINT)]
Positive = Annotated[int, Strict(), Field(ge=1, le=MAX_BIGINT)]
Flag = Annotated[bool, Strict()]
Blob = Annotated[bytes, Strict()]  # DIRAC sends file contents as JEncoded bytes ({"__dCls": "b64", ...})
# One per logical submission, chosen by the client (a UUID, ...): a retry with it gets the same JobIDs.
IdempotencyKey = Annotated[str, Strict(), Field(min_length=1, max_length=128, pattern=KEY_PATTERN)]
Fields = dict[str, Any]  # a JSON object (DIRAC's selectDict, resource description, ...)
Lfns = Annotated[str, Strict()] | list[Annotated[str, Strict()]] | dict[str, Any]  # one, a list, or keyed
LfnMap = dict[str, Any]  # DIRAC's {lfn: {...}} of the bulk writes
PairsOrFields = list[Annotated[list[Any], Field(min_length=2, max_length=2)]] | dict[str, Any]

_STRICT = ConfigDict(strict=True)


def check_json_value(value: Any, where: str, depth: int = 0) -> None:
    """Refuse what no method can use: too deep, NaN/Infinity, out-of-range integers, lone surrogates."""
    if depth > MAX_ARGUMENT_DEPTH:
        raise BadRequest(f"{where} is nested deeper than {MAX_ARGUMENT_DEPTH} levels: send a flatter value")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not MIN_BIGINT <= value <= MAX_BIGINT:
            raise BadRequest(f"{where} = {value} is outside the 64-bit integer range: send a smaller number")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadRequest(f"{where} is {value!r} (NaN/Infinity): send a finite number")
    elif isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_json_value(item, f"{where}[{index}]", depth + 1)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                _check_text(key, f"a key of {where}")
            check_json_value(item, f"{where}[{key!r}]", depth + 1)


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(f"{where} holds a lone surrogate (invalid Unicode): send valid UTF-8 text") from None


class MethodArguments:
    """The declared parameters of one RPC method (after the caller), validated strictly."""

    def __init__(self, name: str, method: Any) -> None:
        self.name = name
        self.method = method
        try:
            self.signature: inspect.Signature | None = inspect.signature(method)
        except ValueError:  # builtins without a signature: arity is the call's business
            self.signature = None
        try:
            hints = typing.get_type_hints(method, include_extras=True)
        except Exception:  # unresolvable annotation: validate generically only
            hints = {}
        self.adapters: dict[str, TypeAdapter[Any]] = {
            param: TypeAdapter(hint, config=_STRICT if _is_plain(hint) else None)
            for param, hint in hints.items()
            if param != "return" and hint is not Any and not _is_caller(hint)
        }

    def validate(self, caller: Any, args: list[Any]) -> list[Any]:
        """The arguments, checked; a `BadRequest` names the first bad one and what it must be."""
        if self.signature is None:
            for index, value in enumerate(args):
                check_json_value(value, f"argument {index + 1} of {self.name}")
            return args
        try:
            bound = self.signature.bind(caller, *args)
        except TypeError as exc:
            raise BadRequest(f"wrong arguments for {self.name}: {exc}: check the args list sent") from exc
        for param, value in list(bound.arguments.items())[1:]:
            where = f"argument {param!r} of {self.name}"
            check_json_value(value, where)
            adapter = self.adapters.get(param)
            if adapter is None:
                continue
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                problem = exc.errors()[0]
                raise BadRequest(f"{where}: {problem['msg']}, got {_short(value)}") from None
        return args


def _is_plain(hint: Any) -> bool:
    return hint in (int, str, bool, float)


def _is_caller(hint: Any) -> bool:
    return getattr(hint, "__name__", "") == "Caller"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
