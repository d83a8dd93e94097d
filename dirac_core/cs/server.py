"""Configuration/Server logic: serve one CS snapshot, commit new versions (master), follow the master (slave).

A master builds its CS from the global layer files, commits edits sent by CSAdministrators and
reloads the layer files when they change. A slave polls its master and serves each new version
once fetched. Every new CS, whatever its origin, is parsed and validated *before* it replaces the
served one: a bad commit, file or download is refused with file:line and the old CS keeps serving.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from diraccfg import CFG

from dirac_core.auth.caller import Caller, Properties
from dirac_core.config.layers import Layer, LayeredConfig, ParsedLayer
from dirac_core.config.locator import parse_cfg
from dirac_core.cs.content import (
    RefusedConfiguration,
    Snapshot,
    check_new_content,
    check_parsed,
    content_key,
    get_option,
    snapshot_of,
    text_hash,
    without_local_options,
)
from dirac_core.cs.store import Commit, VersionStore
from dirac_core.cs.version import NAME_PATH, VERSION_PATH, next_version
from dirac_core.errors import BadRequest, ConfigError, Conflict, DiracError, ServiceUnavailable

log = logging.getLogger(__name__)

FILES_COMMITTER = "layer-files"


class MasterLink(Protocol):
    """How a slave reads its master (HTTP in production: `ConfigurationClient`)."""

    url: str

    def get_version(self) -> str: ...

    def get_data_if_newer(self, version: str | None) -> tuple[str, str, str | None]:
        """(newest version, its hash, its text or None when `version` is already the newest)."""
        ...


@dataclass
class ServerSettings:
    master: bool
    data_dir: Path
    backup_dir: Path | None = None
    poll_interval: float = 300.0
    layers: Sequence[Layer] = ()  # the master's global layer files
    master_url: str | None = None  # where a slave reads from; named in refusals
    extra: dict[str, Any] = field(default_factory=dict)


class ConfigurationServer:
    def __init__(self, settings: ServerSettings, master_link: MasterLink | None = None) -> None:
        if not settings.master and master_link is None:
            raise ConfigError(
                "Configuration/Server is a slave but has no master: set /DIRAC/Configuration/MasterServer "
                "or /DIRAC/Configuration/Servers, or Master = yes on the master host"
            )
        self.settings = settings
        self.master_link = master_link
        self._lock = threading.RLock()  # serialises swaps; readers just take the current snapshot
        self._snapshot: Snapshot | None = None
        self._store: VersionStore | None = None
        self._files_raw_hash: str | None = None
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_swap: list[Callable[[Snapshot], None]] = []

    # ---- reading -------------------------------------------------------------------------
    @property
    def is_master(self) -> bool:
        return self.settings.master

    def snapshot(self) -> Snapshot:
        current = self._snapshot
        if current is None:
            source = self.master_link.url if self.master_link else "the layer files"
            raise ServiceUnavailable(
                f"this Configuration/Server has no configuration yet: waiting for {source}"
                + (f" ({self.last_error})" if self.last_error else "")
            )
        return current

    def get_version(self) -> str:
        return self.snapshot().version

    def get_data_if_newer(self, client_version: str | None) -> dict[str, Any]:
        """DIRAC's getCompressedDataIfNewer, text form: data only when the client is behind."""
        current = self.snapshot()
        data = current.text if client_version != current.version else None
        return {"newestVersion": current.version, "hash": current.hash, "data": data}

    def status(self) -> dict[str, Any]:
        current = self._snapshot
        return {
            "master": self.is_master,
            "masterServer": self.master_link.url if self.master_link else self.settings.master_url,
            "name": current.name if current else None,
            "version": current.version if current else None,
            "hash": current.hash if current else None,
            "lastError": self.last_error,
        }

    # ---- start-up ------------------------------------------------------------------------
    def start_up(self) -> None:
        """Load what can be served: stored CS and layer files (master), local copy then master (slave)."""
        if self.is_master:
            self._start_master()
        else:
            self._start_slave()

    def _files_config(self) -> tuple[LayeredConfig, str]:
        if not self.settings.layers:
            raise ConfigError(
                "Configuration/Server master has no layer files: set its Layers option or start it with --cfg files"
            )
        # Hash and parse the very same bytes, so a file rewritten mid-reload is seen at the next poll.
        texts: list[str] = []
        for layer in self.settings.layers:
            if not layer.path.is_file():
                raise ConfigError(f"{layer.path}: layer {layer.name!r} file not found: restore it or fix Layers")
            texts.append(layer.path.read_text(encoding="utf-8"))
        parsed = [
            ParsedLayer(layer, *parse_cfg(text, str(layer.path)))
            for layer, text in zip(self.settings.layers, texts, strict=True)
        ]
        raw = hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()
        return LayeredConfig(parsed), raw

    def _start_master(self) -> None:
        layered, raw = self._files_config()
        name = get_option(layered.merged_cfg(), NAME_PATH)
        if not name:
            raise ConfigError(
                f"{NAME_PATH} is not set in the layers {[str(layer.path) for layer in self.settings.layers]}: "
                "add Name = <instance>-Production to the instance layer"
            )
        self._store = VersionStore(self.settings.data_dir, name, self.settings.backup_dir)
        stored = self._store.load_current()
        if stored is not None:
            try:
                cfg = check_new_content(stored, str(self._store.data_file))
                self._swap(snapshot_of(cfg, get_option(cfg, VERSION_PATH) or next_version(None)))
            except RefusedConfiguration as exc:  # e.g. the schema grew: rebuild from the layer files
                log.error("stored CS unusable, rebuilding it from the layer files: %s", exc)
        self._reload_from(layered, raw, force=self._snapshot is None)

    def _start_slave(self) -> None:
        assert self.master_link is not None
        copy = self._slave_copy_file()
        if copy.is_file():
            try:
                cfg = check_new_content(copy.read_text(encoding="utf-8"), str(copy))
                self._swap(snapshot_of(cfg, get_option(cfg, VERSION_PATH) or "0"))
            except DiracError as exc:
                self.last_error = str(exc)
                log.error("local copy of the CS is unusable: %s", exc)
        try:
            self.follow_once()
        except DiracError as exc:  # master down at start: serve the local copy meanwhile
            self.last_error = str(exc)
            log.warning("cannot reach CS master %s: %s", self.master_link.url, exc)

    def _slave_copy_file(self) -> Path:
        return self.settings.data_dir / "slave-copy.cfg"

    # ---- master: commits and file reloads ------------------------------------------------
    def _require_master(self) -> VersionStore:
        if not self.is_master or self._store is None:
            master = self.master_link.url if self.master_link else self.settings.master_url or "the master"
            raise Conflict(f"this Configuration/Server is a slave and refuses writes: commit to the master {master}")
        return self._store

    def commit(self, text: str, caller: Caller) -> str:
        """DIRAC's commitNewData: the whole new CS, based on the current version; returns the new version."""
        store = self._require_master()
        caller.require(Properties.CS_ADMINISTRATOR)
        cfg = check_new_content(text, f"<commit by {caller.username}>")
        with self._lock:
            current = self.snapshot()
            based_on = get_option(cfg, VERSION_PATH)
            if based_on is None:
                raise BadRequest(
                    f"the new CS has no {VERSION_PATH}: keep the version you edited (the current one is "
                    f"{current.version}) so concurrent edits are detected"
                )
            if based_on != current.version:
                raise Conflict(
                    f"the new CS was edited from version {based_on} but the server is at {current.version}: "
                    "fetch the newest CS, reapply your change and commit again"
                )
            name = get_option(cfg, NAME_PATH)
            if name != current.name:
                raise BadRequest(f"names differ: this server holds {current.name!r}, the new CS says {name!r}")
            return self._commit_locked(store, cfg, caller.username)

    def rollback(self, version: str, caller: Caller) -> str:
        """DIRAC's rollbackToVersion: commit the contents of an old version as a new version."""
        store = self._require_master()
        caller.require(Properties.CS_ADMINISTRATOR)
        cfg = check_new_content(store.contents(version), str(store.backup_file(version)))
        with self._lock:
            return self._commit_locked(store, cfg, caller.username)

    def _commit_locked(self, store: VersionStore, cfg: CFG, committer: str) -> str:
        cfg = without_local_options(cfg)
        current = self._snapshot
        if current is not None and content_key(cfg) == content_key(current.cfg):
            return current.version  # nothing changed: no new version
        version = next_version(current.version if current else None)
        new = snapshot_of(cfg, version)
        store.save(new.text, version, committer, current.version if current else None)
        self._swap(new)
        log.info("CS %s: new version %s committed by %s", new.name, version, committer)
        return version

    def history(self, limit: int = 100) -> list[Commit]:
        return self._require_master().history(min(limit, 100) if limit else 100)

    def version_contents(self, version: str) -> str:
        return self._require_master().contents(version)

    def reload_files(self) -> bool:
        """Re-read the layer files; commit them if they changed and are valid. True if a version was made."""
        self._require_master()
        try:
            layered, raw = self._files_config()
        except DiracError as exc:
            self.last_error = f"layer files refused, old configuration kept: {exc}"
            log.error("%s", self.last_error)
            return False
        return self._reload_from(layered, raw, force=False)

    def _reload_from(self, layered: LayeredConfig, raw: str, force: bool) -> bool:
        store = self._require_master()
        if raw == self._files_raw_hash and not force:
            return False
        self._files_raw_hash = raw
        cfg = layered.merged_cfg("global")
        key = content_key(cfg)
        if key == store.files_hash() and not force:
            return False  # already loaded before a restart
        try:
            check_parsed(layered, cfg)
        except RefusedConfiguration as exc:
            self.last_error = str(exc)
            log.error("%s", exc)
            if self._snapshot is None:
                raise
            return False
        with self._lock:
            before = self._snapshot.version if self._snapshot else None
            version = self._commit_locked(store, cfg, FILES_COMMITTER)
        store.set_files_hash(key)
        self.last_error = None
        return version != before

    # ---- slave: follow the master --------------------------------------------------------
    def follow_once(self) -> bool:
        """Fetch the master's CS if it differs from ours; True when a new version is served."""
        assert self.master_link is not None
        current = self._snapshot
        newest, digest, text = self.master_link.get_data_if_newer(current.version if current else None)
        if text is None:
            return False
        if text_hash(text) != digest:
            self.last_error = f"CS version {newest} from {self.master_link.url} is corrupt (hash mismatch): kept old"
            log.error("%s", self.last_error)
            return False
        try:
            cfg = check_new_content(text, f"{self.master_link.url}@{newest}")
        except RefusedConfiguration as exc:
            self.last_error = str(exc)
            log.error("%s", exc)
            return False
        with self._lock:
            self._slave_copy_file().parent.mkdir(parents=True, exist_ok=True)
            self._slave_copy_file().write_text(text, encoding="utf-8")
            self._swap(Snapshot(newest, get_option(cfg, NAME_PATH) or "", text, cfg))
        self.last_error = None
        log.info("CS follows master %s: now at version %s", self.master_link.url, newest)
        return True

    # ---- background polling --------------------------------------------------------------
    def _swap(self, new: Snapshot) -> None:
        self._snapshot = new
        for callback in self.on_swap:
            callback(new)

    def tick(self) -> bool:
        """One poll: a master re-reads its layer files, a slave asks its master."""
        try:
            return self.reload_files() if self.is_master else self.follow_once()
        except DiracError as exc:
            self.last_error = str(exc)
            log.warning("CS poll failed: %s", exc)
        except Exception as exc:  # e.g. a layer file vanishing mid-read: keep polling, keep serving
            self.last_error = f"CS poll failed: {exc!r}"
            log.exception("CS poll failed")
        return False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cs-poll", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.poll_interval):
            self.tick()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
