"""SandboxStore logic: tar files on disk under a base directory, metadata in SandboxMetadataDB.

A sandbox is stored once per content: ``<BasePath>/<vo>/<group>/<owner>/<sha256>.tar`` and named
``SB:<SEName>|/<vo>/<group>/<owner>/<sha256>.tar`` (DIRAC's location form). Uploads are streamed to a
temporary file while hashed and counted; a wrong checksum, a non-tar file or more bytes than
``MaxSandboxSizeMiB`` are refused and nothing is kept.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dirac_core.auth.caller import Caller, Properties
from dirac_core.db.jobdb import JobDB
from dirac_core.db.sandboxmetadatadb import SandboxMetadataDB, job_entity
from dirac_core.errors import (
    BadRequest,
    Conflict,
    DiracError,
    Forbidden,
    InsufficientStorage,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
)
from dirac_core.wms import states
from dirac_core.wms.access import load_authorized, owns, sees_all

DEFAULT_SE_NAME = "ProductionSandboxSE"  # DIRAC's default LocalSE of the SandboxStore
DEFAULT_MAX_MIB = 10  # DIRAC's default MaxSandboxSizeMiB
SANDBOX_TYPES = ("Input", "Output")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SAFE = re.compile(r"^[A-Za-z0-9_.@+-]+$")


def parse_location(location: str) -> tuple[str, str]:
    """``SB:<SEName>|<PFN>`` -> (SEName, PFN)."""
    if not location.startswith("SB:") or "|" not in location:
        raise BadRequest(f"{location!r} is not a sandbox location: expected SB:<SEName>|<PFN>")
    se_name, _, pfn = location[3:].partition("|")
    if not se_name or not pfn.startswith("/"):
        raise BadRequest(f"{location!r} is not a sandbox location: expected SB:<SEName>|/<path>")
    return se_name, pfn


@dataclass(frozen=True)
class StoredSandbox:
    location: str
    sb_id: int
    size: int
    new: bool


def storage_refusal(exc: OSError, where: Path) -> DiracError | None:
    """A full or read-only sandbox directory as one clear error naming the path and the fix."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return InsufficientStorage(
            f"the sandbox store {where} is full ({exc.strerror}): the admins must free space there "
            "or move BasePath to a larger disk; upload again afterwards"
        )
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ServiceUnavailable(
            f"the sandbox store {where} is not writable ({exc.strerror}): the admins must make it writable "
            "by the service user or point BasePath elsewhere"
        )
    return None  # another I/O problem: a 500 with the traceback in the service log


@dataclass
class SandboxStore:
    sandboxdb: SandboxMetadataDB
    jobdb: JobDB
    base_dir: Path
    max_bytes: int = DEFAULT_MAX_MIB * 1024 * 1024
    se_name: str = DEFAULT_SE_NAME

    # ---------------------------------------------------------------- upload
    def check_declared_size(self, size: int | None) -> None:
        if size is not None and size > self.max_bytes:
            raise PayloadTooLarge(self._too_large(size))

    def _too_large(self, size: int) -> str:
        return (
            f"sandbox of {size} bytes exceeds the limit of {self.max_bytes} bytes (MaxSandboxSizeMiB): "
            "put large files on a storage element and list them in InputData"
        )

    def upload(
        self,
        caller: Caller,
        chunks: Iterable[bytes],
        checksum: str,
        size: int | None = None,
        job_id: int | None = None,
        sb_type: str = "Input",
    ) -> StoredSandbox:
        """Store a tar sandbox. With `job_id` (pilots, output sandboxes) it is owned by the job's owner
        and assigned to the job as `sb_type`."""
        checksum = checksum.lower().removeprefix("sha256:")
        if not _SHA256.match(checksum):
            raise BadRequest("checksum must be the sha256 of the file as 64 hex digits: run sha256sum on it")
        if sb_type not in SANDBOX_TYPES:
            raise BadRequest(f"sandbox type {sb_type!r}: use Input or Output")
        self.check_declared_size(size)
        if job_id is not None:
            caller.require(Properties.GENERIC_PILOT, Properties.JOB_ADMINISTRATOR)
            # Pilots upload for the job they run, whoever owns it; the sandbox belongs to the job owner.
            found = self.jobdb.get_attributes([job_id], ["Status", "Owner", "OwnerGroup", "VO"])
            if job_id not in found:
                raise NotFound(f"no job {job_id}: check the JobID")
            job = found[job_id]
            if job["Status"] in {states.DELETED, states.KILLED}:
                raise Conflict(f"job {job_id} is {job['Status']}: its sandboxes can no longer change")
            owner, group, vo = str(job["Owner"]), str(job["OwnerGroup"]), str(job["VO"])
        else:
            caller.require(Properties.NORMAL_USER, Properties.JOB_ADMINISTRATOR)
            owner, group, vo = caller.username, caller.group, caller.vo
        for part in (owner, group, vo):
            if not _SAFE.match(part):
                raise BadRequest(f"owner name part {part!r} has characters unsafe in a path: contact the admins")

        incoming = self.base_dir / ".incoming"
        try:
            incoming.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=incoming, suffix=".part")
        except OSError as exc:
            refusal = storage_refusal(exc, self.base_dir)
            if refusal is None:
                raise
            raise refusal from exc
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            written = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    written += len(chunk)
                    if written > self.max_bytes:
                        raise PayloadTooLarge(self._too_large(written))
                    digest.update(chunk)
                    out.write(chunk)
            if size is not None and written != size:
                raise BadRequest(f"received {written} bytes but {size} were announced: upload the file again")
            if digest.hexdigest() != checksum:
                raise BadRequest(
                    f"checksum mismatch: file has sha256 {digest.hexdigest()}, request said {checksum}: "
                    "the upload was corrupted or the checksum is wrong; upload again"
                )
            if not tarfile.is_tarfile(tmp):
                raise BadRequest("sandbox is not a tar archive: pack the files with tar (optionally gzip/bz2)")
            pfn = f"/{vo}/{group}/{owner}/{checksum}.tar"
            final = self.base_dir / pfn.lstrip("/")
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(final)
        except OSError as exc:
            refusal = storage_refusal(exc, self.base_dir)
            if refusal is None:
                raise
            raise refusal from exc
        finally:
            tmp.unlink(missing_ok=True)
        sb_id, new = self.sandboxdb.register_sandbox(owner, group, vo, self.se_name, pfn, written)
        if job_id is not None:
            self.sandboxdb.assign([(sb_id, job_entity(job_id), sb_type)])
        return StoredSandbox(f"SB:{self.se_name}|{pfn}", sb_id, written, new)

    # ---------------------------------------------------------------- download
    def _may_read(self, caller: Caller, owner: str, group: str, vo: str) -> bool:
        # Pilots fetch the input sandboxes of the jobs they run.
        return sees_all(caller) or caller.is_pilot or owns(caller, {"Owner": owner, "OwnerGroup": group, "VO": vo})

    def path_of(self, caller: Caller, location: str) -> Path:
        """The file of a sandbox the caller may read."""
        se_name, pfn = parse_location(location)
        found = self.sandboxdb.get_sandbox(se_name, pfn)
        if found is None or se_name != self.se_name:
            raise NotFound(f"no sandbox {location}: check the location printed at upload")
        if not self._may_read(caller, found["Owner"], found["OwnerGroup"], found["VO"]):
            raise Forbidden(f"{caller.username} may not read sandbox {location} of {found['Owner']}")
        path = (self.base_dir / pfn.lstrip("/")).resolve()
        if self.base_dir.resolve() not in path.parents or not path.is_file():
            raise NotFound(f"sandbox {location} is registered but its file is missing: ask the admins to restore it")
        return path

    def read(self, caller: Caller, location: str) -> bytes:
        return self.path_of(caller, location).read_bytes()

    def job_sandboxes(self, caller: Caller, job_id: int, sb_type: str | None = None) -> list[str]:
        """Locations of a job's sandboxes (DIRAC's getSandboxesAssignedToEntity)."""
        if sb_type is not None and sb_type not in SANDBOX_TYPES:
            raise BadRequest(f"sandbox type {sb_type!r}: use Input or Output")
        if not caller.is_pilot:
            load_authorized(self.jobdb, caller, [job_id], [], write=False)
        return [
            f"SB:{row['SEName']}|{row['SEPFN']}" for row in self.sandboxdb.sandboxes_of(job_entity(job_id), sb_type)
        ]
