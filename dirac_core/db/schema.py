"""Schema versions of the DIRAC databases: Alembic revisions run programmatically (no alembic.ini on hosts).

* ``init``: empty DB -> the head schema, stamped; DB already versioned -> upgrade; tables present but
  never versioned (created by hand or by an older tool) -> missing tables created, the baseline stamped
  and the revisions run. Nothing is ever dropped.
* ``upgrade``: run the pending revisions of a versioned DB.
* ``status``: backend, current revision, head revision, pending revisions.

Each revision module carries ``release = "1.0"`` (the product's schema release it belongs to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import OperationalError

from dirac_core.db.installed import DatabaseSpec
from dirac_core.errors import ConfigError


@dataclass
class SchemaStatus:
    name: str
    backend: str
    current: str | None
    head: str
    pending: list[str] = field(default_factory=list)
    releases: dict[str, str] = field(default_factory=dict)

    def label(self, revision: str | None) -> str:
        if revision is None:
            return "none"
        release = self.releases.get(revision)
        return f"{revision} ({release})" if release else revision


@dataclass
class SchemaAction:
    name: str
    action: str  # "created", "upgraded", "adopted", "up to date"
    applied: list[str] = field(default_factory=list)
    head: str = ""


def _script(spec: DatabaseSpec) -> ScriptDirectory:
    if not (spec.migrations_dir / "versions").is_dir():
        raise ConfigError(f"{spec.name}: no migrations in {spec.migrations_dir}/versions: the package is incomplete")
    return ScriptDirectory(str(spec.migrations_dir))


def _releases(script: ScriptDirectory) -> dict[str, str]:
    out: dict[str, str] = {}
    for rev in script.walk_revisions():
        assert isinstance(rev, Script)
        release = getattr(rev.module, "release", None)
        if release:
            out[rev.revision] = str(release)
    return out


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(part) for part in release.split("."))


def revision_for_release(spec: DatabaseSpec, release: str) -> str:
    """The newest revision of `spec` that belongs to schema release `release` or an older one.

    A site pinned to an older product release (``dirac-core db init --release 1.0``) gets the layout
    that release had; a DB whose history starts later than `release` is refused, not guessed.
    """
    try:
        wanted = _release_key(release)
    except ValueError:
        raise ConfigError(f"schema release {release!r} is not a version: give e.g. 1.0") from None
    releases = _releases(_script(spec))
    fitting = [(_release_key(rel), rev) for rev, rel in releases.items() if _release_key(rel) <= wanted]
    if not fitting:
        known = ", ".join(sorted(set(releases.values()), key=_release_key)) or "none"
        raise ConfigError(f"{spec.name} has no schema release {release} or older (its releases: {known})")
    return max(fitting)[1]


def _head(script: ScriptDirectory) -> str:
    heads = script.get_heads()
    if len(heads) != 1:
        raise ConfigError(f"migrations in {script.dir} have {len(heads)} heads {heads}: merge them into one")
    return heads[0]


def _context(conn: Connection, spec: DatabaseSpec, script: ScriptDirectory, fn: Any = None) -> MigrationContext:
    opts: dict[str, Any] = {"version_table": spec.version_table, "script": script}
    if fn is not None:
        opts["fn"] = fn
    return MigrationContext.configure(conn, opts=opts)


def _connect(engine: Engine, spec: DatabaseSpec) -> Connection:
    try:
        return engine.connect()
    except OperationalError as exc:
        reason = str(exc.orig).strip() if exc.orig is not None else str(exc)
        raise ConfigError(
            f"{spec.name}: cannot connect to {engine.url.render_as_string(hide_password=True)} ({reason}): "
            "check the Databases section in the CS and that the database exists (CREATE DATABASE ... utf8mb4)"
        ) from exc


def status(spec: DatabaseSpec, engine: Engine) -> SchemaStatus:
    script = _script(spec)
    head = _head(script)
    with _connect(engine, spec) as conn:
        current = _context(conn, spec, script).get_current_revision()
    pending = [rev.revision for rev in script.iterate_revisions(head, current or "base")]
    pending.reverse()
    return SchemaStatus(spec.name, engine.dialect.name, current, head, pending, _releases(script))


def _ancestors(script: ScriptDirectory, revision: str) -> set[str]:
    """Revisions `revision` already contains (itself included)."""
    return {rev.revision for rev in script.iterate_revisions(revision, "base")}


def _run_to_head(conn: Connection, spec: DatabaseSpec, script: ScriptDirectory, head: str) -> list[str]:
    applied: list[str] = []

    def upgrade_fn(rev: Any, _context: Any) -> Any:
        steps = script._upgrade_revs(head, rev)  # what `alembic upgrade head` runs
        applied.extend(step.revision.revision for step in steps)
        return steps

    ctx = _context(conn, spec, script, upgrade_fn)
    with Operations.context(ctx):
        ctx.run_migrations()
    return applied


def upgrade(spec: DatabaseSpec, engine: Engine, to: str | None = None) -> SchemaAction:
    """Run pending revisions up to `to` (default: head)."""
    script = _script(spec)
    head = to or _head(script)
    with _connect(engine, spec) as conn:
        if _context(conn, spec, script).get_current_revision() is None:
            raise ConfigError(f"{spec.name} has no schema version yet: run `dirac-core db init {spec.name}` first")
        applied = _run_to_head(conn, spec, script, head)
        conn.commit()
    return SchemaAction(spec.name, "upgraded" if applied else "up to date", applied, head)


def init(spec: DatabaseSpec, engine: Engine, to: str | None = None) -> SchemaAction:
    """Bring a DB to `to` (default: head) without dropping anything; see the module docstring."""
    script = _script(spec)
    head = to or _head(script)
    metadata = spec.load_metadata()
    with _connect(engine, spec) as conn:
        ctx = _context(conn, spec, script)
        current = ctx.get_current_revision()
        if current is not None:
            if to is not None and current != to and to in _ancestors(script, current):
                raise ConfigError(
                    f"{spec.name} is at {current}, newer than the release asked for ({to}): schemas are never "
                    "downgraded; run db init without --release, or with the release the DB is at"
                )
            applied = _run_to_head(conn, spec, script, head)
            conn.commit()
            return SchemaAction(spec.name, "upgraded" if applied else "up to date", applied, head)
        existing = set(inspect(conn).get_table_names())
        ours = {table.name for table in metadata.sorted_tables}
        if not existing & ours:
            if to is not None:  # an older release: only the revisions know its layout
                applied = _run_to_head(conn, spec, script, head)
                conn.commit()
                return SchemaAction(spec.name, "created", applied, head)
            metadata.create_all(conn)
            ctx.stamp(script, head)
            conn.commit()
            return SchemaAction(spec.name, "created", [], head)
        if to is not None and to != _head(script):
            raise ConfigError(
                f"{spec.name} has tables but no schema version: it can only be adopted at the newest release; "
                "run db init without --release"
            )
        # Tables exist without a version: create what is missing (never drop), then find the revision
        # they are at. Complete head layout -> stamp head; otherwise stamp the baseline and run revisions,
        # which check what exists before adding it.
        metadata.create_all(conn, checkfirst=True)
        missing = missing_objects(conn, metadata)
        if not missing:
            ctx.stamp(script, head)
            conn.commit()
            return SchemaAction(spec.name, "adopted", [], head)
        base = script.get_base()
        assert base is not None
        ctx.stamp(script, base)
        conn.commit()
        applied = _run_to_head(conn, spec, script, head)
        conn.commit()
        still = missing_objects(conn, metadata)
        if still:
            raise ConfigError(
                f"{spec.name}: existing tables differ from the schema ({'; '.join(still)}): "
                "fix them by hand or restore a DB made by dirac-core, then run init again"
            )
        return SchemaAction(spec.name, "adopted", [base, *applied], head)


def missing_objects(conn: Connection, metadata: Any) -> list[str]:
    """Columns and indexes of `metadata` absent from the connected database, as 'Table.Column' strings."""
    inspector = inspect(conn)
    tables = set(inspector.get_table_names())
    missing: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in tables:
            missing.append(f"table {table.name}")
            continue
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        missing += [f"{table.name}.{column.name}" for column in table.columns if column.name not in columns]
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        missing += [f"index {table.name}.{index.name}" for index in table.indexes if index.name not in indexes]
    return missing
