"""A catalog of 100k files with replicas and metadata: listings, replica maps and metadata queries
return exactly the expected sets (about 20 s on SQLite, 30 s on MariaDB on the loaded 2-core box)."""

from __future__ import annotations

from sqlalchemy import Engine

from dirac_core.catalog.catalog import FileCatalog

from .conftest import ADMIN, SES, make_catalog

RUNS = 20
BATCH = 5000


def build(fc: FileCatalog, n_files: int) -> dict[str, dict[str, object]]:
    """N files in RUNS run directories of /vo/data; run r has energy 10*r, type raw (even) or reco (odd);
    every file has a replica on SE-A, every third also on SE-B; file quality = i % 10."""
    fc.metadata.add_field(ADMIN, "energy", "INT")
    fc.metadata.add_field(ADMIN, "type", "VARCHAR(16)")
    fc.metadata.add_field(ADMIN, "quality", "INT", "-f")
    per_run = n_files // RUNS
    truth: dict[str, dict[str, object]] = {}
    for run in range(RUNS):
        base = f"/vo/data/run{run:03d}"
        batch = {
            f"{base}/file{i:06d}.root": {
                "Size": i + 1,
                "SE": SES[0],
                "PFN": f"root://a{base}/{i}",
                "GUID": f"{run}-{i}",
            }
            for i in range(per_run)
        }
        for start in range(0, per_run, BATCH):
            part = dict(list(batch.items())[start : start + BATCH])
            assert fc.files.add(ADMIN, part)["Failed"] == {}
        fc.metadata.set_values(ADMIN, base, {"energy": 10 * run, "type": "raw" if run % 2 == 0 else "reco"})
        extra = {lfn: {"SE": SES[1], "PFN": ""} for i, lfn in enumerate(batch) if i % 3 == 0}
        assert fc.replicas.add(ADMIN, extra)["Failed"] == {}
        for i, lfn in enumerate(batch):
            reps = {SES[0]: f"root://a{base}/{i}"}
            if i % 3 == 0:
                reps[SES[1]] = ""
            truth[lfn] = {"run": run, "i": i, "replicas": reps}
        for i, lfn in enumerate(batch):
            if i < 50:  # file metadata on a sample, one call each (setMetadata is per path)
                fc.metadata.set_values(ADMIN, lfn, {"quality": i % 10})
    return truth


def check(fc: FileCatalog, truth: dict[str, dict[str, object]]) -> None:
    lfns = sorted(truth)
    # Listings: every run directory lists exactly its files.
    per_run = len(lfns) // RUNS
    listing = fc.directories.list_dir(ADMIN, ["/vo/data", "/vo/data/run007"])["Successful"]
    assert set(listing["/vo/data"]["SubDirs"]) == {f"/vo/data/run{r:03d}" for r in range(RUNS)}
    assert set(listing["/vo/data/run007"]["Files"]) == {lfn for lfn in lfns if truth[lfn]["run"] == 7}
    assert len(listing["/vo/data/run007"]["Files"]) == per_run
    # Replica maps, in bulk: exactly the expected SE -> PFN maps.
    for start in range(0, len(lfns), 20000):
        part = lfns[start : start + 20000]
        reply = fc.replicas.get(ADMIN, part)
        assert reply["Failed"] == {}
        assert reply["Successful"] == {lfn: truth[lfn]["replicas"] for lfn in part}
    # Metadata queries: exactly the expected sets.
    expected = {lfn for lfn in lfns if 10 * int(truth[lfn]["run"]) > 100 and int(truth[lfn]["run"]) % 2 == 0}  # type: ignore[call-overload]
    assert set(fc.metadata.find(ADMIN, "energy>100 AND type=raw")) == expected
    either = {lfn for lfn in lfns if truth[lfn]["run"] in (1, 2) or (truth[lfn]["run"] == 19)}
    assert set(fc.metadata.find(ADMIN, "energy in (10, 20) OR (energy>=190 AND type=reco)")) == either
    quality = {lfn for lfn in lfns if int(truth[lfn]["i"]) < 50 and int(truth[lfn]["i"]) % 10 >= 8}  # type: ignore[call-overload]
    assert set(fc.metadata.find(ADMIN, "quality>=8")) == quality
    assert set(fc.metadata.find(ADMIN, "quality>=8 AND energy<50", "/vo/data")) == {
        lfn
        for lfn in quality
        if int(truth[lfn]["run"]) < 5  # type: ignore[call-overload]
    }
    size = fc.directories.size(ADMIN, ["/vo/data"])["Successful"]["/vo/data"]
    assert size["LogicalFiles"] == len(lfns)
    assert size["PhysicalSize"][SES[0]]["Files"] == len(lfns)
    assert size["PhysicalSize"][SES[1]]["Files"] == sum(1 for lfn in lfns if int(truth[lfn]["i"]) % 3 == 0)  # type: ignore[call-overload]


def test_catalog_of_100k_files(engine: Engine) -> None:
    fc = make_catalog(engine)
    check(fc, build(fc, 100_000))
