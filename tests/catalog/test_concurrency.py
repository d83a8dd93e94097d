"""Concurrent bulk addFile on one catalog: every FileID's info and replica rows belong to that file
(the consecutive-id assumption of the multi-row INSERT), overlapping requests answer per item."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, text

from .conftest import ADMIN, make_catalog


def batch(worker: int, n: int) -> dict[str, dict[str, Any]]:
    return {
        f"/vo/c/w{worker}/f{i:05d}": {
            "Size": i,
            "SE": "SE-A",
            "PFN": f"pfn:/vo/c/w{worker}/f{i:05d}",
            "GUID": f"{worker}-{i}",
        }
        for i in range(n)
    }


def test_parallel_adds_keep_ids_consistent(engine: Engine) -> None:
    fc = make_catalog(engine)
    fc.directories.create(ADMIN, [f"/vo/c/w{w}" for w in range(4)])
    shared = {f"/vo/c/shared/f{i}": {"Size": 1, "SE": "SE-B", "GUID": "same"} for i in range(200)}
    requests = [{**batch(w, 3000), **shared} for w in range(4)]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda files: fc.files.add(ADMIN, files), requests))
    for reply, files in zip(replies, requests, strict=True):
        assert reply["Failed"] == {}  # identical re-registrations of the shared files succeed
        assert set(reply["Successful"]) == set(files)
    with engine.connect() as conn:
        mismatched = conn.execute(
            text(
                "SELECT COUNT(*) FROM FC_Files f JOIN FC_DirectoryList d ON d.DirID = f.DirID "
                "JOIN FC_FileInfo i ON i.FileID = f.FileID JOIN FC_Replicas r ON r.FileID = f.FileID "
                "WHERE d.Name LIKE '/vo/c/w%' AND r.PFN <> CONCAT('pfn:', d.Name, '/', f.FileName)"
                if engine.dialect.name != "sqlite"
                else "SELECT COUNT(*) FROM FC_Files f JOIN FC_DirectoryList d ON d.DirID = f.DirID "
                "JOIN FC_FileInfo i ON i.FileID = f.FileID JOIN FC_Replicas r ON r.FileID = f.FileID "
                "WHERE d.Name LIKE '/vo/c/w%' AND r.PFN <> 'pfn:' || d.Name || '/' || f.FileName"
            )
        ).scalar_one()
        counts = conn.execute(
            text(
                "SELECT (SELECT COUNT(*) FROM FC_Files), (SELECT COUNT(*) FROM FC_FileInfo),"
                " (SELECT COUNT(*) FROM FC_Replicas)"
            )
        ).one()
    assert mismatched == 0
    assert tuple(counts) == (4 * 3000 + 200,) * 3
    replicas = fc.replicas.get(ADMIN, list(requests[2]))["Successful"]
    assert replicas["/vo/c/w2/f00042"] == {"SE-A": "pfn:/vo/c/w2/f00042"}
