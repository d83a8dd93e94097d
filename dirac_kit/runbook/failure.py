"""What an operator needs from a failed step's output: the failing tasks' messages and stderr.

The last lines of an ansible-playbook run are its recap and the per-task timings (profile_tasks):
a plain tail hides the one block that says what went wrong. This keeps every ``fatal:``/``failed:``
block and ``[ERROR]`` line of stdout, then the end of stderr.
"""

from __future__ import annotations

import re

_FAILED = re.compile(r"^(fatal|failed): \[|^\[ERROR\]|^ERROR!")
# A failure block ends where Ansible starts something else.
_NEXT = re.compile(r"^(TASK|PLAY|RUNNING HANDLER|NOTIFIED|ok:|changed:|skipping:|included:|\S+\s+:\s+ok=)|^\S.*\*{5,}$")
_MAX_BLOCK_LINES = 30
_STDERR_LINES = 20


def failure_excerpt(stdout: str, stderr: str, tail_lines: int = 40) -> str:
    """The failing tasks of ``stdout`` and the end of ``stderr``; the plain tail when nothing matched."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in stdout.splitlines():
        if _FAILED.match(line):
            current = [line]
            blocks.append("")
        elif current is not None and (not line.strip() or _NEXT.match(line)):
            current = None
            continue
        elif current is not None and len(current) < _MAX_BLOCK_LINES:
            current.append(line)
        else:
            continue
        blocks[-1] = "\n".join(current)
    errors = [line for line in stderr.splitlines() if line.strip()][-_STDERR_LINES:]
    if not blocks:
        lines = (stdout + stderr).splitlines()
        return "\n".join(lines[-tail_lines:])
    parts = [*blocks, *(["stderr:", *errors] if errors else [])]
    return "\n".join(parts)
