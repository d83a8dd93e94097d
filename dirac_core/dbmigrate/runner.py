"""Run a whole plan: preflight, reset, copy (+ rename, upgrade), repopulate; report from the manifest.

Every step records its outcome in the manifest before the next starts, so running the same plan
with the same --state-dir again continues where a killed run stopped, and does nothing once done.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from dirac_core.dbmigrate import preflight, strategies
from dirac_core.dbmigrate.chunks import Chunk, KeyValue
from dirac_core.dbmigrate.connect import connect
from dirac_core.dbmigrate.copier import Copier, schema_diffs
from dirac_core.dbmigrate.faults import fault_point
from dirac_core.dbmigrate.manifest import Manifest
from dirac_core.dbmigrate.objects import SchemaDump
from dirac_core.dbmigrate.plan import DatabasePlan, Plan
from dirac_core.dbmigrate.progress import NullProgress, Progress
from dirac_core.dbmigrate.report import Report, build
from dirac_core.dbmigrate.verify import chunk_checksum


class Runner:
    def __init__(self, plan: Plan, state_dir: Path, confirm: bool = False, progress: Progress | None = None) -> None:
        self.plan = plan
        self.state_dir = Path(state_dir)
        self.confirm = confirm
        self.progress = progress or NullProgress()
        self._created = not self.state_dir.exists()
        self.manifest = Manifest(self.state_dir)

    def close(self) -> None:
        self.manifest.close()

    def check(self) -> list[preflight.Action]:
        try:
            return preflight.check(self.plan, self.manifest, self.confirm)
        except BaseException:
            # A refused plan leaves nothing behind: no state dir that a later run would resume from.
            if self._created:
                self.manifest.close()
                shutil.rmtree(self.state_dir, ignore_errors=True)
            raise

    def run(self) -> Report:
        started = time.monotonic()
        actions = self.check()  # everything is refused before the first change
        todo = {a.db.name for a in actions if a.verb != "nothing to do"}
        self.manifest.set("instance", self.plan.instance)
        for db in self.plan.by_strategy("reset"):
            if db.name in todo:
                self._reset(db)
        copies = [db for db in self.plan.by_strategy("copy") if db.name in todo]
        renames = self.plan.setup_rename

        def renamer(name: str, tables: list[str]) -> dict[str, str]:
            return strategies.setup_renames(renames, name, tables)

        Copier(self.plan, self.manifest, self.progress, renamer).run(copies)
        for db in copies:
            self._after_copy(db)
        for db in self.plan.by_strategy("repopulate"):
            if db.name in todo:
                self._repopulate(db)
        if todo:  # a rerun with nothing to do keeps the figures of the run that did the work
            self.manifest.set("seconds", round(time.monotonic() - started, 3))
        self.manifest.export_json()
        report = self.report()
        report.write(self.state_dir / "report.json")  # always kept next to the manifest
        return report

    def report(self) -> Report:
        return build(self.manifest, self.plan.instance)

    # ------------------------------------------------------------------------------------- strategies
    def _reset(self, db: DatabasePlan) -> None:
        self.manifest.set_db(db.name, target=db.target_name, strategy="reset", phase="resetting")
        fault_point("reset", "before")
        info = strategies.reset_database(self.plan, db)
        notes = [f"schema {info['schema']}"] + [f"{t}: next id {n}" for t, n in info["id_floors"].items()]
        self.manifest.set_phase(db.name, "done", notes=notes, id_floors=info["id_floors"])
        self.progress.note(f"{db.name}: reset to an empty schema ({'; '.join(notes)})")

    def _after_copy(self, db: DatabasePlan) -> None:
        entry = self.manifest.db(db.name)
        if entry is None or entry["phase"] != "copied":
            return
        notes: list[str] = []
        renamed = entry["schema"].get("rename", {})
        if renamed:
            changed = strategies.rename_catalog_rows(self.plan, db)
            self._reexpect(db, "ac_catalog_types")
            notes.append(f"setup rename: {len(renamed)} tables, {changed} ac_catalog_types rows")
        if db.upgrade:
            result = strategies.upgrade_database(self.plan, db)
            notes.append(f"schema upgrade: {result['action']} at {result['head']}")
        self.manifest.set_phase(db.name, "done", notes=notes)

    def _reexpect(self, db: DatabasePlan, table_name: str) -> None:
        """After a deliberate row change (setup rename), the target's new checksum becomes the expectation."""
        entry = self.manifest.db(db.name)
        assert entry is not None
        dump = SchemaDump.from_json(entry["schema"]["dump"])
        table = next((t for t in dump.tables if t.name == table_name), None)
        if table is None:
            return
        conn = connect(self.plan.target, raw=True)
        try:
            for row in self.manifest.chunks(db.name, table_name):
                chunk = Chunk(row.idx, KeyValue.from_json(row.lo), KeyValue.from_json(row.hi))
                rows, checksum = chunk_checksum(conn, db.target_name, table, chunk)
                self.manifest.set_chunk(db.name, table_name, row.idx, "verified", tgt_rows=rows, tgt_sum=checksum,
                                        expect_sum=checksum)  # fmt: skip
        finally:
            conn.close()

    def _repopulate(self, db: DatabasePlan) -> None:
        from dirac_core.dbmigrate.repopulate import repopulate

        notes = repopulate(self.plan, db, self.manifest)
        failed = [c for c in self.manifest.chunks(db.name) if c.state != "verified"]
        self.manifest.set_phase(db.name, "failed" if failed else "done", notes=notes)
        self.progress.note(f"{db.name}: repopulated ({'; '.join(notes)})")

    def _upgraded(self, name: str) -> bool:
        """An upgraded DB's schema differs from its source's on purpose: not compared again."""
        return any(db.name == name and db.upgrade for db in self.plan.databases)

    # --------------------------------------------------------------------------------------- verify only
    def verify_only(self) -> Report:
        """Recompute every chunk's target checksum against the recorded source one; changes no database."""
        conn = connect(self.plan.target, raw=True)
        try:
            for entry in self.manifest.dbs():
                if entry["schema"] is None:
                    continue
                dump = SchemaDump.from_json(entry["schema"]["dump"])
                rename: dict[str, Any] = entry["schema"].get("rename", {})
                if entry["strategy"] == "copy" and not self._upgraded(entry["name"]):
                    diffs = schema_diffs(conn, entry, entry["target"])
                    self.manifest.set_phase(entry["name"], entry["phase"], schema_diffs=diffs)
                for table in dump.tables:
                    if not table.columns:  # a listing's pseudo table: verified against the file only
                        continue
                    for row in self.manifest.chunks(entry["name"], table.name):
                        chunk = Chunk(row.idx, KeyValue.from_json(row.lo), KeyValue.from_json(row.hi))
                        rows, checksum = chunk_checksum(
                            conn, entry["target"], table, chunk, rename.get(table.name, table.name)
                        )
                        ok = rows == row.src_rows and checksum == row.expected_sum
                        self.manifest.set_chunk(entry["name"], table.name, row.idx, "verified" if ok else "failed",
                                                tgt_rows=rows, tgt_sum=checksum)  # fmt: skip
        finally:
            conn.close()
        report = self.report()
        report.write(self.state_dir / "report.json")
        return report


__all__ = ["Runner"]
