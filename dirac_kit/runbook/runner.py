"""Run a runbook step by step, resumably, in the spirit of openstack-ansible's run-upgrade.sh.

The one step engine of a migration: the runner owns step order, markers, resume, the lock and the
reports. A step names a plain playbook (no marker logic of its own); the runner runs it with
ansible-playbook as every kit action does (dirac_kit.playbook: the venv's ansible-playbook, the
kit's ansible.cfg) and, once it succeeded, leaves the step's marker (JSON with its timings) in the
run directory; a re-run skips marked steps. On failure the remaining steps are printed with their
commands so an operator can re-run or finish by hand. A step may write results (freeze windows,
verify reports) as JSON to the file named by $DIRAC_KIT_RESULT (the playbooks' set_stats, written by
playbooks/callback_plugins/dirac_steps.py); they end up in the run log and the HTML report.

A SIGTERM or SIGINT stops the step (dirac_kit.runbook.interrupt) and the run says where it stopped,
what may still run where and how to resume. A step that leaves a database server read-only until a
later step (migrate-db until cutover) makes every resume and `runbook status` say so while it lasts.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dirac_kit.playbook import ansible_environment, ansible_playbook
from dirac_kit.runbook.failure import failure_excerpt
from dirac_kit.runbook.interrupt import Interrupted, Interruptions, catching_signals
from dirac_kit.runbook.lock import LOCK_NAME, exclusive_run, holders
from dirac_kit.runbook.model import Runbook, Step

_OUTPUT_TAIL_LINES = 40


@dataclass(frozen=True)
class StepRecord:
    step_id: str
    status: str  # "done", "failed", "interrupted", "manual"
    started: str
    duration_seconds: float
    returncode: int | None
    output_tail: str
    results: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class RunState:
    """Markers and the run log of one runbook run directory."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.markers = run_dir / "markers"

    def marker(self, index: int, step: Step) -> Path:
        return self.markers / f"{index:02d}-{step.id}.done"

    def is_done(self, index: int, step: Step) -> bool:
        return self.marker(index, step).is_file()

    def mark_done(self, index: int, step: Step, record: StepRecord) -> None:
        self.markers.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.marker(index, step), json.dumps(record.as_dict(), indent=2))

    def done_step_ids(self) -> set[str]:
        """Ids of the steps marked done, read from the marker names alone (no book needed)."""
        if not self.markers.is_dir():
            return set()
        return {path.stem.partition("-")[2] for path in self.markers.glob("[0-9][0-9]-*.done")}

    def clear_from(self, book: Runbook, step_id: str) -> list[str]:
        """Forget the markers of `step_id` and every later step (they must run again); returns their ids."""
        first = book.step_ids.index(book.step(step_id).id)
        cleared = []
        for index, step in enumerate(book.steps, start=1):
            if index - 1 >= first and self.is_done(index, step):
                self.marker(index, step).unlink()
                cleared.append(step.id)
        return cleared

    def done_records(self, book: Runbook) -> dict[str, StepRecord]:
        records: dict[str, StepRecord] = {}
        for index, step in enumerate(book.steps, start=1):
            if self.is_done(index, step):
                records[step.id] = StepRecord(**json.loads(self.marker(index, step).read_text()))
        return records

    def append_log(self, record: StepRecord) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with (self.run_dir / "run-log.jsonl").open("a", encoding="utf-8") as log:
            log.write(json.dumps(record.as_dict()) + "\n")

    def log_records(self) -> list[StepRecord]:
        path = self.run_dir / "run-log.jsonl"
        if not path.is_file():
            return []
        return [StepRecord(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a crash never leaves a half-written marker


Echo = Callable[[str], None]


def refusal(book: Runbook, state_dir: Path, load: Callable[[str], Runbook]) -> str | None:
    """Why `book` must not run now (another book's step done or not, by its markers), or None."""
    for guard in book.requires:
        if guard.step not in RunState(state_dir / guard.book).done_records(load(guard.book)):
            return f"{book.name}: {guard.why} ({guard.book} step {guard.step} not done): {guard.fix or 'run it first'}"
    for guard in book.forbids:
        if guard.step in RunState(state_dir / guard.book).done_records(load(guard.book)):
            return f"{book.name}: {guard.why} ({guard.book} step {guard.step} done)"
    return None


def pending_steps(book: Runbook, state: RunState, only: str | None = None, until: str | None = None) -> list[Step]:
    """The steps a run would start (not done yet, within --only/--until), in order."""
    last = book.step_ids.index(until) + 1 if until is not None else len(book.steps)
    return [
        step
        for index, step in enumerate(book.steps, start=1)
        if index <= last and (only is None or step.id == only) and not state.is_done(index, step)
    ]


def run_book(
    book: Runbook,
    state: RunState,
    cwd: Path,
    echo: Echo,
    only: str | None = None,
    until: str | None = None,
    root: Path | None = None,
    resume: str = "",
    grace: float = 60.0,
    load: Callable[[str], Runbook] | None = None,
) -> bool:
    """Run every step not yet marked done (up to `until`, included); returns False (after printing
    what is left) on failure. One run at a time per state directory (see dirac_kit.runbook.lock).
    `root` is the kit checkout whose playbooks/ the steps' playbooks are in (default: `cwd`);
    `resume` is the command that resumes this run, printed when it stops. A SIGTERM/SIGINT stops
    the step under way (`grace` seconds to end) and raises :class:`Interrupted` after saying where.
    `load` reads the other books, whose markers a done step may make stale (`Step.resets`)."""
    resume = resume or "the same command"
    with exclusive_run(state.run_dir.parent / LOCK_NAME, echo) as lock_fd, catching_signals(grace) as signals:
        for line in read_only_warnings(book, state):
            echo(line)
        run = _Run(book, state, cwd, root or cwd, echo, resume, lock_fd, signals, load)
        return run.steps(only, until)


@dataclass
class _Run:
    book: Runbook
    state: RunState
    cwd: Path
    root: Path
    echo: Echo
    resume: str
    lock_fd: int
    signals: Interruptions
    load: Callable[[str], Runbook] | None = None

    def steps(self, only: str | None, until: str | None) -> bool:
        book, state, echo = self.book, self.state, self.echo
        for index, step in enumerate(book.steps, start=1):
            if until is not None and index > book.step_ids.index(until) + 1:
                echo(f"stopping after {until} as asked; re-run without --until to go on with {step.id}")
                break
            if only is not None and step.id != only:
                continue
            if state.is_done(index, step):
                echo(f"[{index}/{len(book.steps)}] {step.id}: already done, skipping")
                continue
            self._stop_if_interrupted(step, None)
            echo(f"[{index}/{len(book.steps)}] {step.id}: {step.title}")
            if step.manual:
                echo(f"    manual step: {step.expected or step.title}; mark it done with --only {step.id} once done")
                state.append_log(_record(step, "manual", 0.0, None, "", {}))
                return False
            if not step.command:
                record = _record(step, "done", 0.0, 0, "", {})
            else:
                echo(f"    $ {shlex.join(step.command)}")
                record = _execute(step, state, self.cwd, self.root, self.lock_fd, self.signals)
            self._stop_if_interrupted(step, record)
            state.append_log(record)
            if record.status != "done":
                _print_failure(book, index, record, echo, self.resume)
                return False
            state.mark_done(index, step, record)
            echo(f"    done in {record.duration_seconds:.1f} s")
            self._reset_others(step)
        return True

    def _reset_others(self, step: Step) -> None:
        """Forget the markers this step makes stale in other books (they must run again)."""
        for other, first in step.resets.items():
            if self.load is None:
                raise ValueError(f"step {step.id} resets book {other}: run_book needs `load` to read it")
            cleared = RunState(self.state.run_dir.parent / other).clear_from(self.load(other), first)
            if cleared:
                self.echo(f"    {other} steps {', '.join(cleared)} must run again after {step.id} (markers cleared)")

    def _stop_if_interrupted(self, step: Step, record: StepRecord | None) -> None:
        """After a signal: record the step as interrupted, say what may still run and how to resume."""
        signum = self.signals.signum
        if signum is None:
            return
        name = signal.Signals(signum).name
        echo = self.echo
        if record is not None:
            self.state.append_log(replace(record, status="interrupted"))
            echo(f"******** interrupted ({name}) during step {step.id} (its command exit {record.returncode}) ********")
            if record.output_tail:
                echo(record.output_tail)
            if step.still_running:
                echo(f"may still be running: {step.still_running}")
        else:
            echo(f"******** interrupted ({name}) before step {step.id} ********")
        for pid, command in sorted(holders(self.state.run_dir.parent / LOCK_NAME).items()):
            echo(f"still running here: pid {pid}: {command[:200]} (the resumed run waits for it)")
        if record is not None and step.read_only:
            echo(f"WARNING: {step.read_only} until step {step.read_only_until} has run")
        echo(f"resume with: {self.resume}")
        raise Interrupted(signum, step.id)


def _record(step: Step, status: str, duration: float, rc: int | None, tail: str, results: dict[str, Any]) -> StepRecord:
    return StepRecord(step.id, status, datetime.now(UTC).isoformat(timespec="seconds"), duration, rc, tail, results)


def step_argv(step: Step, root: Path) -> tuple[list[str], dict[str, str]]:
    """What runs for `step`: its playbook with the kit's ansible-playbook and ansible.cfg, or its command.
    A printed ``--vault-id ID@prompt`` is left out: the run has the password in its environment
    (dirac_kit.environment), a prompt per step would stop it."""
    if not step.playbook:
        return step.command, dict(os.environ)
    relative = f"playbooks/{step.playbook}"
    argv = [ansible_playbook()]
    args = iter(step.command[1:])
    for arg in args:
        if arg == "--vault-id":
            value = next(args, "")
            if not value.endswith("@prompt"):
                argv += [arg, value]
            continue
        argv.append(str(root / arg) if arg == relative else arg)
    return argv, ansible_environment(root)


def _execute(
    step: Step, state: RunState, cwd: Path, root: Path, lock_fd: int, signals: Interruptions | None = None
) -> StepRecord:
    # Absolute: the step's tools (Ansible modules) may run in another working directory.
    results_file = (state.run_dir / "results" / f"{step.id}.json").resolve()
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.unlink(missing_ok=True)
    argv, env = step_argv(step, root)
    env["DIRAC_KIT_RESULT"] = str(results_file)
    started = time.monotonic()
    # The lock descriptor goes along: whatever the step leaves running keeps the next run waiting.
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, pass_fds=(lock_fd,)
    )
    stdout, stderr = (signals or Interruptions()).communicate(proc)
    duration = time.monotonic() - started
    output = (stdout + stderr).splitlines()
    (state.run_dir / "results" / f"{step.id}.log").write_text(stdout + stderr, encoding="utf-8")
    results: dict[str, Any] = {}
    if results_file.is_file():
        try:
            results = json.loads(results_file.read_text())
        except json.JSONDecodeError:
            results = {"error": f"step wrote invalid JSON to {results_file}"}
    status = "done" if proc.returncode == 0 else "failed"
    # A failure shows the failing tasks' messages and stderr, which the recap and timings push out of a tail.
    tail = "\n".join(output[-_OUTPUT_TAIL_LINES:]) if proc.returncode == 0 else failure_excerpt(stdout, stderr)
    return _record(step, status, duration, proc.returncode, tail, results)


def _print_failure(book: Runbook, index: int, record: StepRecord, echo: Echo, resume: str) -> None:
    echo(f"******** step {record.step_id} failed (exit {record.returncode}) ********")
    if record.output_tail:
        echo(record.output_tail)
    echo(f"Fix the cause, then resume here with: {resume}")
    echo("or run the remaining steps by hand, in order, from the kit's checkout (the runbook does not record them):")
    for step in book.steps[index - 1 :]:
        command = shlex.join(step.command) if step.command else "(manual) " + step.title
        echo(f"  {step.id}: {command}")
    if book.steps[index - 1].read_only:
        echo(f"WARNING: {book.steps[index - 1].read_only} until step {book.steps[index - 1].read_only_until} has run")


def read_only_warnings(book: Runbook, state: RunState) -> list[str]:
    """What the book's runs so far left read-only: a step that freezes a database server until a later
    step (migrate-db until cutover) was started - done, failed or interrupted - and that later step
    is not done. While it lasts, the site still serving refuses writes."""
    done = state.done_records(book)
    last = {record.step_id: record for record in state.log_records()}
    warnings = []
    for step in book.steps:
        if not step.read_only or step.read_only_until in done:
            continue
        record = done.get(step.id) or last.get(step.id)
        if record is None or record.status == "manual":
            continue
        how = "done" if step.id in done else f"{record.status} at {record.started}"
        warnings.append(
            f"WARNING: step {step.id} ({how}): {step.read_only} until step {step.read_only_until} has run: "
            f"writes are refused meanwhile; resume the runbook now"
        )
    return warnings
