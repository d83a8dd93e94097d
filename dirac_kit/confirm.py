"""The one confirmation rule of every destructive path of the kit.

An action that stops services or moves data (`stop`, `migrate-stage1`, `migrate-stage2`, `rollback`,
`runbook run` of a book with such steps pending) goes on only when the operator confirmed it: the
flag ``--yes-i-really-mean-it``, or, on a terminal, typing ``yes`` at the prompt. Otherwise it stops
before anything changes, naming the flag. A confirmed run hands the confirmation on to Ansible as
``dirac_migration_confirm=true`` (the engine's own confirmation of its destructive database steps),
so the operator confirms once, whatever the entry point.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from dirac_core.errors import Forbidden

CONFIRM_FLAG = "--yes-i-really-mean-it"
# What a confirmed run passes to ansible-playbook (roles/dirac_migration: dirac_migration_confirm).
ANSIBLE_CONFIRM = "dirac_migration_confirm=true"

# Asks the operator a yes/no question; None where nobody can answer (no terminal).
Ask = Callable[[str], bool]


def require(
    what: str, why: str, confirmed: bool, ask: Ask | None = None, first: str = "run it with --check first"
) -> None:
    """Return if `what` (e.g. "stop", "runbook run stage1") was confirmed, else raise Forbidden naming
    the flag; `first` says how to see what it would do without doing it."""
    if confirmed:
        return
    if ask is not None and ask(f"{what} is destructive ({why}). Type yes to go on:"):
        return
    raise Forbidden(f"{what} is destructive ({why}): add {CONFIRM_FLAG}, or {first}")


def _typed_yes(question: str) -> bool:
    print(question, end=" ", file=sys.stderr, flush=True)
    try:
        return input().strip().lower() == "yes"
    except EOFError:
        return False


def terminal_ask() -> Ask | None:
    """The prompt, when stdin and stderr are a terminal (an operator is there to answer); else None."""
    return _typed_yes if sys.stdin.isatty() and sys.stderr.isatty() else None
