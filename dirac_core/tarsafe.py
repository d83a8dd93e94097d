"""Extract sandboxes safely on every Python 3.11: `filter="data"` where tarfile has it (3.11.4+),
else the same refusals done by hand (Debian 12 ships 3.11.2, the service hosts' and pilots' Python)."""

from __future__ import annotations

import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from dirac_core.errors import BadRequest


def _check(member: tarfile.TarInfo) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise BadRequest(f"sandbox member {member.name!r} points outside its directory: rebuild the sandbox")
    if not (member.isfile() or member.isdir()):
        raise BadRequest(f"sandbox member {member.name!r} is a link or device: only files and directories are allowed")


def extract_data(archive: tarfile.TarFile, destination: Path, members: Iterable[tarfile.TarInfo] | None = None) -> None:
    """extractall with the "data" filter: no absolute paths, no `..`, no links or devices escaping."""
    chosen = list(members) if members is not None else archive.getmembers()
    if hasattr(tarfile, "data_filter"):
        archive.extractall(destination, members=chosen, filter="data")
        return
    for member in chosen:
        _check(member)
        member.mode &= 0o755  # as the data filter: no setuid/setgid/sticky, not group/other-writable
    archive.extractall(destination, members=chosen)  # noqa: S202 - members checked above
