"""POSIX-like access to catalog paths (DIRAC's PosixSecurityManager, reduced to r and w bits).

The owner bits apply to the owning user, the group bits to callers acting in the owning group, the
other bits to everyone else. Callers with ``FileCatalogManagement`` (DIRAC's catalog administrators)
may do anything. New entries get the caller as owner, the caller's group, and ``0o775``/``0o664``
masked by the caller's umask.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol

from dirac_core.auth.caller import Caller, Properties
from dirac_core.config.cfg import Config
from dirac_core.contract.components import component_spec
from dirac_core.errors import BadRequest

READ = 4
WRITE = 2
DIR_MODE = 0o775
FILE_MODE = 0o664
DEFAULT_UMASK = 0o022

# caller -> umask
UmaskPolicy = Callable[[Caller], int]


class Owner(Protocol):
    """What the permission bits are read from: a directory row (`dirac_core.db.filecatalog_store.DirRow`)."""

    @property
    def uid(self) -> int: ...

    @property
    def gid(self) -> int: ...

    @property
    def mode(self) -> int: ...


def is_admin(caller: Caller) -> bool:
    return caller.has(Properties.FILE_CATALOG_MANAGEMENT)


def allowed(caller: Caller, owner: Owner, user_uid: int, group_gid: int, bit: int) -> bool:
    """May `caller` (known to the catalog as `user_uid`/`group_gid`) read/write an entry of `owner`."""
    if is_admin(caller):
        return True
    if owner.uid == user_uid:
        return bool(owner.mode & (bit << 6))
    if owner.gid == group_gid:
        return bool(owner.mode & (bit << 3))
    return bool(owner.mode & bit)


def parse_mode(raw: object) -> int:
    """``0o755``, ``755``, ``"0755"`` or an int -> the mode bits (at most 0o777)."""
    if isinstance(raw, bool):
        raise BadRequest(f"mode {raw!r} is not a permission mode: give octal digits like 755")
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip().lower().removeprefix("0o")
        if not text or any(char not in "01234567" for char in text):
            raise BadRequest(f"mode {raw!r} is not octal: give digits 0-7 like 755")
        value = int(text, 8)
    if not 0 <= value <= 0o777:
        raise BadRequest(f"mode {oct(value)} is out of range: use 000 to 777")
    return value


def config_umask(config: Config, service_section: str) -> UmaskPolicy:
    """Umask of a caller: ``/Registry/Users/<user>/Umask``, else ``/Registry/Groups/<group>/Umask``,
    else ``<service section>/DefaultUmask`` (0022)."""
    declared = str(component_spec("DataManagement/FileCatalog").option("DefaultUmask").default)
    default = parse_mode(config.get(f"{service_section}/DefaultUmask", declared) or declared)

    def umask(caller: Caller) -> int:
        for path in (f"/Registry/Users/{caller.username}/Umask", f"/Registry/Groups/{caller.group}/Umask"):
            raw = config.get(path, None)
            if raw:
                return parse_mode(raw)
        return default

    return umask


@functools.cache
def mode_string(mode: int, directory: bool) -> str:
    """``drwxr-xr-x`` style, for listings."""
    bits = "".join(
        ("r" if mode & (4 << shift) else "-")
        + ("w" if mode & (2 << shift) else "-")
        + ("x" if mode & (1 << shift) else "-")
        for shift in (6, 3, 0)
    )
    return ("d" if directory else "-") + bits
