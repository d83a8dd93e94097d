"""Runbooks: rendered from a real inventory via ansible-inventory; run with real subprocesses."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dirac_core.errors import BadRequest
from dirac_kit.cli import _register, cli
from dirac_kit.runbook.context import build_context
from dirac_kit.runbook.model import Runbook, Step, load_book
from dirac_kit.runbook.runner import RunState, StepRecord, run_book

INVENTORY = """
all:
  children:
    cyfronet:
      hosts: {cyf-dirac01: {}, cyf-dirac02: {}}
    cc_in2p3:
      hosts: {ccdiracli07: {}, ccdiracli08: {}}
    egi:
      hosts: {cyf-dirac01: {}, ccdiracli07: {}}
    fg:
      hosts: {cyf-dirac02: {}, ccdiracli08: {}}
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(INVENTORY)
    return path


def test_stage1_renders_with_real_hosts_and_commands(inventory: Path, tmp_path: Path) -> None:
    _register()
    result = CliRunner().invoke(
        cli, ["runbook", "render", "stage1", "-i", str(inventory), "--state-dir", str(tmp_path / "state")]
    )
    assert result.exit_code == 0, result.output
    markdown = (tmp_path / "state/stage1/stage1.md").read_text()
    html = (tmp_path / "state/stage1/stage1.html").read_text()
    assert "ccdiracli07, ccdiracli08" in markdown and "cyf-dirac01, cyf-dirac02" in markdown
    assert f"ansible-playbook -i {inventory} playbooks/stage1-deploy-new.yml" in markdown
    migrate_db = f"ansible-playbook -i {inventory} playbooks/stage1-migrate-db.yml -e dirac_migration_confirm=true"
    assert migrate_db in markdown
    for step in load_book("stage1", build_context([inventory])).steps:
        assert f'id="{step.id}"' in html
        assert step.rollback and step.affected and step.verify and step.expected


def test_inventory_without_instance_groups_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts: {ccdiracli07: {}}\n")
    with pytest.raises(BadRequest, match="group\\(s\\) egi, fg"):
        build_context([path])


def test_missing_inventory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="not found: pass -i"):
        build_context([tmp_path / "nope"])


def _book(tmp_path: Path) -> Runbook:
    flag = tmp_path / "allow-third"
    steps = [
        Step("one", "first", ["sh", "-c", f"echo one >> {tmp_path}/trace"], "", "", "", ""),
        Step(
            "two",
            "second, reports a result",
            ["sh", "-c", f'echo two >> {tmp_path}/trace; echo \'{{"freeze_seconds": 2.5}}\' > "$DIRAC_KIT_RESULT"'],
            "",
            "",
            "",
            "",
        ),
        Step(
            "three",
            "third, fails until allowed",
            ["sh", "-c", f"test -f {flag} && echo three >> {tmp_path}/trace"],
            "",
            "",
            "",
            "",
        ),
    ]
    return Runbook("test", "Test book", "", steps)


def test_failed_step_prints_remaining_and_resume_skips_done_steps(tmp_path: Path) -> None:
    book = _book(tmp_path)
    state = RunState(tmp_path / "run")
    lines: list[str] = []
    assert run_book(book, state, tmp_path, lines.append) is False
    assert (tmp_path / "trace").read_text() == "one\ntwo\n"
    failure = "\n".join(lines)
    assert "step three failed" in failure and "three: sh -c" in failure
    (tmp_path / "allow-third").touch()
    lines.clear()
    assert run_book(book, state, tmp_path, lines.append) is True
    assert (tmp_path / "trace").read_text() == "one\ntwo\nthree\n"  # one and two not re-run
    assert sum("already done" in line for line in lines) == 2
    records = state.done_records(book)
    assert records["two"].results == {"freeze_seconds": 2.5}
    log = [json.loads(line) for line in (tmp_path / "run/run-log.jsonl").read_text().splitlines()]
    assert [entry["status"] for entry in log] == ["done", "done", "failed", "done"]
    lines.clear()
    assert run_book(book, state, tmp_path, lines.append) is True  # finished run: nothing re-runs
    assert (tmp_path / "trace").read_text() == "one\ntwo\nthree\n"


def test_until_stops_after_the_step_and_a_rerun_goes_on(tmp_path: Path) -> None:
    book = _book(tmp_path)
    (tmp_path / "allow-third").touch()
    state = RunState(tmp_path / "run")
    lines: list[str] = []
    assert run_book(book, state, tmp_path, lines.append, until="two") is True
    assert (tmp_path / "trace").read_text() == "one\ntwo\n"
    assert any("stopping after two" in line for line in lines)
    assert run_book(book, state, tmp_path, lines.append) is True
    assert (tmp_path / "trace").read_text() == "one\ntwo\nthree\n"


def test_clear_from_makes_the_later_steps_run_again(tmp_path: Path) -> None:
    book = _book(tmp_path)
    (tmp_path / "allow-third").touch()
    state = RunState(tmp_path / "run")
    assert run_book(book, state, tmp_path, [].append) is True
    assert state.clear_from(book, "two") == ["two", "three"]
    assert run_book(book, state, tmp_path, [].append) is True
    assert (tmp_path / "trace").read_text() == "one\ntwo\nthree\ntwo\nthree\n"  # one stays done


def _mark(state_dir: Path, book: str, step: str, inventory: Path) -> None:
    """Leave the runner's marker of `step`, as a finished run of it would."""
    loaded = load_book(book, build_context([inventory]))
    index = loaded.step_ids.index(step) + 1
    RunState(state_dir / book).mark_done(index, loaded.step(step), StepRecord(step, "done", "t", 1.0, 0, "", {}))


@pytest.mark.parametrize(
    ("book", "done", "message"),
    [
        ("stage2", [], "stage 1 has not finished (stage1 step stop-old not done): run stage 1 to its end first"),
        ("rollback", [], "stage 1 has not migrated the databases"),
        ("rollback", [("stage1", "migrate-db"), ("stage2", "shared-config")], "this rollback only covers stage 1"),
    ],
)
def test_a_book_out_of_turn_is_refused_before_any_step(
    inventory: Path, tmp_path: Path, book: str, done: list[tuple[str, str]], message: str
) -> None:
    """The runner checks the other books' markers before it runs anything: no step runs, none is marked."""
    _register()
    state_dir = tmp_path / "state"
    for other, step in done:
        _mark(state_dir, other, step, inventory)
    result = CliRunner().invoke(cli, ["runbook", "run", book, "-i", str(inventory), "--state-dir", str(state_dir)])
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert not (state_dir / book).exists()


def test_steps_run_their_playbook_with_the_kits_ansible(inventory: Path, tmp_path: Path) -> None:
    """A playbook step runs the venv's ansible-playbook on the checkout's playbook, with its ansible.cfg."""
    from dirac_kit.runbook.runner import step_argv

    step = load_book("stage1", build_context([inventory])).step("cutover")
    # A destructive step carries the confirmation `runbook run` was given (dirac_kit.confirm).
    confirmed = ["-e", "dirac_migration_confirm=true"]
    assert step.command == ["ansible-playbook", "-i", str(inventory), "playbooks/stage1-cutover.yml", *confirmed]
    argv, env = step_argv(step, tmp_path)
    assert argv == [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
                    str(tmp_path / "playbooks/stage1-cutover.yml"), *confirmed]  # fmt: skip
    assert "ANSIBLE_CONFIG" not in env or env["ANSIBLE_CONFIG"] != str(tmp_path / "ansible.cfg")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    assert step_argv(step, tmp_path)[1]["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")


def test_rollback_book_resets_stage1_from_migrate_db(inventory: Path) -> None:
    book = load_book("rollback", build_context([inventory]))
    assert book.resets == {"stage1": "migrate-db"}
    assert "migrate-db" in load_book("stage1", build_context([inventory])).step_ids


def test_freeze_windows_of_a_run_are_in_the_report(inventory: Path, tmp_path: Path) -> None:
    from dirac_kit.runbook.render import render_book

    book = load_book("stage1", build_context([inventory]))
    instances = {"egi": {"freeze_seconds": 0.263, "mode": "replicate", "verdict": "PASS"}, "fg": {"verdict": "PASS"}}
    records = {"migrate-db": StepRecord("migrate-db", "done", "t", 90.0, 0, "", {"instances": instances})}
    markdown, html = render_book(book, build_context([inventory]), records, tmp_path)
    assert "Write freeze, egi: 0.26 s engine freeze (replicate cutover, PASS, step migrate-db)" in markdown.read_text()
    assert "Write freeze, egi</th><td>0.26 s" in html.read_text()
    assert "Write freeze, fg" not in markdown.read_text()  # no window recorded: none shown


# A step that leaves a process behind in a session of its own, as Ansible's workers (setsid) do when
# a runbook run is killed: the child inherited the run lock through fork and ends 1.5 s later.
_DETACHED_CHILD = """
import os, sys, time
if os.fork() != 0:
    sys.exit(0)
os.setsid()
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
"""
_LEAVE_ORPHAN = (
    _DETACHED_CHILD
    + """
time.sleep(1.5)
open(sys.argv[1], "w").write("orphan done")
"""
)


def test_a_rerun_waits_for_what_an_earlier_run_left_running(tmp_path: Path) -> None:
    """The lab's kill-and-resume test ran site.yml twice at once (a killed run's Ansible worker went on):
    the next run, of any book of the same state directory, starts its first step only once it ended."""
    done = tmp_path / "orphan-done"
    first = Runbook("stage", "Leaves a task running", "", [
        Step("deploy", "leaves a child", [sys.executable, "-c", _LEAVE_ORPHAN, str(done)], "", "", "", ""),
    ])  # fmt: skip
    second = Runbook("rollback", "Needs the hosts alone", "", [
        Step("check", "runs alone", ["sh", "-c", f"test -f {done}"], "", "", "", ""),
    ])  # fmt: skip
    state_dir = tmp_path / "runbooks"
    assert run_book(first, RunState(state_dir / "stage"), tmp_path, [].append) is True
    assert not done.exists()  # the child is still running, holding the lock
    lines: list[str] = []
    assert run_book(second, RunState(state_dir / "rollback"), tmp_path, lines.append) is True
    assert any("waiting for an earlier run" in line for line in lines), lines
    assert any("the earlier run ended after" in line for line in lines), lines


# The same, but the child then blocks for ever writing to a full pipe whose read end it holds itself:
# an orphaned Ansible worker handing a big result (a nested site.yml's output) to its dead parent.
_LEAVE_STUCK_ORPHAN = (
    _DETACHED_CHILD
    + """
read_end, write_end = os.pipe()
while True:
    os.write(write_end, b"x" * 65536)
"""
)


def test_a_rerun_stops_a_killed_runs_worker_stuck_on_its_result(tmp_path: Path) -> None:
    first = Runbook("stage", "Leaves a stuck task", "", [
        Step("deploy", "leaves a stuck child", [sys.executable, "-c", _LEAVE_STUCK_ORPHAN], "", "", "", ""),
    ])  # fmt: skip
    second = Runbook("again", "Runs after it", "", [Step("next", "runs", ["true"], "", "", "", "")])
    state_dir = tmp_path / "runbooks"
    assert run_book(first, RunState(state_dir / "stage"), tmp_path, [].append) is True
    lines: list[str] = []
    assert run_book(second, RunState(state_dir / "again"), tmp_path, lines.append) is True
    assert any("stuck handing the result to its dead parent" in line for line in lines), lines


def test_a_run_that_cannot_get_the_lock_in_time_says_what_to_do(tmp_path: Path) -> None:
    import fcntl
    import os

    from dirac_kit.runbook.lock import LOCK_NAME, RunInProgress, exclusive_run

    lock = tmp_path / LOCK_NAME
    holder = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with (
            pytest.raises(RunInProgress, match=r"still held after 0 s.*fuser -v"),
            exclusive_run(lock, [].append, timeout=0.0, poll=0.01),
        ):
            pass
    finally:
        os.close(holder)
    with exclusive_run(lock, [].append, timeout=0.0) as fd:  # free again
        assert fd >= 0


def test_a_new_migration_makes_an_earlier_rollback_run_again(tmp_path: Path) -> None:
    """Stage 1, rollback, stage 1 again: a second rollback must run its steps, not report the first
    round's markers as done (it would leave the new site serving while saying it rolled back)."""
    stage = Runbook("stage", "Migrates", "", [
        Step("migrate", "moves data", ["true"], "", "", "", "", resets={"back": "check"}),
        Step("cutover", "switches", ["true"], "", "", "", ""),
    ])  # fmt: skip
    back = Runbook("back", "Rolls back", "", [
        Step("check", "checks", ["true"], "", "", "", ""),
        Step("switch", "switches back", ["true"], "", "", "", ""),
    ])  # fmt: skip
    books = {"stage": stage, "back": back}
    state_dir = tmp_path / "runbooks"
    stage_state, back_state = RunState(state_dir / "stage"), RunState(state_dir / "back")
    assert run_book(stage, stage_state, tmp_path, [].append, load=books.__getitem__) is True
    assert run_book(back, back_state, tmp_path, [].append, load=books.__getitem__) is True
    assert set(back_state.done_records(back)) == {"check", "switch"}
    stage_state.clear_from(stage, "migrate")  # what the rollback book's own `resets` does
    lines: list[str] = []
    assert run_book(stage, stage_state, tmp_path, lines.append, load=books.__getitem__) is True
    assert back_state.done_records(back) == {}, "the first round's rollback still reads as done"
    assert any("back steps check, switch must run again after migrate" in line for line in lines), lines


def test_the_stage1_book_makes_an_earlier_rollback_stale() -> None:
    book = load_book("stage1", build_context([Path(__file__).resolve().parents[2] / "inventories" / "lab"]))
    assert book.step("migrate-db").resets == {"rollback": "prechecks"}
