"""Minimal-downtime cutover: bulk copy, replication catch-up, short freeze, verify, switch.

``replicate`` mode (source has a binlog)::

    copy (snapshot at GTID S) ─► target replicates from S ─► lag 0
      ─► verify every chunk at a consistent GTID X (source snapshot at X, replica stopped at X)
      ─► FREEZE source ─► replica applies final GTID F ─► delta verify (what changed after X)
      ─► stop + forget replica ─► target writable  (freeze window = FREEZE → writable)

The full verify runs *before* the freeze against a consistent point, so the freeze only pays for
the delta: row counts plus the chunks at and above each table's highest key at X. The window is
therefore short and nearly flat in the database size (the bench measures it).

``frozen`` mode (or no binlog on the source): freeze first, then copy + verify, then switch; the
whole copy is inside the freeze window and the result says ``mode: frozen``.

Every phase is recorded in a JSON state file; a cutover killed at any point (SIGKILL included)
resumes from its phase, each step being idempotent (replica state is checked before CHANGE MASTER,
freezing twice is harmless, reset of a forgotten replica is a no-op).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dirac_core.dbmigrate import replication as repl
from dirac_core.dbmigrate.binlog_delta import touched_chunks
from dirac_core.dbmigrate.chunk_sums import CHUNK_ROWS, TableShape, checksums, compare, table_shapes
from dirac_core.dbmigrate.freeze import Freezer, default_freezer
from dirac_core.dbmigrate.replication import Endpoint, execute, scalar
from dirac_core.errors import BadRequest, Conflict

PHASES = (
    "start",
    "copied",
    "replicating",
    "caught_up",
    "prefreeze_verified",
    "frozen",
    "drained",
    "verified",
    "switched",
    "done",
)

Say = Callable[[str], None]


def fault(point: str) -> None:
    """Fault injection for tests: ``DIRAC_MIGRATE_FAULT=cutover:<point>`` SIGKILLs us right here."""
    if os.environ.get("DIRAC_MIGRATE_FAULT") == f"cutover:{point}":
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class CutoverSpec:
    source: Endpoint
    target: Endpoint
    databases: list[str]  # names on the source
    workdir: Path
    target_names: dict[str, str] = field(default_factory=dict)  # source name -> target name, when renamed
    mode: str = "replicate"
    replication_password_file: Path | None = None
    source_host_for_target: str | None = None
    stop_commands: Sequence[str] = ()
    start_commands: Sequence[str] = ()
    catchup_timeout: float = 3600
    drain_timeout: float = 300
    freeze_grace: float = 5.0
    verify_scope: str = "delta"  # delta | all (all = every chunk again inside the freeze)
    chunk_rows: int = CHUNK_ROWS

    def __post_init__(self) -> None:
        if self.mode not in ("replicate", "frozen"):
            raise BadRequest(f"cutover.mode {self.mode!r} is not known: use 'replicate' or 'frozen'")
        if self.verify_scope not in ("delta", "all"):
            raise BadRequest(f"cutover.verify {self.verify_scope!r} is not known: use 'delta' or 'all'")


OPTION_KEYS = {
    "replication_password_file",
    "source_host_for_target",
    "stop_commands",
    "start_commands",
    "catchup_timeout",
    "drain_timeout",
    "freeze_grace",
    "verify",
}


def spec_from_plan(
    source: Any,
    target: Any,
    databases: Sequence[str],
    workdir: Path,
    mode: str = "replicate",
    options: dict[str, Any] | None = None,
    target_names: dict[str, str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> CutoverSpec:
    """The cutover settings from the plan's ``cutover:`` section (keys other than ``mode`` in `options`).

    `source`/`target` are any objects with ``host``, ``port``, ``user``, ``password_file`` (the
    plan's endpoints). Errors name the key and the fix.
    """
    options = dict(options or {})
    unknown = sorted(set(options) - OPTION_KEYS)
    if unknown:
        raise BadRequest(f"cutover.{unknown[0]}: unknown key; use one of {', '.join(sorted(OPTION_KEYS))}")

    def commands(key: str) -> list[str]:
        value = options.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise BadRequest(f"cutover.{key}: expected a list of commands, e.g. ['systemctl stop dirac-FileCatalog']")
        return value

    def seconds(key: str, default: float) -> float:
        value = options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise BadRequest(f"cutover.{key}: expected a positive number of seconds, got {value!r}")
        return float(value)

    def endpoint(e: Any) -> Endpoint:
        password_file = getattr(e, "password_file", None)
        return Endpoint(str(e.host), int(e.port), str(e.user), Path(password_file) if password_file else None)

    secret = options.get("replication_password_file")
    host = options.get("source_host_for_target")
    return CutoverSpec(
        source=endpoint(source),
        target=endpoint(target),
        databases=list(databases),
        workdir=workdir,
        target_names=dict(target_names or {}),
        mode=mode,
        replication_password_file=Path(str(secret)) if secret else None,
        source_host_for_target=str(host) if host else None,
        stop_commands=commands("stop_commands"),
        start_commands=commands("start_commands"),
        catchup_timeout=seconds("catchup_timeout", 3600),
        drain_timeout=seconds("drain_timeout", 300),
        freeze_grace=seconds("freeze_grace", 5.0),
        verify_scope=str(options.get("verify", "delta")),
        chunk_rows=chunk_rows,
    )


@dataclass
class CutoverResult:
    mode: str
    freeze_seconds: float
    resumed: bool
    freeze_spans_restart: bool = False
    snapshot_gtid: str = ""
    final_gtid: str = ""
    verify_failures: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        status = "PASS" if not self.verify_failures else f"FAIL ({len(self.verify_failures)})"
        note = " (frozen across an engine restart: includes the time it was down)" if self.freeze_spans_restart else ""
        return f"cutover mode: {self.mode}; freeze window: {self.freeze_seconds:.2f} s{note}; verify: {status}"


# --- state ----------------------------------------------------------------------------------------


class State:
    """The cutover's own state file (``<workdir>/cutover.json``), written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"phase": "start"}
        self.resumed = path.exists() and self.data.get("phase") not in ("start", "done")

    @property
    def phase(self) -> str:
        return str(self.data["phase"])

    def reached(self, phase: str) -> bool:
        return PHASES.index(self.phase) >= PHASES.index(phase)

    def advance(self, phase: str, **values: Any) -> None:
        self.data.update(values)
        self.data["phase"] = phase
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        tmp.replace(self.path)


def replication_secret(spec: CutoverSpec) -> Path:
    """The replication password file: the plan's, or a random one created 0600 in the workdir."""
    if spec.replication_password_file is not None:
        return spec.replication_password_file
    path = spec.workdir / "replication.secret"
    if not path.exists():
        spec.workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path


# --- the cutover ----------------------------------------------------------------------------------


def run(
    spec: CutoverSpec,
    copy: Callable[[], str],
    say: Say = print,
    freezer: Freezer | None = None,
) -> CutoverResult:
    """Run (or resume) the cutover. `copy()` runs/resumes the bulk copy and returns its snapshot GTID."""
    state = State(spec.workdir / "cutover.json")
    freezer = freezer or default_freezer(
        spec.source, spec.databases, spec.stop_commands, spec.start_commands, spec.freeze_grace
    )
    if state.phase == "done":
        say("cutover already done: nothing to do")
        return _result(state)
    replicable = spec.mode == "replicate" and repl.has_binlog(spec.source)
    mode = state.data.get("mode") or ("replicate" if replicable else "frozen")
    if mode != spec.mode and "mode" not in state.data:
        say(f"source {spec.source.label()} has no binlog (log_bin OFF): falling back to a frozen copy")
    state.data["mode"] = mode
    if state.resumed:
        say(f"resuming cutover at phase '{state.phase}'")
    if mode == "replicate" and not state.reached("copied"):
        repl.check_gtid_domains(spec.source, spec.target)  # before the copy: a refusal changes nothing
    if mode == "frozen":
        return _run_frozen(spec, state, copy, freezer, say)
    return _run_replicate(spec, state, copy, freezer, say)


def _run_frozen(spec: CutoverSpec, state: State, copy: Callable[[], str], freezer: Freezer, say: Say) -> CutoverResult:
    started: float | None = None  # monotonic start, when the freeze began in this process
    if not state.reached("frozen"):
        state.advance("frozen", freeze_started_at=time.time())
        started = time.monotonic()
    freezer.freeze(say)
    fault("frozen")
    if not state.reached("verified"):
        snapshot = copy()  # the engine's copy verifies every chunk itself
        state.advance("verified", snapshot_gtid=snapshot)
    fault("verified")
    return _switch(spec, state, started, say)


def _run_replicate(
    spec: CutoverSpec, state: State, copy: Callable[[], str], freezer: Freezer, say: Say
) -> CutoverResult:
    timings: dict[str, float] = state.data.setdefault("timings", {})
    if not state.reached("copied"):
        t0 = time.monotonic()
        snapshot = copy()
        if not snapshot:
            raise Conflict("the copy recorded no binlog GTID position: re-run with cutover mode 'frozen'")
        timings["copy"] = time.monotonic() - t0
        state.advance("copied", snapshot_gtid=snapshot)
    fault("copied")
    secret = replication_secret(spec)
    if not state.reached("caught_up"):
        t0 = time.monotonic()
        repl.ensure_replication_user(spec.source, secret)
        repl.configure_replica(
            spec.source,
            spec.target,
            spec.databases,
            state.data["snapshot_gtid"],
            spec.target_names,
            secret,
            spec.source_host_for_target,
            say=say,
        )
        state.advance("replicating")
        fault("replicating")
        repl.wait_caught_up(spec.source, spec.target, timeout=spec.catchup_timeout, say=say)
        timings["catch_up"] = time.monotonic() - t0
        state.advance("caught_up")
    elif not state.reached("switched"):
        repl.start_replica(spec.target)  # a re-run may find it stopped (e.g. killed mid-verify)
    fault("caught_up")
    if not state.reached("prefreeze_verified"):
        t0 = time.monotonic()
        gtid, point = _verify_at_consistent_point(spec, say)
        timings["prefreeze_verify"] = time.monotonic() - t0
        # A second, delta round: what changed during the full verify (seconds to minutes of writes,
        # growing with the DB size) is checked now, so the freeze only covers the few seconds since.
        t0 = time.monotonic()
        gtid, point = _verify_at_consistent_point(spec, say, since=point)
        timings["prefreeze_delta"] = time.monotonic() - t0
        state.advance("prefreeze_verified", prefreeze_gtid=gtid, prefreeze=point)
    fault("prefreeze_verified")

    # ---- freeze window starts ----
    started: float | None = None  # monotonic start, when the freeze began in this process
    if not state.reached("frozen"):
        state.advance("frozen", freeze_started_at=time.time())
        started = time.monotonic()
    t0 = time.monotonic()
    freezer.freeze(say)
    timings["freeze_actions"] = time.monotonic() - t0
    fault("frozen")
    if not state.reached("drained"):
        t0 = time.monotonic()
        final = repl.source_binlog_pos(spec.source)
        repl.wait_caught_up(spec.source, spec.target, until_gtid=final, timeout=spec.drain_timeout, say=say)
        timings["drain"] = time.monotonic() - t0
        state.advance("drained", final_gtid=final)
    fault("drained")
    if not state.reached("verified"):
        t0 = time.monotonic()
        failures = _final_verify(spec, state, say)
        timings["final_verify"] = time.monotonic() - t0
        state.advance("verified", verify_failures=failures)
        if failures:
            for line in failures[:20]:
                say(line)
            raise Conflict(
                f"final verify found {len(failures)} differing chunk(s); the source stays frozen and the target "
                "read-only: inspect, then re-run (or thaw the source to abort)"
            )
    fault("verified")
    return _switch(spec, state, started, say)


def _switch(spec: CutoverSpec, state: State, started: float | None, say: Say) -> CutoverResult:
    if not state.reached("switched"):
        t0 = time.monotonic()
        repl.stop_and_reset_replica(spec.target)
        state.data.setdefault("timings", {})["switch"] = time.monotonic() - t0
        state.advance("switched")
    fault("switched")
    with spec.target.connect() as conn:
        execute(conn, "SET GLOBAL read_only = OFF")
    # Frozen by an earlier (killed) run: wall clock, which includes the time the engine was down.
    freeze = time.time() - float(state.data["freeze_started_at"]) if started is None else time.monotonic() - started
    state.advance(
        "done", freeze_seconds=round(freeze, 3), freeze_spans_restart=started is None, finished_at=time.time()
    )
    if state.data.get("mode") == "replicate":
        repl.drop_replication_user(spec.source)
    result = _result(state)
    say(f"switched: target {spec.target.label()} writable; source {spec.source.label()} stays read-only")
    say(result.summary())
    return result


def _result(state: State) -> CutoverResult:
    return CutoverResult(
        mode=str(state.data.get("mode")),
        freeze_seconds=float(state.data.get("freeze_seconds", 0.0)),
        resumed=state.resumed,
        freeze_spans_restart=bool(state.data.get("freeze_spans_restart", False)),
        snapshot_gtid=str(state.data.get("snapshot_gtid", "")),
        final_gtid=str(state.data.get("final_gtid", "")),
        verify_failures=list(state.data.get("verify_failures", [])),
        timings=dict(state.data.get("timings", {})),
    )


# --- verification around the freeze ----------------------------------------------------------------


def _verify_at_consistent_point(
    spec: CutoverSpec, say: Say, since: dict[str, Any] | None = None
) -> tuple[str, dict[str, Any]]:
    """Checksum chunks on both sides at one GTID X, outside the freeze; returns X and its binlog point.

    The source is read inside a consistent snapshot (its GTID is X); the replica is stopped at
    exactly X (``START SLAVE UNTIL master_gtid_pos``), checksummed, then restarted. Without `since`
    every chunk is checked; with it (an earlier verified point) only the chunks the binlog shows
    changed after that point.
    """
    with spec.source.connect() as sconn, spec.target.connect() as tconn:
        # UNTIL master_gtid_pos applies to both threads: both must be stopped to start it.
        execute(tconn, f"STOP SLAVE '{repl.CONNECTION}'")
        execute(sconn, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        execute(sconn, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
        gtid = repl.snapshot_gtid(sconn)
        binlog_file, binlog_pos = repl.snapshot_binlog_position(sconn)
        execute(tconn, f"START SLAVE '{repl.CONNECTION}' UNTIL master_gtid_pos = %s", (gtid,))
        shapes = table_shapes(sconn, spec.databases)
        # Read to the binlog's current end (>= X): a superset of the changes up to X, still exact at X.
        touched = None if since is None else _touched(spec, since, shapes)
        source_sums = checksums(sconn, shapes, spec.chunk_rows, touched)
        execute(sconn, "COMMIT")
        deadline = time.monotonic() + spec.catchup_timeout
        while not repl.gtid_reached(str(scalar(tconn, "SELECT @@gtid_slave_pos") or ""), gtid):
            if time.monotonic() > deadline:
                raise Conflict(f"replica did not reach GTID {gtid} for the pre-freeze verify; re-run")
            time.sleep(0.1)
        target_sums = checksums(tconn, shapes, spec.chunk_rows, touched, spec.target_names)
        execute(tconn, f"STOP SLAVE '{repl.CONNECTION}'")  # UNTIL may not have stopped the IO thread yet
        execute(tconn, f"START SLAVE '{repl.CONNECTION}'")
    failures = compare(source_sums, target_sums, spec.chunk_rows)
    chunks = sum(len(v) for v in source_sums.values())
    kind = "pre-freeze verify" if since is None else "pre-freeze delta verify"
    say(f"{kind} at GTID {gtid}: {len(source_sums)} tables, {chunks} chunks, {len(failures)} FAIL")
    if failures:
        for line in failures[:20]:
            say(line)
        raise Conflict(
            f"{kind} found {len(failures)} differing chunk(s) before any freeze: the copy or replication "
            "is wrong; nothing was frozen — re-copy the named tables"
        )
    return gtid, {"binlog_file": binlog_file, "binlog_pos": binlog_pos}


def _touched(
    spec: CutoverSpec, since: dict[str, Any], shapes: Sequence[TableShape]
) -> dict[tuple[str, str], set[str]] | None:
    return touched_chunks(
        spec.source,
        str(since["binlog_file"]),
        int(since["binlog_pos"]),
        [s.key_column() for s in shapes],
        spec.chunk_rows,
    )


def _final_verify(spec: CutoverSpec, state: State, say: Say) -> list[str]:
    """Inside the freeze: checksums of the chunks the binlog shows changed since the pre-freeze verify.

    Every chunk matched at X; the binlog from X to the frozen end lists every row changed since
    (before and after images), so checking those chunks proves source = target at the end. When the
    binlog window holds something not mappable to rows (DDL on a copied DB), every chunk is checked.
    """
    prefreeze = state.data.get("prefreeze") or {}
    with spec.source.connect() as sconn, spec.target.connect() as tconn:
        shapes = table_shapes(sconn, spec.databases)
        touched: dict[tuple[str, str], set[str]] | None = None
        scope = spec.verify_scope
        if scope == "delta":
            touched = _touched(spec, prefreeze, shapes)
            if touched is None:
                say("final verify: the binlog since the pre-freeze verify has DDL on a copied DB: checking every chunk")
                scope = "all"
        source_sums = checksums(sconn, shapes, spec.chunk_rows, touched)
        target_sums = checksums(tconn, shapes, spec.chunk_rows, touched, spec.target_names)
    failures = compare(source_sums, target_sums, spec.chunk_rows)
    checked = sum(len(v) for v in source_sums.values())
    say(f"final verify ({scope}): {len(source_sums)} of {len(shapes)} tables, {checked} chunks, {len(failures)} FAIL")
    return failures


# --- the plan's way in ----------------------------------------------------------------------------


def run_plan(
    plan: Any, state_dir: Path, confirm: bool = False, progress: Any = None, say: Say = print
) -> tuple[Any, CutoverResult]:
    """``dirac-core db cutover PLAN``: the engine's whole plan as the copy step of a cutover.

    Returns the engine's report and the cutover result. The cutover state lives in
    ``<state_dir>/cutover/``, next to the engine's manifest, so one ``--state-dir`` resumes both.
    """
    from dirac_core.dbmigrate.plan import PlanError
    from dirac_core.dbmigrate.runner import Runner

    copies = plan.by_strategy("copy")
    if plan.cutover.mode == "replicate":
        changed = [db.name for db in copies if db.upgrade] + (
            [db.name for db in copies if db.name == "AccountingDB"] if plan.setup_rename else []
        )
        if changed:
            # Replication replays the source's rows into the source's tables; a target whose tables
            # are renamed or upgraded on arrival does not have them.
            raise PlanError(
                f"cutover.mode: replicate cannot follow {', '.join(sorted(set(changed)))}, renamed or upgraded on "
                "arrival: use cutover: {mode: frozen}, or migrate those databases in a plan of their own"
            )
    spec = spec_from_plan(
        plan.source,
        plan.target,
        [db.name for db in copies],
        Path(state_dir) / "cutover",
        plan.cutover.mode,
        plan.cutover.options,
        {db.name: db.target_name for db in copies},
        plan.chunk_rows,
    )
    runner = Runner(plan, Path(state_dir), confirm=confirm, **({"progress": progress} if progress else {}))
    report: Any = None

    def copy() -> str:
        nonlocal report
        report = runner.run()
        if not report.passed:
            raise Conflict(
                "the copy did not verify (see the report): the cutover stops before any switch; fix and re-run "
                "(in frozen mode the source stays read-only until then: SET GLOBAL read_only=OFF on it aborts)"
            )
        snapshot = runner.manifest.snapshot() or {}
        return str(snapshot.get("gtid") or "")

    try:
        result = run(spec, copy, say=say)
        if report is None:
            report = runner.report()
    finally:
        runner.close()
    return report, result
