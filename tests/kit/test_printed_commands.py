"""Every command a runbook prints runs as printed (issue 18: build 7, seen 5 and 9).

The books are rendered for the real lab inventory; every command they print - each step's command
(also printed as "run the remaining steps by hand" after a failure), and every command quoted in
backticks in a step's texts - is parsed by bash exactly as an operator pastes it, then run from the
checkout's root, with no environment of the kit (no ANSIBLE_CONFIG, no vault variables), in a form
that changes nothing: ``ansible-inventory --list`` with its vault options (the vaulted group_vars
open), ``ansible-playbook --list-hosts --list-tasks`` (the playbook exists and parses, its --limit
names hosts, its --tags select tasks), ``ansible --list-hosts``, and the ``dirac-kit`` commands
through the CLI's own parser (options, book, steps). No lab host is contacted.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from dirac_kit.cli import _register, cli
from dirac_kit.runbook.context import build_context
from dirac_kit.runbook.model import BOOKS, Runbook, load_book

ROOT = Path(__file__).resolve().parents[2]
LAB = Path("inventories/lab")
TOOLS = Path(sys.executable).parent
COMMAND_WORDS = ("ansible-playbook", "ansible", "dirac-kit")
_QUOTED = re.compile(r"`([^`]+)`")


@cache
def _books() -> dict[str, Runbook]:
    cwd = Path.cwd()
    os.chdir(ROOT)  # the books print paths relative to the checkout, as an operator runs them
    try:
        context = build_context([LAB])
        return {name: load_book(name, context) for name in BOOKS}
    finally:
        os.chdir(cwd)


def _texts(book: Runbook) -> list[tuple[str, str]]:
    """(where, text) of every field of a book an operator reads."""
    texts = [(f"{book.name} summary", book.summary)]
    texts += [(f"{book.name} guard {g.book}/{g.step}", f"{g.why} {g.fix}") for g in [*book.requires, *book.forbids]]
    for step in book.steps:
        for field in ("title", "expected", "verify", "rollback", "affected", "still_running", "read_only"):
            texts.append((f"{book.name} {step.id} {field}", str(getattr(step, field))))
    return texts


def _printed_commands() -> list[tuple[str, str]]:
    """(where, command line) of every command the books print."""
    found = []
    for book in _books().values():
        found += [(f"{book.name} {step.id} command", shlex.join(step.command)) for step in book.steps if step.command]
        for where, text in _texts(book):
            found += [(where, quoted) for quoted in _QUOTED.findall(text) if quoted.split()[0] in COMMAND_WORDS]
    return found


def _operator_env() -> dict[str, str]:
    """An operator's shell in the checkout with the kit's venv active, and nothing the kit exports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "DIRAC_"))}
    env["PATH"] = os.pathsep.join([str(TOOLS), env.get("PATH", "")])
    env["PYTHONWARNINGS"] = "ignore"
    return env


def _as_pasted(command: str) -> list[str]:
    """The argv bash gives the command pasted as printed (quoting, `&`, `;` included)."""
    shims = "".join(f'{word}() {{ printf "%s\\0" {word} "$@"; }}; ' for word in COMMAND_WORDS)
    done = subprocess.run(["bash", "-c", shims + command], capture_output=True, cwd=ROOT, check=False)
    assert done.returncode == 0 and not done.stderr, f"bash cannot run {command!r}: {done.stderr.decode()}"
    argv = done.stdout.decode().split("\0")[:-1]
    assert argv and argv[0] in COMMAND_WORDS and argv.count(argv[0]) == 1, f"not one command: {command!r}: {argv}"
    return argv


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    binary = str(TOOLS / argv[0]) if (TOOLS / argv[0]).is_file() else argv[0]
    return subprocess.run([binary, *argv[1:]], capture_output=True, text=True, cwd=ROOT, env=_operator_env())


def _options(argv: list[str], names: tuple[str, ...]) -> list[str]:
    """The (option, value) pairs of `argv` whose option is in `names`, flattened."""
    picked = []
    for index, arg in enumerate(argv[:-1]):
        if arg in names:
            picked += [arg, argv[index + 1]]
    return picked


@cache
def _vault_opens(inventory_and_vault: tuple[str, ...]) -> str:
    """ansible-inventory's error with these -i/--vault-* options ("" when the inventory and its vault open)."""
    done = _run(["ansible-inventory", *inventory_and_vault, "--list"])
    return "" if done.returncode == 0 else (done.stderr.strip().splitlines() or ["no output"])[-1]


def _plays(listing: str) -> list[tuple[int, int]]:
    """(hosts, tasks) per play of `ansible-playbook --list-hosts --list-tasks` output."""
    plays: list[list[int]] = []
    section = ""
    for line in listing.splitlines():
        stripped = line.strip()
        if stripped.startswith("play #"):
            plays.append([0, 0])
            section = ""
        elif stripped.startswith("hosts ("):
            section = "hosts"
        elif stripped == "tasks:":
            section = "tasks"
        elif stripped and plays and section and line.startswith("      "):
            plays[-1][0 if section == "hosts" else 1] += 1
    return [(hosts, tasks) for hosts, tasks in plays]


def _check_ansible_playbook(argv: list[str]) -> None:
    playbooks = [arg for arg in argv if arg.endswith(".yml") and not arg.startswith("-")]
    assert len(playbooks) == 1 and (ROOT / playbooks[0]).is_file(), f"no playbook of the checkout in {argv}"
    assert _vault_opens(tuple(_options(argv, ("-i", "--vault-id", "--vault-password-file")))) == ""
    listing = _run([*argv, "--list-hosts", "--list-tasks"])
    assert listing.returncode == 0, listing.stderr
    plays = _plays(listing.stdout)
    assert sum(hosts for hosts, _ in plays) > 0, f"{shlex.join(argv)}: no host selected\n{listing.stdout}"
    assert sum(tasks for hosts, tasks in plays if hosts) > 0, f"{shlex.join(argv)}: no task selected\n{listing.stdout}"


def _check_ansible(argv: list[str]) -> None:
    assert _vault_opens(tuple(_options(argv, ("-i", "--vault-id", "--vault-password-file")))) == ""
    with_value = {"-i", "--vault-id", "--vault-password-file", "-m", "-a", "-l", "--limit", "-e", "-u"}
    positional, args = [], iter(argv[1:])
    for arg in args:
        if arg in with_value:
            next(args, None)
        elif not arg.startswith("-"):
            positional.append(arg)
    assert len(positional) == 1, f"{argv}: expected one host pattern, got {positional}"
    _check_pattern(_options(argv, ("-i",)), positional[0])


def _check_pattern(inventory_args: list[str], pattern: str) -> None:
    listing = _run(["ansible", *inventory_args, pattern, "--list-hosts"])
    assert listing.returncode == 0 and re.search(r"hosts \([1-9]", listing.stdout), listing.stdout + listing.stderr


def _kit_context(argv: list[str]) -> click.Context:
    """The leaf command's context as the CLI parses `argv` (options, choices), without running it."""
    _register()
    command: click.Command = cli
    args = argv[1:]
    parent: click.Context | None = None
    name = "dirac-kit"
    while isinstance(command, click.Group):
        parent = command.make_context(name, args, parent=parent)
        found_name, found, args = command.resolve_command(parent, [*parent._protected_args, *parent.args])
        assert found is not None and found_name is not None, f"no such command in {argv}"
        name, command = found_name, found
    return command.make_context(name, args, parent=parent)


def _check_dirac_kit(argv: list[str]) -> None:
    context = _kit_context(argv)
    params: dict[str, Any] = context.params
    if context.parent is not None and context.parent.info_name == "runbook":
        book = _books()[params["book_name"]]
        for option in ("only", "until"):
            if params.get(option):
                book.step(params[option])
    if params.get("pattern"):
        _check_pattern(_options(argv, ("-i",)), params["pattern"])  # the kit passes the lab's vault itself
    for inventory in params.get("inventories") or ():
        assert (ROOT / inventory).exists(), f"{argv}: no inventory {inventory}"


CHECKS = {"ansible-playbook": _check_ansible_playbook, "ansible": _check_ansible, "dirac-kit": _check_dirac_kit}


@pytest.mark.parametrize(("where", "command"), sorted(set(_printed_commands())))
def test_every_printed_command_runs_as_printed(where: str, command: str) -> None:
    argv = _as_pasted(command)
    CHECKS[argv[0]](argv)


def test_every_command_in_a_books_text_is_quoted_so_the_test_above_sees_it() -> None:
    for book in _books().values():
        for where, text in _texts(book):
            unquoted = _QUOTED.sub("", text)
            assert not re.search(r"(^|[\s(])(ansible-playbook|ansible|dirac-kit|dirac-core) ", unquoted), (
                f"{where}: a command outside backticks: {text}"
            )


def test_the_cutover_expects_the_layers_the_hosts_carry() -> None:
    """cs_follow changes the host layer in place and keeps the original with the .pre-migration suffix."""
    defaults = yaml.safe_load((ROOT / "roles/dirac_migration/defaults/main.yml").read_text())
    layer = defaults["dirac_migration_host_layer"]
    kept = f"{layer}.pre-migration"
    assert ".pre-migration" in (ROOT / "roles/dirac_migration/tasks/cfg_merge.yml").read_text()
    cutover = _books()["stage1"].step("cutover")
    assert layer in cutover.expected and kept in cutover.expected, cutover.expected
    assert layer in cutover.verify, cutover.verify
    files_named = set(re.findall(r"\b[\w-]+\.cfg\b", cutover.expected + cutover.verify))
    assert files_named == {layer}, f"the cutover names layers no host carries: {files_named - {layer}}"


def test_the_stage_playbooks_resume_line_runs_as_printed() -> None:
    """A stage playbook run by hand that fails prints how to resume, with its vault options."""
    cliargs = {
        "inventory": [str(LAB)],
        "vault_ids": [f"lab@{LAB}/vault-password.lab.txt"],
        "extra_vars": ["dirac_migration_confirm=true"],
    }
    # In a process of its own: Ansible's callback imports `ansible`, which tests/ansible shadows here.
    program = (
        "import sys; sys.path.insert(0, 'playbooks/callback_plugins'); from dirac_steps import resume_line; "
        f"print(resume_line('stage1', 'migrate-db', {cliargs!r}))"
    )
    line = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, env=_operator_env(), check=True
    ).stdout
    commands = re.findall(r"resume: (.+?) and the later", line) + _QUOTED.findall(line)
    assert len(commands) == 2, line
    for command in commands:
        argv = _as_pasted(command)
        CHECKS[argv[0]](argv)
