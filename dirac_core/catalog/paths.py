"""Logical file names (LFNs): validation and splitting, before anything reaches the database."""

from __future__ import annotations

import re
from collections.abc import Iterable

from dirac_core.db.filecatalogdb import MAX_PATH
from dirac_core.errors import BadRequest

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Anything that may need a closer look: control characters, '//', '/./', '/../', a trailing '/.' or '/..'.
_SUSPECT = re.compile(r"[\x00-\x1f\x7f]|//|/\.\.?(?:/|$)")


def check_path(path: object) -> str:
    """An absolute, normalised LFN (``/vo/dir/file``); raises BadRequest naming what is wrong."""
    if not isinstance(path, str) or not path:
        raise BadRequest(f"path {path!r} is not a string: give an absolute LFN like /vo/user/a/alice/file")
    if not path.startswith("/"):
        raise BadRequest(f"path {path!r} is not absolute: LFNs start with /")
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    if len(path) > MAX_PATH:
        raise BadRequest(f"path {path[:40]!r}... is {len(path)} characters long: the limit is {MAX_PATH}")
    if _SUSPECT.search(path) is None:  # the common case: one regex scan
        return path
    if _CONTROL.search(path):
        raise BadRequest(f"path {path!r} contains control characters: use printable characters only")
    if path != "/":
        for part in path[1:].split("/"):
            if part in {"", ".", ".."}:
                raise BadRequest(f"path {path!r} has an empty, '.' or '..' component: write the normalised path")
    return path


def split(lfn: str) -> tuple[str, str]:
    """``/a/b/c`` -> (``/a/b``, ``c``); the root has no name."""
    head, _, name = lfn.rpartition("/")
    return head or "/", name


def parent(path: str) -> str:
    return split(path)[0]


def ancestors(path: str) -> list[str]:
    """``/a/b/c`` -> [``/``, ``/a``, ``/a/b``] (outermost first, the path itself excluded)."""
    if path == "/":
        return []
    parts = path[1:].split("/")
    return ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def child_prefix(path: str) -> str:
    return "/" if path == "/" else path + "/"


def check_many(paths: Iterable[object]) -> tuple[dict[str, str], dict[str, str]]:
    """(valid: original -> normalised, failed: original -> reason) for a bulk request."""
    good: dict[str, str] = {}
    bad: dict[str, str] = {}
    for raw in paths:
        try:
            good[str(raw)] = check_path(raw)
        except BadRequest as exc:
            bad[str(raw)] = str(exc)
    return good, bad
