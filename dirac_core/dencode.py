"""DIRAC's DEncode: the bencode-like encoding of DISET messages (``dips://``).

Same bytes as ``DIRAC.Core.Utilities.DEncode``: ``i<int>e``, ``f<repr>e``, ``b0``/``b1``,
``s<len>:<bytes>`` (also ``u``), ``n``, ``l...e``, ``t...e``, ``d<key><value>...e`` and datetimes as
``za``/``zd``/``zt`` followed by a tuple. Unlike JSON it keeps integer dict keys and tuples.

Decoding is hostile-input safe: a nesting limit, every length and delimiter checked against the buffer,
and one `DEncodeError` naming the offset instead of IndexError/ValueError/RecursionError.
"""

from __future__ import annotations

import datetime
from typing import Any

MAX_DEPTH = 100


class DEncodeError(ValueError):
    """The bytes are not DEncode (or hold something DEncode cannot carry)."""


def encode(value: Any) -> bytes:
    parts: list[bytes] = []
    _encode(value, parts, 0)
    return b"".join(parts)


def _encode(value: Any, out: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise DEncodeError(f"cannot DEncode structures nested deeper than {MAX_DEPTH}")
    # bool before int: bool is an int subclass.
    if isinstance(value, bool):
        out.append(b"b1" if value else b"b0")
    elif isinstance(value, int):
        out += (b"i", str(value).encode(), b"e")
    elif isinstance(value, float):
        out += (b"f", repr(value).encode(), b"e")
    elif isinstance(value, str | bytes | bytearray):
        data = value.encode() if isinstance(value, str) else bytes(value)
        out += (b"s", str(len(data)).encode(), b":", data)
    elif value is None:
        out.append(b"n")
    elif isinstance(value, list | tuple):
        out.append(b"l" if isinstance(value, list) else b"t")
        for item in value:
            _encode(item, out, depth + 1)
        out.append(b"e")
    elif isinstance(value, dict):
        out.append(b"d")
        for key, item in value.items():
            _encode(key, out, depth + 1)
            _encode(item, out, depth + 1)
        out.append(b"e")
    elif isinstance(value, set | frozenset):
        _encode(sorted(value), out, depth)  # as our JEncode: a set travels as a sorted list
    elif isinstance(value, datetime.datetime):
        out.append(b"za")
        fields = (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)
        _encode((*fields, None), out, depth + 1)  # DIRAC sends the tzinfo slot; naive UTC here
    elif isinstance(value, datetime.date):
        out.append(b"zd")
        _encode((value.year, value.month, value.day), out, depth + 1)
    elif isinstance(value, datetime.time):
        out.append(b"zt")
        _encode((value.hour, value.minute, value.second, value.microsecond, None), out, depth + 1)
    else:
        raise DEncodeError(f"cannot DEncode a {type(value).__name__}: send str, int, float, list, dict or datetime")


def decode(data: bytes) -> tuple[Any, int]:
    """(value, bytes consumed), as DIRAC's ``DEncode.decode``."""
    if not data:
        raise DEncodeError("empty DEncode message")
    return _Decoder(data).value(0, 0)


def decode_all(data: bytes) -> Any:
    """The one value `data` holds; trailing bytes are an error."""
    value, end = decode(data)
    if end != len(data):
        raise DEncodeError(f"{len(data) - end} stray bytes after the DEncoded value at offset {end}")
    return value


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def _find(self, delimiter: bytes, start: int) -> int:
        end = self.data.find(delimiter, start)
        if end < 0:
            raise DEncodeError(f"truncated DEncode: no {delimiter.decode()!r} after offset {start}")
        return end

    def _tag(self, i: int) -> int:
        if i >= len(self.data):
            raise DEncodeError(f"truncated DEncode at offset {i}")
        return self.data[i]

    def _number_text(self, i: int) -> tuple[str, int]:
        end = self._find(b"e", i + 1)
        if self.data[i] == ord("f") and end + 1 < len(self.data) and self.data[end + 1] in b"+-":
            end = self._find(b"e", end + 1)  # DIRAC's floats written as 1e+20: "f1e+20e"
        return self.data[i + 1 : end].decode("ascii", errors="replace"), end + 1

    def value(self, i: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise DEncodeError(f"DEncode nested deeper than {MAX_DEPTH} at offset {i}")
        tag = chr(self._tag(i))
        if tag in "iI":
            text, nxt = self._number_text(i)
            try:
                return int(text), nxt
            except ValueError:
                raise DEncodeError(f"bad integer {text[:40]!r} at offset {i}") from None
        if tag == "f":
            text, nxt = self._number_text(i)
            try:
                return float(text), nxt
            except ValueError:
                raise DEncodeError(f"bad float {text[:40]!r} at offset {i}") from None
        if tag == "b":
            return self._tag(i + 1) != ord("0"), i + 2
        if tag in "su":
            colon = self._find(b":", i + 1)
            length_text = self.data[i + 1 : colon]
            if not length_text.isdigit():
                raise DEncodeError(f"bad string length {length_text[:20]!r} at offset {i}")
            end = colon + 1 + int(length_text)
            if end > len(self.data):
                raise DEncodeError(f"truncated DEncode: string at offset {i} runs past the end")
            return self.data[colon + 1 : end].decode(errors="surrogateescape"), end
        if tag == "n":
            return None, i + 1
        if tag in "lt":
            items: list[Any] = []
            i += 1
            while self._tag(i) != ord("e"):
                item, i = self.value(i, depth + 1)
                items.append(item)
            return (items if tag == "l" else tuple(items)), i + 1
        if tag == "d":
            result: dict[Any, Any] = {}
            i += 1
            while self._tag(i) != ord("e"):
                key, i = self.value(i, depth + 1)
                if isinstance(key, list | dict):
                    raise DEncodeError(f"a {type(key).__name__} cannot be a dict key (offset {i})")
                result[key], i = self.value(i, depth + 1)
            return result, i + 1
        if tag == "z":
            return self._datetime(i, depth)
        raise DEncodeError(f"unknown DEncode type {tag!r} at offset {i}")

    def _datetime(self, i: int, depth: int) -> tuple[Any, int]:
        kind = chr(self._tag(i + 1))
        fields, end = self.value(i + 2, depth + 1)
        if not isinstance(fields, tuple | list) or not all(isinstance(f, int) or f is None for f in fields):
            raise DEncodeError(f"bad datetime fields at offset {i}")
        numbers = [f for f in fields if f is not None]
        try:
            if kind == "a":
                return datetime.datetime(*numbers[:7]), end  # DIRAC sends naive UTC
            if kind == "d":
                return datetime.date(*numbers[:3]), end
            if kind == "t":
                return datetime.time(*numbers[:4]), end
        except (TypeError, ValueError) as exc:
            raise DEncodeError(f"bad datetime at offset {i}: {exc}") from None
        raise DEncodeError(f"unknown datetime kind {kind!r} at offset {i}")
