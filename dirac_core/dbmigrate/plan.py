"""The migration plan: one YAML file saying, per database of an instance, what happens to it.

    instance: egi
    source: {host: db-old, port: 3306, user: migrator, password_file: /etc/dirac/migrate.pw}
    target: {host: db-new, port: 3306, user: migrator, password_file: /etc/dirac/migrate.pw}
    setup_rename: {from: EGI, to: EGI-Production}      # optional, AccountingDB ac_*_<Setup>_<Type> tables
    databases:
      - {name: JobDB, strategy: reset, keep_ids_above_source: true}
      - {name: AccountingDB, strategy: copy, upgrade: true}
      - {name: EiscatFileCatalogDB, strategy: repopulate, from: {database: FileCatalogDB, subtree: /eiscat.se}}
    cutover: {mode: replicate}                          # or frozen: read by the cutover step

Parsing only checks the shape (every error names the key and the fix); what needs the servers
(does the DB exist, is the target empty) is checked by `dirac_core.dbmigrate.preflight`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dirac_core.errors import BadRequest

STRATEGIES = ("reset", "copy", "repopulate")
CUTOVER_MODES = ("replicate", "frozen")


class PlanError(BadRequest):
    """The plan file is wrong; the message names the key and how to fix it."""


@dataclass(frozen=True)
class Endpoint:
    """How to reach one MariaDB/MySQL server (source or target)."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password_file: Path | None = None
    socket: Path | None = None
    # False: the engine's sessions write with sql_log_bin=0 (set by the replicate cutover on its
    # target, so the copy adds no GTIDs that could collide with the replicated stream).
    log_bin: bool = True

    def describe(self) -> str:
        where = f"socket {self.socket}" if self.socket else f"{self.host}:{self.port}"
        return f"{self.user}@{where}"


@dataclass(frozen=True)
class RepopulateFrom:
    database: str | None = None  # another catalog DB on the source ...
    subtree: str | None = None  # ... and the directory whose files are taken (e.g. /eiscat.se)
    listing: Path | None = None  # or a storage listing: CSV of LFN,size,checksum,SE


@dataclass(frozen=True)
class DatabasePlan:
    name: str  # DB name on the source (copy) or DIRAC DBName (reset/repopulate)
    strategy: str
    target_name: str  # DB name on the target (default: name)
    upgrade: bool = False
    keep_ids_above_source: bool = False
    source_name: str | None = None  # reset: the old DB whose ids are kept below (default: name)
    repopulate: RepopulateFrom | None = None
    chunk_rows: int | None = None


@dataclass(frozen=True)
class SetupRename:
    old: str
    new: str


@dataclass(frozen=True)
class CutoverSettings:
    mode: str = "replicate"
    options: dict[str, Any] = field(default_factory=dict)  # the cutover step's own keys, kept verbatim


@dataclass(frozen=True)
class Plan:
    instance: str
    source: Endpoint
    target: Endpoint
    databases: tuple[DatabasePlan, ...]
    setup_rename: SetupRename | None = None
    cutover: CutoverSettings = field(default_factory=CutoverSettings)
    chunk_rows: int = 50_000
    workers: int = 2
    checksum: str = "crc32"
    # auto: InnoDB tables move as tablespace files when both servers' datadirs are reachable from this
    # host (dbmigrate/physical.py), the rest logically; off: always the logical (LOAD DATA) path.
    physical: str = "auto"
    path: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def database(self, name: str) -> DatabasePlan:
        for db in self.databases:
            if db.name == name:
                return db
        raise PlanError(f"databases: no entry named {name!r}")

    def by_strategy(self, strategy: str) -> list[DatabasePlan]:
        return [db for db in self.databases if db.strategy == strategy]


# ---------------------------------------------------------------------------------------------- parsing
_TOP_KEYS = {
    "instance", "source", "target", "setup_rename", "databases", "cutover", "chunk_rows", "workers", "checksum",
    "physical",
}  # fmt: skip
CHECKSUMS = ("md5", "crc32")
_ENDPOINT_KEYS = {"host", "port", "user", "password_file", "socket"}
_DB_KEYS = {"name", "strategy", "target_name", "upgrade", "keep_ids_above_source", "source_name", "from", "chunk_rows"}


def load_plan(path: Path) -> Plan:
    """Read and check a plan file; raises PlanError naming the offending key."""
    path = Path(path)
    if not path.is_file():
        raise PlanError(f"plan file {path} not found: pass the path of a migration plan YAML")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise PlanError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}): fix the syntax") from exc
    return parse_plan(data, base_dir=path.parent, path=path)


def parse_plan(data: Any, base_dir: Path | None = None, path: Path | None = None) -> Plan:
    base = base_dir or Path.cwd()
    if not isinstance(data, dict):
        raise PlanError("plan: expected a mapping with instance, source, target and databases")
    _no_unknown(data, _TOP_KEYS, "plan")
    instance = _required_str(data, "instance", "plan")
    source = _endpoint(data.get("source"), "source", base)
    target = _endpoint(data.get("target"), "target", base)
    raw_dbs = data.get("databases")
    if not isinstance(raw_dbs, list) or not raw_dbs:
        raise PlanError("databases: expected a non-empty list of {name: ..., strategy: reset|copy|repopulate}")
    dbs = [_database(item, i, base) for i, item in enumerate(raw_dbs)]
    seen: dict[str, int] = {}
    for i, db in enumerate(dbs):
        if db.target_name in seen:
            raise PlanError(
                f"databases[{i}].name: target database {db.target_name!r} already used by "
                f"databases[{seen[db.target_name]}]"
                ": give each entry its own target_name"
            )
        seen[db.target_name] = i
    return Plan(
        instance=instance,
        source=source,
        target=target,
        databases=tuple(dbs),
        setup_rename=_setup_rename(data.get("setup_rename")),
        cutover=_cutover(data.get("cutover")),
        chunk_rows=_positive_int(data, "chunk_rows", "plan", 50_000),
        workers=_positive_int(data, "workers", "plan", 2),
        checksum=_checksum(data.get("checksum", "crc32")),
        physical=_physical(data.get("physical", "auto")),
        path=path,
        raw=data,
    )


def _checksum(value: Any) -> str:
    if value not in CHECKSUMS:
        raise PlanError(f"plan.checksum: unknown checksum {value!r}: use one of {', '.join(CHECKSUMS)}")
    return str(value)


PHYSICAL_MODES = ("auto", "off")


def _physical(value: Any) -> str:
    if value is False:  # YAML `physical: off` is a boolean
        value = "off"
    if value not in PHYSICAL_MODES:
        raise PlanError(f"plan.physical: unknown mode {value!r}: use auto (tablespace copy when possible) or off")
    return str(value)


def _no_unknown(data: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise PlanError(f"{where}.{unknown[0]}: unknown key: use one of {', '.join(sorted(allowed))}")


def _required_str(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"{where}.{key}: required, a non-empty string")
    return value.strip()


def _positive_int(data: dict[str, Any], key: str, where: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise PlanError(f"{where}.{key}: {value!r} is not a positive integer: write e.g. {key}: {default}")
    return value


def _bool(data: dict[str, Any], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise PlanError(f"{where}.{key}: {value!r} is not a boolean: write {key}: true or {key}: false")
    return value


def _endpoint(data: Any, where: str, base: Path) -> Endpoint:
    if not isinstance(data, dict):
        raise PlanError(f"{where}: required, a mapping {{host: ..., port: 3306, user: ..., password_file: ...}}")
    _no_unknown(data, _ENDPOINT_KEYS, where)
    port = _positive_int(data, "port", where, 3306)
    user = data.get("user", "root")
    if not isinstance(user, str) or not user:
        raise PlanError(f"{where}.user: {user!r} is not a user name")
    host = data.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host:
        raise PlanError(f"{where}.host: {host!r} is not a host name")
    pw = data.get("password_file")
    sock = data.get("socket")
    if "host" not in data and sock is None:
        raise PlanError(f"{where}: set host (and port) or socket")
    return Endpoint(
        host=host,
        port=port,
        user=user,
        password_file=_path(pw, base) if pw is not None else None,
        socket=_path(sock, base) if sock is not None else None,
    )


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else base / path


def _database(item: Any, i: int, base: Path) -> DatabasePlan:
    where = f"databases[{i}]"
    if not isinstance(item, dict):
        raise PlanError(f"{where}: expected a mapping {{name: ..., strategy: reset|copy|repopulate}}")
    _no_unknown(item, _DB_KEYS, where)
    name = _required_str(item, "name", where)
    where = f"databases[{i}] ({name})"
    strategy = item.get("strategy")
    if strategy not in STRATEGIES:
        raise PlanError(f"{where}.strategy: unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    target_name = item.get("target_name", name)
    if not isinstance(target_name, str) or not target_name:
        raise PlanError(f"{where}.target_name: {target_name!r} is not a database name")
    upgrade = _bool(item, "upgrade", where)
    keep_ids = _bool(item, "keep_ids_above_source", where)
    if keep_ids and strategy != "reset":
        raise PlanError(f"{where}.keep_ids_above_source: only meaningful with strategy: reset; remove it")
    source_name = item.get("source_name")
    if source_name is not None and not isinstance(source_name, str):
        raise PlanError(f"{where}.source_name: {source_name!r} is not a database name")
    chunk_rows = _positive_int(item, "chunk_rows", where, 1) if "chunk_rows" in item else None
    repop: RepopulateFrom | None = None
    if strategy == "repopulate":
        repop = _repopulate_from(item.get("from"), f"{where}.from", base)
    elif "from" in item:
        raise PlanError(f"{where}.from: only used by strategy: repopulate; remove it or change the strategy")
    return DatabasePlan(
        name=name,
        strategy=strategy,
        target_name=target_name,
        upgrade=upgrade,
        keep_ids_above_source=keep_ids,
        source_name=source_name,
        repopulate=repop,
        chunk_rows=chunk_rows,
    )


def _repopulate_from(data: Any, where: str, base: Path) -> RepopulateFrom:
    if not isinstance(data, dict):
        raise PlanError(
            f"{where}: required for repopulate: {{database: FileCatalogDB, subtree: /vo}} or {{listing: FILE}}"
        )
    _no_unknown(data, {"database", "subtree", "listing"}, where)
    if "listing" in data:
        if "database" in data or "subtree" in data:
            raise PlanError(f"{where}: give either listing or database+subtree, not both")
        return RepopulateFrom(listing=_path(data["listing"], base))
    database = _required_str(data, "database", where)
    subtree = _required_str(data, "subtree", where)
    if not subtree.startswith("/"):
        raise PlanError(f"{where}.subtree: {subtree!r} must be an absolute LFN directory such as /eiscat.se")
    return RepopulateFrom(database=database, subtree=subtree.rstrip("/") or "/")


def _setup_rename(data: Any) -> SetupRename | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise PlanError("setup_rename: expected {from: OLD_SETUP, to: NEW_SETUP}")
    _no_unknown(data, {"from", "to"}, "setup_rename")
    old = _required_str(data, "from", "setup_rename")
    new = _required_str(data, "to", "setup_rename")
    if old == new:
        raise PlanError("setup_rename: from and to are the same: remove setup_rename")
    return SetupRename(old, new)


def _cutover(data: Any) -> CutoverSettings:
    if data is None:
        return CutoverSettings()
    if not isinstance(data, dict):
        raise PlanError("cutover: expected {mode: replicate} or {mode: frozen}")
    mode = data.get("mode", "replicate")
    if mode not in CUTOVER_MODES:
        raise PlanError(f"cutover.mode: unknown mode {mode!r}: use one of {', '.join(CUTOVER_MODES)}")
    return CutoverSettings(mode=mode, options={k: v for k, v in data.items() if k != "mode"})


CATALOG_SCHEMA = "FileCatalogDB"


def schema_spec_name(db: DatabasePlan) -> str | None:
    """Which registered schema a reset/repopulate DB, or an upgraded copy, uses (catalog clones share
    FileCatalogDB's; a copy named with an instance prefix, fg_AccountingDB, is an AccountingDB)."""
    from dirac_core.db.installed import all_databases

    known = all_databases()
    if db.name in known:
        return db.name
    if db.strategy == "repopulate" and db.name.endswith(CATALOG_SCHEMA) and CATALOG_SCHEMA in known:
        return CATALOG_SCHEMA
    if db.strategy == "copy":
        # Longest match first: a prefix never makes one registered name the end of another.
        for name in sorted(known, key=len, reverse=True):
            if db.name.endswith("_" + name):
                return name
    return None


__all__ = [
    "CATALOG_SCHEMA",
    "CUTOVER_MODES",
    "STRATEGIES",
    "CutoverSettings",
    "DatabasePlan",
    "Endpoint",
    "Plan",
    "PlanError",
    "RepopulateFrom",
    "SetupRename",
    "load_plan",
    "parse_plan",
    "schema_spec_name",
]
