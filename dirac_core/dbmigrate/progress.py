"""Progress of a migration: per-table bars with rows/s and ETA (rich), or nothing (tests, --quiet)."""

from __future__ import annotations

import threading
from typing import Any, Protocol


class Progress(Protocol):
    def table(self, db: str, table: str, total_rows: int) -> None: ...
    def advance(self, db: str, table: str, rows: int) -> None: ...
    def note(self, message: str) -> None: ...


class NullProgress:
    def table(self, db: str, table: str, total_rows: int) -> None:
        pass

    def advance(self, db: str, table: str, rows: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class RichProgress:
    """One bar per table: verified rows of (estimated, then exact) total, rows/s, ETA."""

    def __init__(self, console: Any = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._tasks: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._bars.stop()

    def table(self, db: str, table: str, total_rows: int) -> None:
        with self._lock:
            task = self._tasks.get((db, table))
            if task is None:
                self._tasks[(db, table)] = self._bars.add_task(f"{db}.{table}", total=total_rows, rate="-")
            else:
                self._bars.update(task, total=total_rows)

    def advance(self, db: str, table: str, rows: int) -> None:
        with self._lock:
            task = self._tasks.get((db, table))
            if task is None:
                return
            self._bars.advance(task, rows)
            speed = next(t.speed for t in self._bars.tasks if t.id == task)  # rich's moving-window rate
            self._bars.update(task, rate=f"{speed:,.0f}" if speed else "-")

    def note(self, message: str) -> None:
        self._bars.console.print(message)


__all__ = ["NullProgress", "Progress", "RichProgress"]
