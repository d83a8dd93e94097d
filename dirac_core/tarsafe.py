"""Extract sandboxes without trusting tarfile's extraction filters.

Python's "data" filter had bypasses until the 2025 fixes (CVE-2025-4517 and its family: symlink
chains whose resolved path exceeds PATH_MAX, so realpath() stops early and a link points outside),
and the service hosts run older 3.11s. A sandbox needs nothing but files and directories, so every
member is checked here first - relative name without `..`, regular file or directory only (no
symbolic or hard links, devices or fifos), bounded name lengths - and only when all of them pass
are they written, by this module: files opened with O_NOFOLLOW|O_EXCL below directories that are
checked not to be links, so neither the archive nor what the destination already holds can lead a
write outside it. Owner is the extracting user; setuid/setgid/sticky and group/other write bits are
dropped (as the data filter does).
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from dirac_core.errors import BadRequest

MAX_NAME_BYTES = 1024  # a whole member name; far below PATH_MAX once joined to the destination
MAX_PART_BYTES = 255  # one path component (NAME_MAX)


def _refuse(member: tarfile.TarInfo, why: str) -> BadRequest:
    return BadRequest(f"sandbox member {member.name[:200]!r} {why}: rebuild the sandbox with plain files only")


def _parts(member: tarfile.TarInfo) -> tuple[str, ...]:
    """The member's path components below the destination, or BadRequest naming why it is refused."""
    name = member.name
    if not (member.isreg() or member.isdir()):
        raise _refuse(member, "is a link, device or fifo: only files and directories are allowed")
    if "\x00" in name or "\\" in name:
        raise _refuse(member, "has a NUL or backslash in its name")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise _refuse(member, f"has a name longer than {MAX_NAME_BYTES} bytes")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise _refuse(member, "points outside its directory (absolute or with ..)")
    parts = tuple(part for part in path.parts if part != ".")
    if any(len(part.encode("utf-8", "surrogateescape")) > MAX_PART_BYTES for part in parts):
        raise _refuse(member, f"has a path component longer than {MAX_PART_BYTES} bytes")
    if not parts and not member.isdir():
        raise _refuse(member, "has an empty name")
    return parts


def _directory(root: Path, parts: tuple[str, ...], member: tarfile.TarInfo) -> Path:
    """root/parts as a real directory (made if missing); refuses any existing component that is not one."""
    current = root
    for part in parts:
        current = current / part
        try:
            mode = current.lstat().st_mode
        except FileNotFoundError:
            current.mkdir(mode=0o755)
            continue
        if not stat.S_ISDIR(mode):  # a symlink (possibly planted in the destination) or a file
            raise _refuse(member, f"would be written through {current.name!r}, which is not a directory")
    return current


def extract_data(archive: tarfile.TarFile, destination: Path, members: Iterable[tarfile.TarInfo] | None = None) -> None:
    """Extract `members` (default: all) of `archive` below `destination`, all checked before any write."""
    chosen = list(members) if members is not None else archive.getmembers()
    checked = [(member, _parts(member)) for member in chosen]
    destination.mkdir(parents=True, exist_ok=True)
    root = destination.resolve()
    for member, parts in checked:
        if member.isdir():
            _directory(root, parts, member)
            continue
        parent = _directory(root, parts[:-1], member)
        target = parent / parts[-1]
        source = archive.extractfile(member)
        if source is None:  # pragma: no cover - isreg() members always have data
            raise _refuse(member, "has no data")
        mode = (member.mode & 0o755) | 0o600
        with source:
            if target.is_symlink() or (target.exists() and not target.is_file()):
                raise _refuse(member, "would replace a link or directory")
            if target.exists():
                target.unlink()  # a later member of the same name wins, as with tar
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out)
        os.chmod(target, mode)  # noqa: PTH101 - the umask must not decide; the mode is already masked
        if 0 <= member.mtime < 1 << 40:  # hostile headers carry any number
            os.utime(target, (member.mtime, member.mtime))
