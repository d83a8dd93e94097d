"""DIRAC's JEncode wire format for HTTPS RPC (``DIRAC.Core.Utilities.JEncode``).

JSON plus tagged objects: ``{"__dCls": "dt", "obj": "%Y-%m-%d %H:%M:%S"}`` for datetimes,
``"date"`` for dates and ``"b64"`` for bytes. Tuples become lists (as in DIRAC). Arbitrary
``JSerializable`` classes (``__dCls`` + ``__dMod``) are refused: instantiating classes named by
the peer is not something a server should do.
"""

from __future__ import annotations

import datetime
import json
from base64 import b64decode, b64encode
from typing import Any

from dirac_core.errors import BadRequest

DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime.datetime):
            return {"__dCls": "dt", "obj": o.strftime(DATETIME_FORMAT)}
        if isinstance(o, datetime.date):
            return {"__dCls": "date", "obj": o.strftime(DATE_FORMAT)}
        if isinstance(o, bytes | bytearray | memoryview):
            return {"__dCls": "b64", "obj": b64encode(bytes(o)).decode()}
        if isinstance(o, set | frozenset):
            return sorted(o)
        return super().default(o)


def _object_hook(data: dict[str, Any]) -> Any:
    cls = data.get("__dCls")
    if cls is None:
        return data
    try:
        if cls == "dt":
            return datetime.datetime.strptime(data["obj"], DATETIME_FORMAT)
        if cls == "date":
            return datetime.datetime.strptime(data["obj"], DATE_FORMAT).date()
        if cls == "b64":
            return b64decode(data["obj"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest(f"malformed JEncoded {cls!r} object: {exc}") from exc
    raise BadRequest(f"JEncoded class {cls!r} is not accepted: send plain JSON, datetimes, dates or bytes")


def encode(data: Any) -> str:
    return json.dumps(data, cls=_Encoder)


def decode(text: str | bytes) -> Any:
    """Decode JEncoded text; any problem is a `BadRequest` naming it."""
    try:
        return json.loads(text, object_hook=_object_hook)
    except BadRequest:
        raise
    except RecursionError:
        raise BadRequest("JEncoded args are nested too deeply to decode: send a flatter value") from None
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"body is not valid JEncoded JSON ({exc}): send JSON as DIRAC's JEncode does") from exc
