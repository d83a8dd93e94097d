"""DEncode against DIRAC's own: golden bytes taken from DIRAC 9.1.22's encoder, and, when the DIRAC
client venv is installed (scripts/dirac-client.sh), round trips through DIRAC's DEncode itself."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dirac_core import dencode

# Printed by DIRAC 9.1.22: DEncode.encode({1: 'a', 'x': [1.5, None, True, (2, 3)],
# 'd': datetime(2024, 1, 2, 3, 4, 5, 6), 'big': 2e20, 'small': 2e-10, 'u': 'é'})
GOLDEN = b"di1es1:as1:xlf1.5enb1ti2ei3eees1:dzati2024ei1ei2ei3ei4ei5ei6enes3:bigf2e+20es5:smallf2e-10es1:us2:\xc3\xa9e"
GOLDEN_VALUE = {
    1: "a",
    "x": [1.5, None, True, (2, 3)],
    "d": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),  # DIRAC's naive UTC
    "big": 2e20,
    "small": 2e-10,
    "u": "é",
}

DIRAC_PYTHON = Path(
    os.environ.get("DIRAC_CLIENT_CACHE", Path.home() / ".cache/dirac-kit/dirac-client"), "9.1.22/bin/python"
)


def test_encode_gives_diracs_bytes() -> None:
    assert dencode.encode(GOLDEN_VALUE) == GOLDEN


def test_decode_of_diracs_bytes() -> None:
    assert dencode.decode(GOLDEN) == (GOLDEN_VALUE, len(GOLDEN))


@pytest.mark.parametrize(
    "value",
    [0, -7, 10**30, 0.1, -2.5e-300, "", "a:b", "ü€", True, False, None, [], (), {}, [[[]]], {"k": {"n": [1, (2,)]}}],
)
def test_round_trip(value: Any) -> None:
    assert dencode.decode_all(dencode.encode(value)) == value


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (b"i12", "truncated"),
        (b"ixe", "bad integer"),
        (b"s5:ab", "runs past the end"),
        (b"s-1:", "bad string length"),
        (b"l" * 500 + b"e" * 500, "nested deeper"),
        (b"dldee", "cannot be a dict key"),
        (b"x", "unknown DEncode type"),
        (b"i1ei2e", "stray bytes"),
        (b"zati2024ei13ei1eee", "bad datetime"),
    ],
)
def test_hostile_bytes_give_one_clear_error(data: bytes, problem: str) -> None:
    with pytest.raises(dencode.DEncodeError, match=problem):
        dencode.decode_all(data)


def test_unknown_types_are_refused_by_name() -> None:
    with pytest.raises(dencode.DEncodeError, match="cannot DEncode a object"):
        dencode.encode(object())


_DIRAC_SIDE = """
import json, sys, datetime
from DIRAC.Core.Utilities import DEncode
ours = bytes.fromhex(sys.argv[1])
value, length = DEncode.decode(ours)
assert length == len(ours), (length, len(ours))
print(json.dumps({"reencoded": DEncode.encode(value).hex(), "theirs": DEncode.encode(
    {7: [1, 2.25, "s", None, False], "t": (1, "x"), "d": datetime.date(2020, 2, 29)}).hex()}))
"""


@pytest.mark.skipif(not DIRAC_PYTHON.exists(), reason="DIRAC client venv not installed: scripts/dirac-client.sh 9.1.22")
def test_round_trip_through_diracs_dencode() -> None:
    value = {"OK": True, "Value": {12: {"Status": "Done", "Sites": ["A", "B"]}, "n": None, "t": (1, 2.5, "é")}}
    ours = dencode.encode(value)
    result = subprocess.run(
        [str(DIRAC_PYTHON), "-c", _DIRAC_SIDE, ours.hex()], capture_output=True, text=True, check=True, timeout=60
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert bytes.fromhex(answer["reencoded"]) == ours  # DIRAC read our bytes back to the same value
    theirs = dencode.decode_all(bytes.fromhex(answer["theirs"]))
    assert theirs == {7: [1, 2.25, "s", None, False], "t": (1, "x"), "d": datetime.date(2020, 2, 29)}
