"""`dirac-core pilot`: run jobs of the WMS on this machine until none is left (or --max-jobs)."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import click

from dirac_core.cli.common import cfg_option, load_config
from dirac_core.errors import ConfigError


@click.command("pilot")
@click.option("--site", required=True, help="DIRAC site name this pilot runs at, e.g. EGI.IN2P3.fr.")
@cfg_option
@click.option("--cert", "cert_file", default=None, help="Pilot certificate (default /DIRAC/Security/CertFile).")
@click.option("--key", "key_file", default=None, help="Its key (default /DIRAC/Security/KeyFile).")
@click.option("--max-jobs", type=int, default=0, show_default=True, help="Stop after N jobs (0: until none match).")
@click.option("--platform", default="Linux-x86_64", show_default=True, help="Platform offered to the Matcher.")
@click.option("--tag", "tags", multiple=True, help="Tag offered (repeatable), e.g. GPU, 4Processors.")
@click.option("--cpu-time", type=int, default=86400, show_default=True, help="CPU seconds this pilot can give.")
@click.option("--heartbeat", type=float, default=30.0, show_default=True, help="Seconds between heartbeats.")
@click.option(
    "--wait",
    "wait_seconds",
    type=float,
    default=0.0,
    show_default=True,
    help="Keep asking this long for a job when none matches (0: stop at the first empty match).",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where job directories are made (default: a new temporary directory).",
)
@click.option("--keep-work-dirs", is_flag=True, help="Keep each job's directory after it ends.")
@click.option("--pilot-reference", default=None, help="Pilot reference recorded in PilotAgentsDB.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info", show_default=True)
def pilot_command(
    site: str,
    cfg_files: tuple[Path, ...],
    cert_file: str | None,
    key_file: str | None,
    max_jobs: int,
    platform: str,
    tags: tuple[str, ...],
    cpu_time: int,
    heartbeat: float,
    wait_seconds: float,
    work_dir: Path | None,
    keep_work_dirs: bool,
    pilot_reference: str | None,
    log_level: str,
) -> None:
    """Ask the Matcher for jobs, run each one, report status, heartbeats and output sandboxes."""
    from dirac_core.pilot.gateway import ResourceDescription
    from dirac_core.pilot.https_gateway import HttpsGateway
    from dirac_core.pilot.loop import PilotSettings, run_pilot

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s pilot %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the job lines
    config = load_config(cfg_files)
    cert = cert_file or config.get("/DIRAC/Security/CertFile", None)
    key = key_file or config.get("/DIRAC/Security/KeyFile", None)
    if not cert or not key:
        raise ConfigError("no pilot certificate: pass --cert/--key or set /DIRAC/Security/CertFile and KeyFile")
    reference = pilot_reference or f"pilot://{socket.gethostname()}/{os.getpid()}-{uuid.uuid4().hex[:8]}"
    resource = ResourceDescription(site, platform, tags, cpu_time, reference)
    poll = min(2.0, wait_seconds) if wait_seconds > 0 else 2.0
    with tempfile.TemporaryDirectory(prefix="dirac-pilot-") as default_dir:
        settings = PilotSettings(
            resource=resource,
            work_dir=work_dir or Path(default_dir),
            heartbeat_seconds=heartbeat,
            max_jobs=max_jobs,
            idle_polls=max(1, int(wait_seconds / poll) + 1) if wait_seconds > 0 else 1,
            idle_sleep_seconds=poll,
            keep_work_dirs=keep_work_dirs,
        )
        with HttpsGateway(config, cert=(cert, key)) as gateway:
            results = run_pilot(gateway, settings)
    counts = Counter(outcome.reason for _job_id, outcome in results)
    summary = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items())) or "no job matched"
    click.echo(f"pilot {reference} at {site}: {len(results)} job(s): {summary}")
