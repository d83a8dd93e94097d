"""Write freeze windows of a run, as users lived them.

The engine reports its own freeze: from the source's ``read_only = ON`` to the target writable
(``freeze_seconds``, across engine restarts). Users write again only once the new components run,
at the end of the step that ends the freeze (migrate-db's ``read_only_until``: cutover). A run
interrupted in between leaves the old site read-only for as long as the gap lasts, which the
engine's figure does not show. The window here runs from the first freeze of the step's instances
(they may share one source server, whose ``read_only`` is global) to the end of that later step,
across any interruption: the engine keeps its freeze time in its state, the runner its steps' ends.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dirac_kit.runbook.model import Runbook
from dirac_kit.runbook.runner import StepRecord


@dataclass(frozen=True)
class FreezeWindow:
    instance: str
    engine_seconds: float  # the engine's own freeze: source read-only until the target is writable
    mode: str
    verdict: str
    step: str  # the step that froze
    frozen_at: float | None  # epoch: the first freeze among the step's instances (source read_only = ON)
    writable_at: float | None  # epoch: end of the step that ends the freeze (None: not run yet)
    until_step: str = ""

    @property
    def write_seconds(self) -> float | None:
        """Seconds writes were refused: first freeze until the freeze-ending step finished (None if unknown)."""
        if self.frozen_at is None or self.writable_at is None:
            return None
        return max(self.writable_at - self.frozen_at, self.engine_seconds)

    def frozen_for(self, now: float | None = None) -> float | None:
        """Seconds since the first freeze while the freeze-ending step has not run yet."""
        if self.frozen_at is None or self.writable_at is not None:
            return None
        return (time.time() if now is None else now) - self.frozen_at


def _number(value: Any) -> float | None:
    """A float from a step's results (Ansible may hand over None, "" or "None")."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def step_end(record: StepRecord) -> float:
    """Epoch at which a recorded step ended (its start, to the second, plus its duration)."""
    return datetime.fromisoformat(record.started).timestamp() + record.duration_seconds


def freeze_windows(book: Runbook, records: Mapping[str, StepRecord]) -> dict[str, FreezeWindow]:
    """Per instance, the freeze window a done step recorded (migrate-db's `instances`)."""
    until = {step.id: step.read_only_until for step in book.steps}
    found: dict[str, FreezeWindow] = {}
    for record in records.values():
        instances = record.results.get("instances")
        if not isinstance(instances, dict):
            continue
        infos = {name: info for name, info in instances.items() if isinstance(info, dict)}
        starts = [t for info in infos.values() if (t := _number(info.get("frozen_at"))) is not None]
        until_step = until.get(record.step_id, "")
        # Only a step that leaves a server read-only until a later one has a window beyond the engine's.
        frozen_at = min(starts) if starts and until_step else None
        ending = records.get(until_step) if until_step else None
        writable_at = step_end(ending) if ending is not None else None
        for name, info in infos.items():
            seconds = _number(info.get("freeze_seconds"))
            if seconds is None:
                continue
            found[name] = FreezeWindow(
                instance=name,
                engine_seconds=seconds,
                mode=str(info.get("mode", "")),
                verdict=str(info.get("verdict", "")),
                step=record.step_id,
                frozen_at=frozen_at,
                writable_at=writable_at,
                until_step=until_step,
            )
    return found
