"""The pilot's WorkloadGateway over HTTPS: Matcher, JobStateUpdate, SandboxStore (and Accounting).

Credentials: the pilot certificate (a Registry host or user with ``GenericPilot``) buys a pilot token
from ``Framework/Auth`` (``client_credentials`` over mutual TLS); every WMS call then carries that
bearer token. Without a Framework/Auth URL in the cfg the certificate itself is presented on each call.
The token is renewed a minute before it expires, so a pilot may run longer than one token lifetime.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from dirac_core.client.config import ca_bundle, service_url, service_urls
from dirac_core.client.http import ServiceClient
from dirac_core.client.login import AuthClient
from dirac_core.config.cfg import Config
from dirac_core.errors import ConfigError, DiracError
from dirac_core.jdl import JDL
from dirac_core.pilot.accounting import accounting_register
from dirac_core.pilot.executor import Heartbeat
from dirac_core.pilot.gateway import MatchedJob, ResourceDescription
from dirac_core.tarsafe import extract_data

log = logging.getLogger(__name__)

AUTH = "Framework/Auth"
MATCHER = "WorkloadManagement/Matcher"
STATE = "WorkloadManagement/JobStateUpdate"
SANDBOXES = "WorkloadManagement/SandboxStore"
DATASTORE = "Accounting/DataStore"
SOURCE = "JobWrapper"  # DIRAC's source name for what the pilot's job wrapper reports
DEFAULT_CPU_TIME = 86400
WALL_CLOCK_FACTOR = 2  # wall limit = CPUTime x this unless the JDL sets WallTime


def matched_job(match: dict[str, Any], site: str) -> MatchedJob:
    """The Matcher's reply (JobID, JDL, Owner, Group, ...) -> what the pilot runs."""
    jdl = JDL.parse(str(match.get("JDL") or ""))
    cpu_time = jdl.get_int("CPUTime", DEFAULT_CPU_TIME)
    return MatchedJob(
        job_id=int(match["JobID"]),
        executable=jdl.get_str("Executable"),
        arguments=jdl.get_str("Arguments"),
        cpu_time=cpu_time,
        wall_time=jdl.get_int("WallTime", cpu_time * WALL_CLOCK_FACTOR),
        output_sandbox=tuple(jdl.get_list("OutputSandbox")),
        owner=str(match.get("Owner", "")),
        owner_group=str(match.get("Group", "")),
        site=site,
        extra={
            "JobGroup": jdl.get_str("JobGroup"),
            "JobType": jdl.get_str("JobType", "User"),
            "PilotID": match.get("PilotID"),
        },
    )


class HttpsGateway:
    """WorkloadGateway over the services' REST APIs (RPC for Accounting, as DIRAC's DataStoreClient)."""

    def __init__(
        self,
        config: Config,
        *,
        cert: tuple[str, str] | None = None,
        token: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.config = config
        self.cert = cert
        self.ca_bundle = ca_bundle(config)
        self.timeout = timeout
        self._token = token
        self._token_expires = float("inf") if token else 0.0
        self._clients: dict[str, ServiceClient] = {}

    # -- plumbing ----------------------------------------------------------------------------
    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self) -> HttpsGateway:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _auth_url(self) -> str | None:
        try:
            return service_url(self.config, AUTH)
        except ConfigError:
            return None

    def _refresh_token(self) -> None:
        auth_url = self._auth_url()
        if auth_url is None or self.cert is None:
            return  # present the certificate on every call instead
        with AuthClient(auth_url, ca_bundle=self.ca_bundle, cert=self.cert, timeout=self.timeout) as auth:
            body = auth.client_credentials()
        self._token = str(body["access_token"])
        self._token_expires = time.time() + int(body.get("expires_in", 3600)) - 60
        self.close()  # clients carry the old token in their headers
        log.info("pilot token for %s (group %s)", body.get("preferred_username"), body.get("dirac_group"))

    def _client(self, component: str) -> ServiceClient:
        if self.cert is not None and time.time() >= self._token_expires:
            self._refresh_token()
        if component not in self._clients:
            use_cert = self._token is None
            self._clients[component] = ServiceClient(
                service_url(self.config, component),
                token=self._token,
                cert=self.cert if use_cert else None,
                ca_bundle=self.ca_bundle,
                timeout=self.timeout,
            )
        return self._clients[component]

    # -- WorkloadGateway ---------------------------------------------------------------------
    def request_job(self, resource: ResourceDescription) -> MatchedJob | None:
        reply = self._client(MATCHER).request("POST", "request", json=resource.as_dirac_dict())
        if not reply.get("matched"):
            return None
        return matched_job(reply["job"], resource.site)

    def download_input_sandbox(self, job_id: int, destination: Path) -> None:
        client = self._client(SANDBOXES)
        locations = client.request("GET", f"jobs/{job_id}/sandboxes", params={"type": "Input"})["locations"]
        for location in locations:
            with tempfile.TemporaryFile() as tmp:
                client.download("sandboxes", tmp, params={"location": location})
                tmp.seek(0)
                with tarfile.open(fileobj=tmp) as archive:
                    # tarsafe refuses absolute paths, .., links and devices: a sandbox cannot escape the job dir.
                    extract_data(archive, destination)

    def set_status(self, job_id: int, status: str, minor_status: str, application_status: str = "") -> None:
        body = {"status": status, "minor_status": minor_status, "application_status": application_status}
        self._client(STATE).request("PUT", f"jobs/{job_id}/status", json={**body, "source": SOURCE})

    def heartbeat(self, job_id: int, beat: Heartbeat) -> list[str]:
        dynamic = {"CPUConsumed": round(beat.cpu_seconds, 2), "WallClockTime": round(beat.wall_seconds, 2)}
        if beat.rss_kib:
            dynamic["RSS"] = beat.rss_kib
        reply = self._client(STATE).request("POST", f"jobs/{job_id}/heartbeat", json={"dynamic_data": dynamic})
        return list(reply.get("commands", {}))

    def set_parameters(self, job_id: int, parameters: dict[str, str]) -> None:
        self._client(STATE).request("PUT", f"jobs/{job_id}/parameters", json={"parameters": parameters})

    def upload_output_sandbox(self, job_id: int, files: list[Path]) -> None:
        if not files:
            return
        with tempfile.TemporaryFile() as tmp:
            digest, size = _pack(files, tmp)
            tmp.seek(0)
            self._client(SANDBOXES).request(
                "POST",
                "sandboxes",
                params={"checksum": digest, "job_id": job_id, "type": "Output"},
                content=tmp.read(),
            )
        log.info("job %s: output sandbox of %d file(s), %d bytes uploaded", job_id, len(files), size)

    def commit_job_accounting(self, job: MatchedJob, record: dict[str, Any]) -> None:
        """DataStore.commitRegisters when the CS names an Accounting/DataStore; else nothing."""
        try:
            url = service_urls(self.config, DATASTORE)[0]
        except ConfigError:
            log.debug("no %s URL in the CS: job %s accounting record skipped", DATASTORE, job.job_id)
            return
        try:
            with ServiceClient(
                url,
                token=self._token,
                cert=None if self._token else self.cert,
                ca_bundle=self.ca_bundle,
                timeout=self.timeout,
            ) as client:
                client.rpc("commitRegisters", [accounting_register(job, record)])
        except DiracError as exc:
            log.warning("accounting record for job %s not committed to %s: %s", job.job_id, url, exc)


def _pack(files: list[Path], out: IO[bytes]) -> tuple[str, int]:
    """tar.gz of `files` (flat, by name) into `out`; returns its sha256 and size."""
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for path in files:
            archive.add(path, arcname=path.name, recursive=False)
    out.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := out.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
