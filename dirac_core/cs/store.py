"""On-disk state of a Configuration/Server: the current CS file, one backup per version, the history.

Layout under the data directory (DIRAC keeps ``etc/<Name>.cfg`` and ``etc/csbackup``):

* ``<Name>.cfg``: the CS served now (written atomically: readers never see half a file);
* ``csbackup/<Name>@<version>.cfg``: every version ever served, for history and rollback;
* ``csbackup/<Name>.history``: one JSON line per version: version, committer, previous version;
* ``<Name>.state.json``: the hash of the layer files last loaded (so a restart does not re-commit).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from dirac_core.cs.version import file_safe
from dirac_core.errors import ConfigError, NotFound


@dataclass(frozen=True)
class Commit:
    version: str
    committer: str
    previous: str | None


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class VersionStore:
    def __init__(self, data_dir: Path, name: str, backup_dir: Path | None = None) -> None:
        if not name or "/" in name:
            raise ConfigError(f"CS name {name!r} is invalid: set /DIRAC/Configuration/Name, e.g. EGI-Production")
        self.data_dir = data_dir
        self.name = name
        self.backup_dir = backup_dir or data_dir / "csbackup"

    @property
    def data_file(self) -> Path:
        return self.data_dir / f"{self.name}.cfg"

    @property
    def history_file(self) -> Path:
        return self.backup_dir / f"{self.name}.history"

    @property
    def state_file(self) -> Path:
        return self.data_dir / f"{self.name}.state.json"

    def backup_file(self, version: str) -> Path:
        return self.backup_dir / f"{self.name}@{file_safe(version)}.cfg"

    def load_current(self) -> str | None:
        return self.data_file.read_text(encoding="utf-8") if self.data_file.is_file() else None

    def save(self, text: str, version: str, committer: str, previous: str | None) -> None:
        """Backup first, then the current file: a crash never leaves a served version without backup."""
        _atomic_write(self.backup_file(version), text)
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        with self.history_file.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps({"version": version, "committer": committer, "previous": previous}) + "\n")
        _atomic_write(self.data_file, text)

    def history(self, limit: int = 100) -> list[Commit]:
        """Newest first, as DIRAC's getCommitHistory."""
        if not self.history_file.is_file():
            return []
        commits = []
        for line in self.history_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                commits.append(Commit(entry["version"], entry["committer"], entry.get("previous")))
        commits.reverse()
        return commits[:limit] if limit else commits

    def contents(self, version: str) -> str:
        path = self.backup_file(version)
        if not path.is_file():
            raise NotFound(f"CS version {version!r} has no backup: list versions with getCommitHistory")
        return path.read_text(encoding="utf-8")

    def files_hash(self) -> str | None:
        if not self.state_file.is_file():
            return None
        value = json.loads(self.state_file.read_text(encoding="utf-8")).get("files_hash")
        return str(value) if value else None

    def set_files_hash(self, value: str) -> None:
        _atomic_write(self.state_file, json.dumps({"files_hash": value}) + "\n")
