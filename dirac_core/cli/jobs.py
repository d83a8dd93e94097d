"""`dirac jobs ...`: submit, follow, kill, reschedule jobs and fetch their outputs (rich tables)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dirac_core.client.jobs import JobsClient

F = TypeVar("F", bound=Callable[..., Any])
console = Console()
STATUS_STYLE = {"Done": "green", "Failed": "red", "Killed": "magenta", "Running": "cyan", "Waiting": "yellow"}


def _cfg(func: F) -> F:
    return click.option(
        "--cfg", "cfg_file", default=None, help="Client dirac.cfg (default $DIRAC_CFG or ~/.dirac/dirac.cfg)."
    )(func)


def parse_job_ids(values: Sequence[str]) -> list[int]:
    """``12 13 20-25 30,31`` -> [12, 13, 20, ..., 25, 30, 31]."""
    ids: list[int] = []
    for value in values:
        for part in value.replace(",", " ").split():
            first, sep, last = part.partition("-")
            if not first.isdigit() or (sep and not last.isdigit()):
                raise click.BadParameter(f"{part!r}: give JobIDs as numbers or ranges like 20-25")
            ids.extend(range(int(first), int(last) + 1) if sep else [int(first)])
    return list(dict.fromkeys(ids))


def compact(ids: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    runs: list[list[int]] = []
    for job_id in sorted(ids):
        if runs and runs[-1][1] == job_id - 1:
            runs[-1][1] = job_id
        else:
            runs.append([job_id, job_id])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _styled(status: str) -> str:
    style = STATUS_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


@contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[int, int], None]]:
    """A progress bar for bulk work (only when there is more than a handful to do)."""
    if total <= 5:
        yield lambda _done, _total: None
        return
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda done, all_: bar.update(task, completed=done, total=all_)


@click.group("jobs")
def jobs() -> None:
    """Submit and follow jobs of the Workload Management System."""


@jobs.command("submit")
@click.argument("jdl_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--bulk", type=int, default=1, show_default=True, help="Submit N copies of the job.")
@click.option("--ids-file", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JobIDs here.")
@_cfg
def submit(jdl_file: Path, bulk: int, ids_file: Path | None, cfg_file: str | None) -> None:
    """Submit JDL_FILE (local InputSandbox files are uploaded first)."""
    with JobsClient(cfg_file) as client, _progress("submitting", bulk) as progress:
        ids = client.submit(jdl_file, bulk, progress=progress)
    if ids_file:
        ids_file.write_text("".join(f"{i}\n" for i in ids))
    console.print(f"submitted {len(ids)} job(s): {compact(ids)}")


@jobs.command("status")
@click.argument("job_ids", nargs=-1)
@_cfg
def status(job_ids: tuple[str, ...], cfg_file: str | None) -> None:
    """Status of JOB_IDS (numbers or ranges); without ids, your 20 most recent jobs."""
    with JobsClient(cfg_file) as client:
        if job_ids:
            found = client.status(parse_job_ids(job_ids))
            rows = [{"JobID": i, **found[i]} for i in sorted(found)]
            columns = ["JobID", "Status", "MinorStatus", "ApplicationStatus"]
        else:
            columns = ["JobID", "JobName", "Status", "MinorStatus", "Site", "LastUpdateTime"]
            rows = client.search(columns=columns, limit=20)
    table = Table(title=f"{len(rows)} job(s)")
    for column in columns:
        table.add_column(column, justify="right" if column == "JobID" else "left")
    for row in rows:
        table.add_row(*(_styled(str(row[c])) if c == "Status" else str(row.get(c) or "") for c in columns))
    console.print(table)


@jobs.command("logging")
@click.argument("job_id", type=int)
@_cfg
def logging_command(job_id: int, cfg_file: str | None) -> None:
    """The history of JOB_ID: every status change with its time and source."""
    with JobsClient(cfg_file) as client:
        records = client.logging(job_id)
    table = Table(title=f"job {job_id}")
    columns = ["Status", "MinorStatus", "ApplicationStatus", "StatusTime", "Source"]
    for column in columns:
        table.add_column(column)
    for record in records:
        table.add_row(*(_styled(str(record[c])) if c == "Status" else str(record.get(c, "")) for c in columns))
    console.print(table)


def _action(name: str, verb: str) -> click.Command:
    @click.argument("job_ids", nargs=-1, required=True)
    @_cfg
    def command(job_ids: tuple[str, ...], cfg_file: str | None) -> None:
        with JobsClient(cfg_file) as client:
            done = getattr(client, name)(parse_job_ids(job_ids))
        console.print(f"{verb} {len(done)} job(s): {compact(done)}")

    command.__doc__ = f"{name.capitalize()} JOB_IDS (numbers or ranges like 20-25)."
    return jobs.command(name)(command)


_action("kill", "killed")
_action("reschedule", "rescheduled")
_action("delete", "deleted")


@jobs.command("get-output")
@click.argument("job_ids", nargs=-1, required=True)
@click.option(
    "--dir",
    "destination",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Outputs go to DIR/<JobID>/.",
)
@_cfg
def get_output(job_ids: tuple[str, ...], destination: Path, cfg_file: str | None) -> None:
    """Download and unpack the output sandbox of JOB_IDS."""
    ids = parse_job_ids(job_ids)
    fetched: dict[int, list[Path]] = {}
    with JobsClient(cfg_file) as client, _progress("downloading", len(ids)) as progress:
        for index, job_id in enumerate(ids, 1):
            fetched[job_id] = client.get_output(job_id, destination)
            progress(index, len(ids))
    if len(ids) == 1:
        for path in fetched[ids[0]]:
            console.print(str(path))
    else:
        files = sum(len(paths) for paths in fetched.values())
        console.print(f"{files} file(s) of {len(ids)} job(s) in {destination}/<JobID>/")


@jobs.command("wait")
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--timeout", type=float, default=600, show_default=True, help="Give up after this many seconds.")
@_cfg
def wait(job_ids: tuple[str, ...], timeout: float, cfg_file: str | None) -> None:
    """Wait until JOB_IDS are Done, Failed or Killed."""
    ids = parse_job_ids(job_ids)
    with JobsClient(cfg_file) as client, _progress("finished", len(ids)) as progress:
        final = client.wait(ids, timeout=timeout, progress=progress)
    counts: dict[str, int] = {}
    for entry in final.values():
        counts[entry["Status"]] = counts.get(entry["Status"], 0) + 1
    console.print(", ".join(f"{n} {_styled(s)}" for s, n in sorted(counts.items())))


@jobs.command("summary")
@click.option(
    "--by",
    "group_by",
    multiple=True,
    default=("Status",),
    show_default=True,
    help="Group by this attribute (repeatable): Status, Site, Owner, MinorStatus, JobGroup...",
)
@_cfg
def summary(group_by: tuple[str, ...], cfg_file: str | None) -> None:
    """How many of your jobs are in each status (or site, owner...)."""
    with JobsClient(cfg_file) as client:
        rows = client.summary(group_by)
    table = Table(title="jobs by " + ", ".join(group_by))
    for column in [*group_by, "Count"]:
        table.add_column(column, justify="right" if column == "Count" else "left")
    for row in rows:
        table.add_row(*(_styled(str(row[c])) if c == "Status" else str(row[c]) for c in group_by), str(row["Count"]))
    table.add_section()
    table.add_row(*([""] * (len(group_by) - 1)), "total", str(sum(int(r["Count"]) for r in rows)))
    console.print(table)
