"""A runbook run stopped by a signal is loud and safe (issue 18, build 4 and seen 7).

A real runner in a subprocess, running a step that plays the engine (it sleeps), gets SIGTERM or
SIGINT: it must stop that step, say where it stopped, what may still run and where, what it left
read-only, and the resume command, and exit 143/130. A resumed run and `runbook status` repeat the
read-only warning until the freeze-ending step has run; the report's window spans the interruption.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dirac_kit.cli import _register, cli
from dirac_kit.runbook.model import Runbook, Step
from dirac_kit.runbook.render import render_book
from dirac_kit.runbook.runner import RunState, StepRecord, read_only_warnings, run_book
from dirac_kit.runbook.windows import FreezeWindow, freeze_windows

ROOT = Path(__file__).resolve().parents[2]

# The runner as `dirac-kit runbook run` drives it, on a book whose migrate-db plays the engine: it
# says it started, then sleeps (or, with IGNORE, ignores SIGINT as a stuck task would).
_RUNNER = """
import signal, sys, time
from pathlib import Path
from dirac_kit.runbook.interrupt import Interrupted
from dirac_kit.runbook.model import Runbook, Step
from dirac_kit.runbook.runner import RunState, run_book

state_dir, mode, grace = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
engine = "import signal, time\\n"
if mode == "ignore":
    engine += "signal.signal(signal.SIGINT, signal.SIG_IGN)\\n"
engine += "print('engine started', flush=True)\\ntime.sleep(60)\\n"
book = Runbook("stage1", "Test", "", [
    Step("prechecks", "checks", ["true"], "", "", "", ""),
    Step("migrate-db", "the engine", [sys.executable, "-c", engine], "", "", "", "",
         still_running="the engine on db01 runs on to its end",
         read_only="the old database server olddb01 is read-only", read_only_until="cutover"),
    Step("cutover", "switch", ["true"], "", "", "", ""),
])
def say(line):
    print(line, flush=True)
try:
    run_book(book, RunState(state_dir / "stage1"), Path.cwd(), say, resume="dirac-kit runbook run stage1 -i inv",
             grace=grace)
except Interrupted as exc:
    sys.exit(exc.exit_code)
"""


def _start(tmp_path: Path, mode: str = "plain", grace: float = 30.0) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(tmp_path / "runbooks"), mode, str(grace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # wait until the engine step runs
        if "migrate-db: the engine" in line:
            break
    time.sleep(0.5)
    return proc


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_step_and_says_where_what_runs_and_how_to_resume(
    tmp_path: Path, signum: int, code: int
) -> None:
    proc = _start(tmp_path)
    started = time.monotonic()
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == code, output
    assert time.monotonic() - started < 10, "the step was not stopped (it sleeps 60 s)"
    name = signal.Signals(signum).name
    assert f"interrupted ({name}) during step migrate-db" in output, output
    assert "may still be running: the engine on db01 runs on to its end" in output
    assert "WARNING: the old database server olddb01 is read-only until step cutover has run" in output
    assert "resume with: dirac-kit runbook run stage1 -i inv" in output
    state = RunState(tmp_path / "runbooks/stage1")
    log = [json.loads(line) for line in (state.run_dir / "run-log.jsonl").read_text().splitlines()]
    assert [(entry["step_id"], entry["status"]) for entry in log] == [
        ("prechecks", "done"),
        ("migrate-db", "interrupted"),
    ]
    assert not list(state.markers.glob("*migrate-db*"))  # not done: the resume runs it again


def test_a_step_that_ignores_the_signal_is_killed_after_the_grace(tmp_path: Path) -> None:
    proc = _start(tmp_path, mode="ignore", grace=1.0)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 143, output
    assert 1.0 <= time.monotonic() - started < 10
    assert "interrupted (SIGTERM) during step migrate-db (its command exit -9)" in output, output


def _book(tmp_path: Path) -> Runbook:
    return Runbook("stage1", "Test", "", [
        Step("migrate-db", "engine", ["sh", "-c", f"test -f {tmp_path}/engine-ok"], "", "", "", "",
             read_only="the old database server olddb01 is read-only", read_only_until="cutover"),
        Step("cutover", "switch", ["sh", "-c", f"test -f {tmp_path}/cutover-ok"], "", "", "", ""),
    ])  # fmt: skip


def test_read_only_is_reported_from_the_freeze_step_until_the_step_that_ends_it(tmp_path: Path) -> None:
    book = _book(tmp_path)
    state = RunState(tmp_path / "runbooks/stage1")
    assert read_only_warnings(book, state) == []  # nothing ran: nothing frozen
    lines: list[str] = []
    assert run_book(book, state, tmp_path, lines.append) is False  # migrate-db fails: may have frozen
    assert any("WARNING: the old database server olddb01 is read-only until step cutover" in line for line in lines)
    (warning,) = read_only_warnings(book, state)
    assert warning.startswith("WARNING: step migrate-db (failed at ") and "olddb01 is read-only" in warning
    (tmp_path / "engine-ok").touch()
    lines.clear()
    assert run_book(book, state, tmp_path, lines.append) is False  # the resume says it first, then cutover fails
    assert lines[0].startswith("WARNING: step migrate-db (failed at "), lines
    assert read_only_warnings(book, state)[0].startswith("WARNING: step migrate-db (done)")
    (tmp_path / "cutover-ok").touch()
    assert run_book(book, state, tmp_path, lines.append) is True
    assert read_only_warnings(book, state) == []


_INVENTORY = """
all:
  children:
    cyfronet: {hosts: {cyf-dirac01: {}, cyf-db01: {}}}
    cc_in2p3: {hosts: {ccdiracli07: {}, ccdiracdb01: {}}}
    dbservers: {hosts: {cyf-db01: {}, ccdiracdb01: {}}}
    egi: {hosts: {cyf-dirac01: {}, ccdiracli07: {}}}
    fg: {hosts: {cyf-dirac01: {}, ccdiracli07: {}}}
"""


def test_status_says_the_old_database_is_read_only_and_how_to_resume(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(_INVENTORY)
    state_dir = tmp_path / "runbooks"
    RunState(state_dir / "stage1").append_log(
        StepRecord("migrate-db", "interrupted", "2026-12-07T10:00:00+00:00", 12.0, -2, "", {})
    )
    _register()
    result = CliRunner().invoke(
        cli, ["runbook", "status", "stage1", "-i", str(inventory), "--state-dir", str(state_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "interrupted" in result.output.splitlines()[2]  # migrate-db's line
    assert "WARNING: step migrate-db (interrupted at 2026-12-07T10:00:00+00:00): the old database server cyf-db01" in (
        result.output
    )
    assert f"resume with: dirac-kit runbook run stage1 -i {inventory} --state-dir {state_dir}" in result.output


# --- the freeze window, as users lived it ------------------------------------------------------------

T0 = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC).timestamp()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _records(cutover_start: float | None) -> dict[str, StepRecord]:
    instances = {
        "egi": {
            "freeze_seconds": 0.156,
            "mode": "replicate",
            "verdict": "PASS",
            "frozen_at": T0,
            "switched_at": T0 + 1,
        },
        "fg": {"freeze_seconds": "1.102", "mode": "replicate", "verdict": "PASS", "frozen_at": str(T0 + 40)},
        "broken": {"freeze_seconds": "None", "frozen_at": "None"},
    }
    records = {"migrate-db": StepRecord("migrate-db", "done", _iso(T0 - 300), 400.0, 0, "", {"instances": instances})}
    if cutover_start is not None:
        records["cutover"] = StepRecord("cutover", "done", _iso(cutover_start), 30.0, 0, "", {})
    return records


def test_the_window_runs_from_the_first_freeze_to_the_end_of_the_cutover_across_an_interruption(
    tmp_path: Path,
) -> None:
    # The run was killed after the engine froze; the resume ran cutover an hour later.
    windows = freeze_windows(_book(tmp_path), _records(cutover_start=T0 + 3600))
    assert set(windows) == {"egi", "fg"}  # no window recorded: none shown
    egi, fg = windows["egi"], windows["fg"]
    assert egi.engine_seconds == 0.156 and fg.engine_seconds == 1.102
    # Both instances share the old server, whose read_only is global: FG is frozen from EGI's freeze.
    assert egi.write_seconds == fg.write_seconds == pytest.approx(3630.0)
    assert egi.frozen_for() is None


def test_a_window_not_yet_closed_counts_while_the_site_stays_read_only(tmp_path: Path) -> None:
    (egi, _fg) = freeze_windows(_book(tmp_path), _records(cutover_start=None)).values()
    assert egi.write_seconds is None
    assert egi.frozen_for(now=T0 + 90) == pytest.approx(90.0)


def test_a_step_that_freezes_nothing_beyond_itself_reports_the_engines_window() -> None:
    window = FreezeWindow("egi", 0.5, "frozen", "PASS", "carry-back", None, None)
    assert window.write_seconds is None and window.frozen_for() is None
    book = Runbook("rollback", "t", "", [Step("carry-back", "engine", ["true"], "", "", "", "")])
    record = StepRecord(
        "carry-back", "done", _iso(T0), 5.0, 0, "", {"instances": {"egi": {"freeze_seconds": 0.5, "frozen_at": T0}}}
    )
    assert freeze_windows(book, {"carry-back": record})["egi"].frozen_at is None


def test_the_report_shows_the_engines_and_the_real_window(tmp_path: Path) -> None:
    book = _book(tmp_path)
    context = {"inventories": ["inv"], "inventory_args": ["-i", "inv"], "runbook_args": "-i inv", "plan_path": ""}
    markdown, html = render_book(book, context, _records(cutover_start=T0 + 3600), tmp_path / "out")
    text = markdown.read_text()
    assert (
        "Write freeze, egi: 0.16 s engine freeze (replicate cutover, PASS, step migrate-db); writes refused "
        "3630.0 s in all, from the first freeze at 2026-12-07 10:00:00 UTC until step cutover ended"
    ) in text
    assert "writes refused 3630.0 s" in html.read_text()
