"""Host kernel limits that many systemd containers need.

Every systemd lab host opens several inotify instances, all counted against root's
``fs.inotify.max_user_instances`` (128 on Debian). Past it, systemd in a new container stalls in
"initializing" with every boot job waiting, which looks like a hang. Raise the limit when we may,
otherwise say which command does it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")
# Each lab host uses ~5; room for several labs, molecule containers and the controller itself.
WANTED_INSTANCES = 1024


def ensure_inotify_instances(log: Callable[[str], None], limit_file: Path = INOTIFY_INSTANCES) -> int:
    """Return the limit in force, raising it to WANTED_INSTANCES when it is lower and writable."""
    try:
        current = int(limit_file.read_text().strip())
    except (OSError, ValueError):
        return -1  # not Linux or not readable: nothing we can check
    if current >= WANTED_INSTANCES:
        return current
    try:
        limit_file.write_text(f"{WANTED_INSTANCES}\n")
    except OSError:
        log(
            f"lab: warning: fs.inotify.max_user_instances is {current}; systemd hosts may hang while booting: "
            f"run `sysctl -w fs.inotify.max_user_instances={WANTED_INSTANCES}` as root"
        )
        return current
    log(f"lab: raised fs.inotify.max_user_instances from {current} to {WANTED_INSTANCES} (systemd hosts need it)")
    return WANTED_INSTANCES
