"""SandboxStore on real databases and a real directory: checksums, size limit, ownership, job assignment."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from dirac_core.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge

from .conftest import ADMIN, ALICE, BOB, PILOT, SIMPLE_JDL, WMS


def make_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_upload_download_and_dedup(wms: WMS) -> None:
    data = make_tar({"run.sh": b"#!/bin/sh\necho hi\n"})
    first = wms.sandboxes.upload(ALICE, [data[:10], data[10:]], sha(data), size=len(data))
    assert first.new and first.location == f"SB:ProductionSandboxSE|/egi/egi_user/alice/{sha(data)}.tar"
    again = wms.sandboxes.upload(ALICE, [data], "sha256:" + sha(data))
    assert (again.sb_id, again.new) == (first.sb_id, False)
    assert wms.sandboxes.read(ALICE, first.location) == data
    assert wms.sandboxes.read(ADMIN, first.location) == data
    assert wms.sandboxes.read(PILOT, first.location) == data
    with pytest.raises(Forbidden):
        wms.sandboxes.read(BOB, first.location)
    with pytest.raises(NotFound):
        wms.sandboxes.read(ALICE, "SB:ProductionSandboxSE|/egi/egi_user/alice/" + "0" * 64 + ".tar")


def test_checksum_mismatch_oversize_and_non_tar_store_nothing(wms: WMS) -> None:
    data = make_tar({"a": b"x"})
    root = wms.sandboxes.base_dir
    with pytest.raises(BadRequest, match="checksum mismatch"):
        wms.sandboxes.upload(ALICE, [data], sha(data + b"!"))
    big = b"\0" * (wms.sandboxes.max_bytes + 1)
    with pytest.raises(PayloadTooLarge, match="MaxSandboxSizeMiB"):
        wms.sandboxes.upload(ALICE, [big[:1000], big[1000:]], sha(big))  # size not announced: counted
    with pytest.raises(PayloadTooLarge):
        wms.sandboxes.upload(ALICE, [b""], sha(big), size=len(big))  # announced: refused before reading
    with pytest.raises(BadRequest, match="not a tar archive"):
        wms.sandboxes.upload(ALICE, [b"plain text"], sha(b"plain text"))
    with pytest.raises(BadRequest, match="64 hex digits"):
        wms.sandboxes.upload(ALICE, [data], "abc")
    assert stored_files(root) == []
    assert wms.sandboxdb.count_sandboxes() == 0


def test_input_sandbox_assigned_at_submission_and_output_by_pilot(wms: WMS) -> None:
    data = make_tar({"run.sh": b"echo"})
    location = wms.sandboxes.upload(ALICE, [data], sha(data)).location
    [job_id] = wms.manager.submit(ALICE, f'[ Executable = "run.sh"; InputSandbox = {{"{location}", "local.txt"}}; ]')
    assert wms.sandboxes.job_sandboxes(ALICE, job_id, "Input") == [location]
    with pytest.raises(Forbidden):
        wms.sandboxes.job_sandboxes(BOB, job_id)
    # Bob cannot use Alice's sandbox in his own job
    with pytest.raises(Forbidden, match="belongs to alice"):
        wms.manager.submit(BOB, f'[ Executable = "run.sh"; InputSandbox = {{"{location}"}}; ]')

    wms.matcher.request_job(PILOT, {"CPUTime": 86400})
    wms.state.set_status(PILOT, job_id, "Running")
    output = make_tar({"std.out": b"hello"})
    with pytest.raises(Forbidden):
        wms.sandboxes.upload(BOB, [output], sha(output), job_id=job_id, sb_type="Output")
    stored = wms.sandboxes.upload(PILOT, [output], sha(output), job_id=job_id, sb_type="Output")
    assert stored.location.startswith("SB:ProductionSandboxSE|/egi/egi_user/alice/")  # owned by the job owner
    assert wms.sandboxes.job_sandboxes(ALICE, job_id, "Output") == [stored.location]
    assert wms.sandboxes.read(ALICE, stored.location) == output
    with pytest.raises(NotFound):
        wms.sandboxes.upload(PILOT, [output], sha(output), job_id=987654, sb_type="Output")
    [other] = wms.manager.submit(BOB, SIMPLE_JDL)
    assert wms.sandboxes.job_sandboxes(BOB, other) == []
