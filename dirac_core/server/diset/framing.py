"""DISET message framing over one TLS connection (DIRAC's BaseTransport.sendData/receiveData).

A message is ``<length>:<payload>``; a keep-alive is the same prefixed with ``dka`` and carries
``S_OK({"id": ..., "kaping": bool})``: a ping is answered with a pong, then reading goes on. The
payload is DEncode, or JSON from DIRAC clients with ``DIRAC_USE_JSON_ENCODE`` (DIRAC's MixedEncode
tries DEncode first, then JSON); replies are DEncode, which both kinds of client decode and which
keeps integer dict keys (JobIDs).
"""

from __future__ import annotations

from typing import Any, Protocol

from dirac_core import dencode, jencode
from dirac_core.errors import BadRequest

KEEP_ALIVE_MAGIC = b"dka"
_MAX_LENGTH_DIGITS = 10  # DIRAC looks for the ':' in the first 10 bytes
_READ_CHUNK = 16384


class FramingError(Exception):
    """The peer broke the protocol (or went away): the connection is closed."""


class Stream(Protocol):
    def recv(self, size: int) -> bytes: ...
    def sendall(self, data: bytes) -> Any: ...


def frame(value: Any, prefix: bytes = b"") -> bytes:
    payload = dencode.encode(value)
    return b"".join((prefix, str(len(payload)).encode(), b":", payload))


def decode_payload(payload: bytes) -> Any:
    try:
        return dencode.decode_all(payload)
    except dencode.DEncodeError as dencode_error:
        try:
            return jencode.decode(payload)
        except BadRequest:
            raise FramingError(f"undecodable message (neither DEncode nor JSON): {dencode_error}") from None


class Connection:
    """Reads and writes DISET messages on `stream`; `max_size` bounds one message's payload."""

    def __init__(self, stream: Stream, max_size: int) -> None:
        self.stream = stream
        self.max_size = max_size
        self.buffer = b""

    def send(self, value: Any) -> None:
        self.stream.sendall(frame(value))

    def receive(self, max_size: int | None = None) -> Any:
        """The next message that is not a keep-alive (pings are answered on the way)."""
        limit = self.max_size if max_size is None else min(max_size, self.max_size)
        while True:
            is_keep_alive = self._read_header_start()
            payload = self._read_payload(limit)
            value = decode_payload(payload)
            if not is_keep_alive:
                return value
            self._answer_keep_alive(value)

    def _fill(self) -> None:
        chunk = self.stream.recv(_READ_CHUNK)
        if not chunk:
            raise FramingError("peer closed the connection")
        self.buffer += chunk

    def _read_header_start(self) -> bool:
        while len(self.buffer) < len(KEEP_ALIVE_MAGIC) and KEEP_ALIVE_MAGIC.startswith(self.buffer):
            self._fill()
        if self.buffer.startswith(KEEP_ALIVE_MAGIC):
            self.buffer = self.buffer[len(KEEP_ALIVE_MAGIC) :]
            return True
        return False

    def _read_payload(self, limit: int) -> bytes:
        while b":" not in self.buffer[: _MAX_LENGTH_DIGITS + 1]:
            if len(self.buffer) > _MAX_LENGTH_DIGITS:
                raise FramingError(f"bad frame header {self.buffer[:12]!r}: expected <length>:<payload>")
            self._fill()
        header, _, rest = self.buffer.partition(b":")
        if not header.isdigit():
            raise FramingError(f"bad frame length {header!r}: expected <length>:<payload>")
        length = int(header)
        if length > limit:
            raise FramingError(f"message of {length} bytes is over the limit of {limit} bytes")
        self.buffer = rest
        while len(self.buffer) < length:
            self._fill()
        payload, self.buffer = self.buffer[:length], self.buffer[length:]
        return payload

    def _answer_keep_alive(self, value: Any) -> None:
        data = value.get("Value") if isinstance(value, dict) else None
        if not isinstance(data, dict) or "id" not in data or "kaping" not in data:
            raise FramingError("invalid keep-alive: expected S_OK({'id': ..., 'kaping': ...})")
        if data["kaping"]:
            self.stream.sendall(frame({"OK": True, "Value": {"id": data["id"], "kaping": False}}, KEEP_ALIVE_MAGIC))
