"""File Catalog rates on MariaDB through HTTPS (DIRAC RPC), each next to the raw DB rate of the same run.

* bulk addFile (files/s)           vs  plain executemany INSERTs of the same rows (FC_Files+FileInfo+Replicas)
* getReplicas (LFNs/s)             vs  plain SELECT FC_Files JOIN FC_Replicas for the same LFNs (rows/s)
* listDirectory of a 10k directory vs  plain SELECT FC_Files JOIN FC_FileInfo of that directory
* findFilesByMetadata over N files vs  the equivalent hand-written SQL join

A real `dirac-core serve DataManagement/FileCatalog` process on a scratch MariaDB database
(`catalog_bench_*`, dropped at the end). Run: .venv/bin/python bench/catalog.py [files=100000] [batch=10000]
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from tests.support.instance import running_instance
from tests.support.mariadb import mariadb_root_url

FC = "DataManagement/FileCatalog"
DIRS = 10


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def line(label: str, count: int, seconds: float, unit: str, raw: float | None = None) -> None:
    rate = count / seconds
    extra = f"   raw DB {raw:>10,.0f} {unit}/s   service/raw {rate / raw:5.2f}" if raw else ""
    print(f"{label:<46} {count:>7} in {seconds:6.2f}s = {rate:>10,.0f} {unit}/s{extra}", flush=True)


def lfn(d: int, i: int) -> str:
    return f"/vo/data/run{d:02d}/file{i:07d}.root"


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    per_dir = total // DIRS
    name = f"catalog_bench_{secrets.token_hex(4)}"
    admin = create_engine(mariadb_root_url())
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = mariadb_root_url(name)
    extra = {
        "Systems": {"DataManagement": {"Local": {"Services": {"FileCatalog": {"MaxBulkSize": max(batch, 50_000)}}}}},
        "Resources": {"StorageElements": {"SE-A": {"BackendType": "File"}, "SE-B": {"BackendType": "File"}}},
    }
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            running_instance(
                Path(tmp),
                [FC],
                db_urls={("DataManagement", "FileCatalogDB"): url},
                extra_cfg=extra,
                before_start=[["dirac-core", "db", "init"]],
            ) as inst,
        ):
            print(f"File Catalog on MariaDB through HTTPS: {total} files in {DIRS} directories, batches of {batch}")
            raw = create_engine(url)
            with inst.client(FC, user="admin", group="dirac_admin") as client:
                client.rpc("createDirectory", [f"/vo/data/run{d:02d}" for d in range(DIRS)])
                lfns = [lfn(d, i) for d in range(DIRS) for i in range(per_dir)]
                props = {
                    path: {"Size": 1000 + n, "SE": "SE-A", "PFN": f"root://se.example.org/{path}", "GUID": f"{n:036d}"}
                    for n, path in enumerate(lfns)
                }

                # ---- addFile: the first half over DIRAC RPC, the second half over REST
                half = (total // 2 // batch) * batch or total // 2

                def add_rpc() -> None:
                    for start in range(0, half, batch):
                        part = {p: props[p] for p in lfns[start : min(start + batch, half)]}
                        reply = client.rpc("addFile", part)
                        assert not reply["Failed"], list(reply["Failed"].items())[:3]

                def add_rest() -> None:
                    for start in range(half, total, batch):
                        part = {p: props[p] for p in lfns[start : start + batch]}
                        reply = client.request("POST", "files", json={"files": part})
                        assert not reply["Failed"], list(reply["Failed"].items())[:3]

                rpc_seconds, _ = timed(add_rpc)
                rest_seconds, _ = timed(add_rest)
                raw_insert = raw_insert_rate(raw, total, batch)
                line("addFile (RPC, bulk)", half, rpc_seconds, "files", raw_insert)
                line("addFile (REST, bulk)", total - half, rest_seconds, "files", raw_insert)

                # ---- getReplicas
                def get_all(size: int) -> None:
                    for start in range(0, total, size):
                        reply = client.rpc("getReplicas", lfns[start : start + size])
                        assert len(reply["Successful"]) == len(lfns[start : start + size])

                raw_select = raw_select_rate(raw, lfns, batch)
                for size in sorted({batch, 50_000 if total >= 50_000 else batch}):
                    seconds = min(timed(lambda size=size: get_all(size))[0] for _ in range(2))  # type: ignore[misc]
                    line(f"getReplicas (RPC, {size} LFNs per call, best of 2)", total, seconds, "LFNs", raw_select)

                def get_all_rest() -> None:
                    for start in range(0, total, batch):
                        reply = client.request("POST", "replicas/get", json={"lfns": lfns[start : start + batch]})
                        assert len(reply["Successful"]) == len(lfns[start : start + batch])

                seconds = min(timed(get_all_rest)[0] for _ in range(2))
                line(f"getReplicas (REST, {batch} LFNs per call, best of 2)", total, seconds, "LFNs", raw_select)

                # ---- listDirectory of one directory
                big = f"/vo/data/run{0:02d}"
                calls = 5
                seconds, reply = timed(lambda: [client.rpc("listDirectory", [big]) for _ in range(calls)])
                assert len(reply[0]["Successful"][big]["Files"]) == per_dir
                raw_list = raw_list_rate(raw, calls)
                line(f"listDirectory ({per_dir} entries), entries", calls * per_dir, seconds, "entries", raw_list)

                # ---- metadata query over all files
                client.rpc("addMetadataField", "energy", "INT", "-d")
                client.rpc("addMetadataField", "type", "VARCHAR(16)", "-d")
                client.rpc("addMetadataField", "quality", "INT", "-f")
                for d in range(DIRS):
                    client.rpc(
                        "setMetadata", f"/vo/data/run{d:02d}", {"energy": 10 * d, "type": "raw" if d % 2 else "reco"}
                    )
                with raw.begin() as conn:  # file values seeded in SQL: setMetadata is one call per file
                    conn.execute(
                        text("INSERT INTO FC_FileMeta_quality (FileID, Value) SELECT FileID, FileID % 10 FROM FC_Files")
                    )
                query = "energy>=40 AND type=raw AND quality>=5"
                seconds, found = timed(lambda: client.rpc("findFilesByMetadata", query, "/vo"))
                expected = sum(1 for d in range(DIRS) if d >= 4 and d % 2) * per_dir // 2
                assert abs(len(found) - expected) <= DIRS, (len(found), expected)
                raw_seconds, raw_count = raw_query(raw)
                assert raw_count == len(found)
                print(
                    f"{'findFilesByMetadata over ' + str(total) + ' files':<46} {len(found):>7} hits in {seconds:6.2f}s"
                    f"   raw DB SQL join {raw_seconds:6.2f}s   service/raw time {seconds / raw_seconds:5.1f}x",
                    flush=True,
                )
            raw.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def raw_insert_rate(raw: Any, total: int, batch: int) -> float:
    """Plain DBAPI executemany of the rows one addFile writes (FC_Files, FC_FileInfo, FC_Replicas
    shaped) into copies of those tables, committed per batch: the raw cost of the same rows."""
    with raw.begin() as conn:
        for table in ("FC_Files", "FC_FileInfo", "FC_Replicas"):
            conn.execute(text(f"CREATE TABLE bench_raw_{table} LIKE {table}"))
    now = "2026-01-01 00:00:00"
    files = [(1 + n % DIRS, f"raw{n:08d}.root", 1000 + n, 1, 1, "AprioriGood") for n in range(total)]
    info = [(n + 1, f"{n:036d}", "", "Adler32", "File", 420, now, now) for n in range(total)]
    reps = [(n + 1, 1, "AprioriGood", f"root://se.example.org/raw{n:08d}.root", now) for n in range(total)]
    conn = raw.raw_connection()
    try:
        cursor = conn.cursor()
        start = time.perf_counter()
        for offset in range(0, total, batch):
            cursor.executemany(
                "INSERT INTO bench_raw_FC_Files (DirID, FileName, Size, UID, GID, Status) VALUES (%s,%s,%s,%s,%s,%s)",
                files[offset : offset + batch],
            )
            cursor.executemany(
                "INSERT INTO bench_raw_FC_FileInfo (FileID, GUID, Checksum, ChecksumType, Type, Mode, CreationDate,"
                " ModificationDate) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                info[offset : offset + batch],
            )
            cursor.executemany(
                "INSERT INTO bench_raw_FC_Replicas (FileID, SEID, Status, PFN, CreationDate) VALUES (%s,%s,%s,%s,%s)",
                reps[offset : offset + batch],
            )
            conn.commit()
        seconds = time.perf_counter() - start
        for table in ("FC_Files", "FC_FileInfo", "FC_Replicas"):
            cursor.execute(f"DROP TABLE bench_raw_{table}")
    finally:
        conn.close()
    return total / seconds


def raw_select_rate(raw: Any, lfns: list[str], batch: int) -> float:
    """Plain DBAPI SELECT FC_Files LEFT JOIN FC_Replicas JOIN FC_StorageElements for the same LFNs,
    one per batch, with the same exact per-directory WHERE as the service (best shape for MariaDB)."""
    conn = raw.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT Name, DirID FROM FC_DirectoryList")
        dir_ids = {row[0]: row[1] for row in cursor.fetchall()}
        start = time.perf_counter()
        rows = 0
        for offset in range(0, len(lfns), batch):
            by_dir: dict[int, list[str]] = {}
            for path in lfns[offset : offset + batch]:
                head, _, name = path.rpartition("/")
                by_dir.setdefault(dir_ids[head], []).append(name)
            where = " OR ".join(
                f"(f.DirID = %s AND f.FileName IN ({','.join(['%s'] * len(names))}))" for names in by_dir.values()
            )
            params = [value for dir_id, names in by_dir.items() for value in (dir_id, *names)]
            cursor.execute(
                "SELECT f.DirID, f.FileName, s.SEName, r.PFN FROM FC_Files f "
                "LEFT JOIN FC_Replicas r ON r.FileID = f.FileID LEFT JOIN FC_StorageElements s ON s.SEID = r.SEID "
                f"WHERE {where}",
                params,
            )
            rows += len(cursor.fetchall())
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    return rows / seconds


def raw_list_rate(raw: Any, calls: int) -> float:
    conn = raw.raw_connection()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT DirID FROM FC_DirectoryList WHERE Name = '/vo/data/run00'")
        dir_id = cursor.fetchone()[0]
        start = time.perf_counter()
        rows = 0
        for _ in range(calls):
            cursor.execute(
                "SELECT f.FileID, f.FileName, f.Size, f.UID, f.GID, f.Status, i.GUID, i.Checksum, i.ChecksumType, "
                "i.Mode, i.CreationDate, i.ModificationDate FROM FC_Files f JOIN FC_FileInfo i ON i.FileID = f.FileID "
                "WHERE f.DirID = %s",
                (dir_id,),
            )
            rows += len(cursor.fetchall())
        seconds = time.perf_counter() - start
    finally:
        conn.close()
    return rows / seconds


def raw_query(raw: Any) -> tuple[float, int]:
    sql = (
        "SELECT d.Name, f.FileName FROM FC_Files f "
        "JOIN FC_DirectoryList d ON d.DirID = f.DirID "
        "JOIN FC_DirectoryClosure ce ON ce.ChildID = f.DirID JOIN FC_Meta_energy e ON e.DirID = ce.ParentID "
        "JOIN FC_DirectoryClosure ct ON ct.ChildID = f.DirID JOIN FC_Meta_type t ON t.DirID = ct.ParentID "
        "JOIN FC_FileMeta_quality q ON q.FileID = f.FileID "
        "WHERE e.Value >= 40 AND t.Value = 'raw' AND q.Value >= 5"
    )
    conn = raw.raw_connection()
    try:
        cursor = conn.cursor()
        start = time.perf_counter()
        cursor.execute(sql)
        count = len(cursor.fetchall())
        return time.perf_counter() - start, count
    finally:
        conn.close()


if __name__ == "__main__":
    main()
