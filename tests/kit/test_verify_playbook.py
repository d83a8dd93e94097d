"""verify.yml leaves no usable token behind: short-lived tokens, files removed even when a check fails.

Read from the playbook itself (the lab stage runs it for real): a token file that no handler removes,
a play that skips handlers on failure, or a token longer-lived than the job wait fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dirac_kit.lab.paths import REPO_ROOT

PLAY: dict[str, Any] = yaml.safe_load((REPO_ROOT / "playbooks" / "verify.yml").read_text())[0]


def _tasks(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for task in tasks:
        found.append(task)
        for key in ("block", "rescue", "always"):
            found += _tasks(task.get(key, []))
    return found


def test_every_token_file_is_removed_at_the_end_even_on_failure() -> None:
    assert PLAY["force_handlers"] is True, "handlers must run on hosts that failed a check"
    writers = [
        t for t in _tasks(PLAY["tasks"]) if "token" in Path(t.get("ansible.builtin.copy", {}).get("dest", "")).name
    ]
    assert {Path(t["ansible.builtin.copy"]["dest"]).name for t in writers} == {"token", "token-admin"}
    handlers = {h["name"]: h for h in PLAY["handlers"]}
    for task in writers:
        remover = handlers[task["notify"]]["ansible.builtin.file"]
        assert remover["state"] == "absent"
        assert {remover["path"].replace("{{ item }}", name) for name in handlers[task["notify"]]["loop"]} >= {
            task["ansible.builtin.copy"]["dest"]
        }


def test_tokens_live_no_longer_than_the_job_wait_needs() -> None:
    issues = [t for t in _tasks(PLAY["tasks"]) if "'token', 'issue'" in str(t.get("ansible.builtin.command", ""))]
    assert len(issues) == 2
    for task in issues:
        assert "'--lifetime', dirac_verify_token_lifetime" in task["ansible.builtin.command"]["argv"]
    lifetime = PLAY["vars"]["dirac_verify_token_lifetime"]
    assert lifetime == "{{ dirac_verify_timeout | int + 300 }}"
    assert int(PLAY["vars"]["dirac_verify_timeout"]) + 300 <= 900
