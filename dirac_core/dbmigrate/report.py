"""The verification report, built from the manifest: JSON for machines, text for operators.

Every table and every chunk gets PASS or FAIL; a FAIL names the table and its key range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dirac_core.dbmigrate.chunks import Chunk, KeyValue
from dirac_core.dbmigrate.manifest import Manifest, write_atomic
from dirac_core.dbmigrate.objects import SchemaDump, Table


@dataclass
class Report:
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.data.get("verdict") == "PASS")

    def failures(self) -> list[str]:
        out: list[str] = []
        for db in self.data.get("databases", []):
            if db.get("error"):
                out.append(f"{db['name']}: {db['error']}")
            for diff in db.get("schema_diffs", []):
                out.append(f"{db['name']}: schema: {diff}")
            for table in db.get("tables", []):
                for chunk in table["chunks"]:
                    if chunk["verdict"] != "PASS":
                        out.append(
                            f"{db['name']}.{table['name']} chunk {chunk['index']} ({chunk['range']}): "
                            f"source {chunk['source_rows']} rows/{chunk['source_checksum']}, "
                            f"target {chunk['target_rows']} rows/{chunk['target_checksum']} [{chunk['state']}]"
                        )
        return out

    def totals(self) -> dict[str, int]:
        tables = [t for db in self.data.get("databases", []) for t in db.get("tables", [])]
        chunk_list = [c for t in tables for c in t["chunks"]]
        return {
            "databases": len(self.data.get("databases", [])),
            "tables": len(tables),
            "rows": sum(t["rows"] for t in tables),
            "chunks": len(chunk_list),
            "failed_chunks": sum(c["verdict"] != "PASS" for c in chunk_list),
        }

    def summary(self, seconds: float | None = None) -> str:
        """One line: what was moved and proven, and how fast."""
        t = self.totals()
        line = (
            f"{self.data.get('verdict')}: {t['databases']} database(s), {t['tables']} table(s), {t['rows']:,} rows "
            f"in {t['chunks']} chunk(s), {t['failed_chunks']} failed"
        )
        if seconds:
            line += f"; {seconds:.1f} s, {t['rows'] / seconds:,.0f} rows/s including verification"
        return line

    def text(self, chunks: bool = True) -> str:
        lines = [f"migration of instance {self.data.get('instance')}: {self.data.get('verdict')}"]
        snap = self.data.get("snapshot") or {}
        if snap:
            where = (
                f"{snap.get('file')}:{snap.get('pos')} gtid {snap.get('gtid') or '-'}"
                if snap.get("file")
                else "no binlog"
            )
            lines.append(f"source snapshot: {where}")
        for db in self.data.get("databases", []):
            lines.append(f"{db['verdict']}  {db['name']} -> {db['target']} [{db['strategy']}, {db['phase']}]")
            for note in db.get("notes", []):
                lines.append(f"      {note}")
            for diff in db.get("schema_diffs", []):
                lines.append(f"FAIL    schema: {diff}")
            if db.get("objects"):
                lines.append(f"{'PASS' if not db.get('schema_diffs') else 'FAIL'}    schema objects: {db['objects']}")
            for table in db.get("tables", []):
                lines.append(
                    f"{table['verdict']}    {table['name']}"
                    + (f" -> {table['target_name']}" if table["target_name"] != table["name"] else "")
                    + f": {table['rows']:,} rows in {len(table['chunks'])} chunk(s)"
                )
                if chunks:
                    for c in table["chunks"]:
                        lines.append(
                            f"{c['verdict']}      chunk {c['index']} {c['range']}: "
                            f"{c['source_rows']} -> {c['target_rows']} rows"
                        )
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> tuple[Path, Path]:
        """``path`` gets the JSON; ``path`` with suffix .txt the text."""
        json_path = write_atomic(Path(path), json.dumps(self.data, indent=1, default=str))
        text_path = write_atomic(Path(path).with_suffix(".txt"), self.text())
        return json_path, text_path


def build(manifest: Manifest, instance: str, extra: dict[str, dict[str, Any]] | None = None) -> Report:
    extra = extra or {}
    dbs: list[dict[str, Any]] = []
    for entry in manifest.dbs():
        info = entry["info"]
        db: dict[str, Any] = {
            "name": entry["name"],
            "target": entry["target"],
            "strategy": entry["strategy"],
            "phase": entry["phase"],
            "notes": ([info["copy_path"]] if info.get("copy_path") else [])
            + list(info.get("notes", []))
            + list(extra.get(entry["name"], {}).get("notes", [])),
            "schema_diffs": info.get("schema_diffs", []),
            "tables": [],
        }
        if info.get("error"):
            db["error"] = info["error"]
        schema = entry["schema"]
        if schema is not None:
            dump = SchemaDump.from_json(schema["dump"])
            rename = schema.get("rename", {})
            kinds: dict[str, int] = {}
            for o in dump.objects:
                kinds[o.kind] = kinds.get(o.kind, 0) + 1
            db["objects"] = ", ".join(f"{n} {k.lower()}(s)" for k, n in sorted(kinds.items())) or "tables only"
            for table in dump.tables:
                db["tables"].append(_table(manifest, entry["name"], table, rename.get(table.name, table.name)))
        ok = entry["phase"] == "done" and not db["schema_diffs"] and not db.get("error")
        ok = ok and all(t["verdict"] == "PASS" for t in db["tables"])
        db["verdict"] = "PASS" if ok else "FAIL"
        dbs.append(db)
    verdict = "PASS" if dbs and all(d["verdict"] == "PASS" for d in dbs) else "FAIL"
    return Report({"instance": instance, "verdict": verdict, "snapshot": manifest.snapshot(), "databases": dbs})


def _table(manifest: Manifest, db: str, table: Table, target_name: str) -> dict[str, Any]:
    chunks = []
    for row in manifest.chunks(db, table.name):
        chunk = Chunk(row.idx, KeyValue.from_json(row.lo), KeyValue.from_json(row.hi))
        ok = row.state == "verified" and row.tgt_rows == row.src_rows and row.tgt_sum == row.expected_sum
        chunks.append(
            {
                "index": row.idx,
                "range": chunk.describe(table),
                "state": row.state,
                "source_rows": row.src_rows,
                "target_rows": row.tgt_rows,
                "source_checksum": row.expected_sum,
                "target_checksum": row.tgt_sum,
                "verdict": "PASS" if ok else "FAIL",
            }
        )
    verdict = "PASS" if chunks and all(c["verdict"] == "PASS" for c in chunks) else "FAIL"
    return {
        "name": table.name,
        "target_name": target_name,
        "rows": sum(c["source_rows"] or 0 for c in chunks),
        "verdict": verdict,
        "chunks": chunks,
    }


__all__ = ["Report", "build"]
