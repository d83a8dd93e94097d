"""What the catalog reports after each operation (the accounting's DataOperation records plug in here)."""

from __future__ import annotations

from typing import Protocol


class OperationRecorder(Protocol):
    """Called once per catalog operation (and per storage element where one is involved)."""

    def record(
        self, operation: str, user: str, group: str, se: str, files: int, size: int, ok: int, failed: int
    ) -> None: ...


class NullRecorder:
    """The default: records nothing."""

    def record(
        self, operation: str, user: str, group: str, se: str, files: int, size: int, ok: int, failed: int
    ) -> None:
        return None
