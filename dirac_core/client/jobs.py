"""Jobs from Python (scripts, notebooks) and for `dirac jobs`: submit, follow, kill, fetch outputs.

    from dirac_core.client.jobs import JobsClient

    with JobsClient() as jobs:                      # ~/.dirac/dirac.cfg (or $DIRAC_CFG) + the `dirac login` token
        ids = jobs.submit("hello.jdl", bulk=10)     # local InputSandbox files are packed and uploaded
        jobs.wait(ids)
        jobs.status(ids)                            # {JobID: {"Status": "Done", ...}}
        jobs.get_output(ids[0], "out/")             # the files of the OutputSandbox

Talks REST to JobManager, JobMonitoring and SandboxStore. Errors are the server's `DiracError`s.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from dirac_core.client.config import ca_bundle, load_client_config, service_url
from dirac_core.client.http import ServiceClient
from dirac_core.config.cfg import Config
from dirac_core.errors import BadRequest, NotFound, ServiceUnavailable
from dirac_core.jdl import JDL
from dirac_core.tarsafe import extract_data

JOB_MANAGER = "WorkloadManagement/JobManager"
JOB_MONITORING = "WorkloadManagement/JobMonitoring"
SANDBOX_STORE = "WorkloadManagement/SandboxStore"
FINAL_STATES = frozenset({"Done", "Failed", "Killed", "Deleted"})
BULK_CHUNK = 500  # copies per submission request: progress without one request per job
SUBMIT_RETRY_SECONDS = 180.0  # how long a submission request is retried (same Idempotency-Key) while unreachable
Progress = Callable[[int, int], None]  # (done, total)


def _no_progress(_done: int, _total: int) -> None:
    return None


def _is_local_file(entry: str) -> bool:
    return not entry.startswith(("SB:", "LFN:", "lfn:")) and "://" not in entry


def pack_files(paths: Sequence[Path]) -> bytes:
    """A tar.gz of `paths` (by base name), as DIRAC packs an input sandbox."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in paths:
            archive.add(path, arcname=path.name)
    return buffer.getvalue()


class JobsClient:
    """One user's view of the WMS. Close it (or use `with`) to release connections."""

    def __init__(
        self,
        cfg_file: str | Path | None = None,
        *,
        config: Config | None = None,
        token: str | None = None,
        cert: tuple[str, str] | None = None,
        timeout: float = 120.0,
        submit_retry: float = SUBMIT_RETRY_SECONDS,
    ) -> None:
        self.config = config or load_client_config(cfg_file)
        self.submit_retry = submit_retry
        if token is None and cert is None:
            from dirac_core.client.login import load_token

            token = load_token().access_token
        self._token, self._cert, self._timeout = token, cert, timeout
        self._clients: dict[str, ServiceClient] = {}

    def __enter__(self) -> JobsClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _client(self, component: str) -> ServiceClient:
        if component not in self._clients:
            self._clients[component] = ServiceClient(
                service_url(self.config, component),
                token=self._token,
                cert=self._cert,
                ca_bundle=ca_bundle(self.config),
                timeout=self._timeout,
            )
        return self._clients[component]

    # -- submission --------------------------------------------------------------------------
    def upload_sandbox(self, data: bytes) -> str:
        """Store a tar (optionally compressed) in the SandboxStore; returns its ``SB:`` location."""
        digest = hashlib.sha256(data).hexdigest()
        reply = self._client(SANDBOX_STORE).request("POST", "sandboxes", params={"checksum": digest}, content=data)
        return str(reply["location"])

    def prepare(self, jdl: str | Path, base_dir: Path | None = None) -> str:
        """JDL text with its local InputSandbox files uploaded and replaced by one ``SB:`` location.

        `jdl` is JDL text or a path to a .jdl file; relative file names are resolved against
        `base_dir` (default: the JDL file's directory, else the current directory).
        """
        looks_like_path = isinstance(jdl, Path) or ("\n" not in jdl and "=" not in jdl)
        if looks_like_path:
            path = Path(jdl)
            if not path.is_file():
                raise NotFound(f"JDL file {path} not found: give a .jdl file or the JDL text")
            text, base_dir = path.read_text(), base_dir or path.parent
        else:
            text = str(jdl)
        description = JDL.parse(text)
        entries = description.get_list("InputSandbox")
        local = [entry for entry in entries if _is_local_file(entry)]
        if not local:
            return text
        base = base_dir or Path.cwd()
        paths = [base / entry for entry in local]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise NotFound(f"InputSandbox file(s) {', '.join(missing)} not found: fix the names in the JDL")
        location = self.upload_sandbox(pack_files(paths))
        description.set("InputSandbox", [location, *(e for e in entries if not _is_local_file(e))])
        return description.to_text()

    def submit(
        self,
        jdl: str | Path,
        bulk: int = 1,
        *,
        base_dir: Path | None = None,
        progress: Progress = _no_progress,
    ) -> list[int]:
        """Submit one job, `bulk` copies of it, or the jobs of a parametric JDL; returns the JobIDs.

        The input sandbox is uploaded once and shared by all copies; copies go in requests of
        `BULK_CHUNK` so `progress(done, total)` moves.
        """
        if bulk < 1:
            raise BadRequest(f"bulk = {bulk}: give at least 1")
        text = self.prepare(jdl, base_dir)
        job_ids: list[int] = []
        while len(job_ids) < bulk or not job_ids:
            copies = min(BULK_CHUNK, bulk - len(job_ids)) if bulk > 1 else 1
            job_ids.extend(self.submit_once(text, copies))
            progress(len(job_ids), max(bulk, len(job_ids)))
            if bulk == 1:
                break
        return job_ids

    def submit_once(self, jdl_text: str, copies: int = 1, key: str | None = None) -> list[int]:
        """One submission request under one Idempotency-Key (`key`, else a new one), retried with that key
        while the JobManager is unreachable or still writing it (503): never submitted twice."""
        key = key or uuid.uuid4().hex
        deadline = time.monotonic() + self.submit_retry
        delay = 0.5
        while True:
            try:
                reply = self._client(JOB_MANAGER).request(
                    "POST", "jobs", json={"jdl": jdl_text, "copies": copies}, headers={"Idempotency-Key": key}
                )
                return [int(i) for i in reply["job_ids"]]
            except ServiceUnavailable:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    # -- following ---------------------------------------------------------------------------
    def status(self, job_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """{JobID: {Status, MinorStatus, ApplicationStatus}}."""
        ids = list(job_ids)
        out: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), 1000):
            reply = self._client(JOB_MONITORING).request(
                "POST", "jobs/status", json={"job_ids": ids[start : start + 1000]}
            )
            out.update({int(k): v for k, v in reply.items()})
        return out

    def attributes(self, job_id: int) -> dict[str, Any]:
        return dict(self._client(JOB_MONITORING).request("GET", f"jobs/{job_id}"))

    def parameters(self, job_id: int) -> dict[str, str]:
        return dict(self._client(JOB_MONITORING).request("GET", f"jobs/{job_id}/parameters"))

    def logging(self, job_id: int) -> list[dict[str, str]]:
        """The job's history: Status, MinorStatus, ApplicationStatus, StatusTime, Source."""
        return list(self._client(JOB_MONITORING).request("GET", f"jobs/{job_id}/logging"))

    def search(
        self,
        conditions: dict[str, Any] | None = None,
        columns: Sequence[str] = ("JobID", "JobName", "Status", "MinorStatus", "Site", "LastUpdateTime"),
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        body = {"conditions": conditions or {}, "columns": list(columns), "limit": limit, "offset": offset}
        page = self._client(JOB_MONITORING).request("POST", "search", json=body)
        names = page.get("ParameterNames", list(columns))
        return [dict(zip(names, row, strict=False)) for row in page["Records"]]

    def summary(
        self, group_by: Sequence[str] = ("Status",), conditions: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Job counts grouped by attributes (Status, Site, Owner, ...), over the jobs you may see."""
        body = {"group_by": list(group_by), "conditions": conditions or {}}
        return list(self._client(JOB_MONITORING).request("POST", "summary", json=body))

    def wait(
        self,
        job_ids: Iterable[int],
        *,
        timeout: float = 600,
        interval: float = 1.0,
        progress: Progress = _no_progress,
    ) -> dict[int, dict[str, Any]]:
        """Poll until every job is Done/Failed/Killed/Deleted; returns the last statuses."""
        ids = list(job_ids)
        deadline = time.monotonic() + timeout
        while True:
            statuses = self.status(ids)
            finished = sum(1 for s in statuses.values() if s["Status"] in FINAL_STATES)
            progress(finished, len(ids))
            if finished == len(ids):
                return statuses
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(ids) - finished} of {len(ids)} jobs not finished after {timeout:.0f}s")
            time.sleep(interval)

    # -- actions -----------------------------------------------------------------------------
    def kill(self, job_ids: Iterable[int]) -> list[int]:
        return self._action("kill", job_ids)

    def delete(self, job_ids: Iterable[int]) -> list[int]:
        return self._action("delete", job_ids)

    def reschedule(self, job_ids: Iterable[int]) -> list[int]:
        return self._action("reschedule", job_ids)

    def _action(self, action: str, job_ids: Iterable[int]) -> list[int]:
        reply = self._client(JOB_MANAGER).request("POST", f"jobs/{action}", json={"job_ids": list(job_ids)})
        return [int(i) for i in reply["job_ids"]]

    # -- outputs -----------------------------------------------------------------------------
    def output_locations(self, job_id: int) -> list[str]:
        reply = self._client(SANDBOX_STORE).request("GET", f"jobs/{job_id}/sandboxes", params={"type": "Output"})
        return list(reply["locations"])

    def get_output(self, job_id: int, destination: str | Path = ".") -> list[Path]:
        """Unpack the job's output sandbox into `destination`/<JobID>/; returns the files."""
        locations = self.output_locations(job_id)
        if not locations:
            raise NotFound(f"job {job_id} has no output sandbox yet: wait until it is Done (dirac jobs status)")
        target = Path(destination) / str(job_id)
        target.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        for location in locations:
            with tempfile.TemporaryFile() as tmp:
                self._client(SANDBOX_STORE).download("sandboxes", tmp, params={"location": location})
                tmp.seek(0)
                try:
                    with tarfile.open(fileobj=tmp) as archive:
                        members = [m for m in archive.getmembers() if m.isfile()]
                        extract_data(archive, target, members)
                        files += [target / m.name for m in members]
                except tarfile.TarError as exc:  # a member escaping `target`, a link, a corrupt archive
                    raise BadRequest(
                        f"output sandbox {location} of job {job_id} was not unpacked: {exc}: "
                        "the job wrote an unsafe or broken sandbox; ask its owner or the admins"
                    ) from None
        return files
