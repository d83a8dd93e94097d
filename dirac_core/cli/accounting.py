"""`dirac accounting report`: accounting totals as a table, JSON or CSV, and a PNG plot."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click


def _conditions(pairs: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: write KEY=VALUE, e.g. Site=LCG.CERN.ch", param_hint="--condition")
        out.setdefault(key, []).append(value)
    return out


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.2f}"
    return str(value)


@click.group("accounting")
def accounting_group() -> None:
    """Accounting reports and plots (Job, DataOperation)."""


@accounting_group.command("report")
@click.argument("type_name", metavar="TYPE")
@click.option("--group-by", default="Site", show_default=True, help="Key field or alias: user, group, site, status.")
@click.option("--start", default=None, help="ISO time, UTC (default: 24 hours before --end).")
@click.option("--end", default=None, help="ISO time, UTC (default: now).")
@click.option("--condition", "conditions", multiple=True, help="KEY=VALUE filter (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a PNG plot (stacked time series) to this file.",
)
@click.option("--value", default="entries", show_default=True, help="Plotted value: entries or a value field.")
@click.option("--cfg", "cfg_file", default=None, help="Client dirac.cfg (default $DIRAC_CFG or ~/.dirac/dirac.cfg).")
def report_command(
    type_name: str,
    group_by: str,
    start: str | None,
    end: str | None,
    conditions: tuple[str, ...],
    fmt: str,
    plot_file: Path | None,
    value: str,
    cfg_file: str | None,
) -> None:
    """Totals of TYPE (Job, DataOperation) grouped by one key field over a time range."""
    from dirac_core.client.accounting import REPORT_GENERATOR, AccountingClient
    from dirac_core.client.config import service_client

    end_value = end or datetime.now(UTC).replace(microsecond=0).isoformat()
    start_value = start or (datetime.fromisoformat(end_value.replace("Z", "+00:00")) - timedelta(days=1)).isoformat()
    with AccountingClient(report_generator=service_client(REPORT_GENERATOR, cfg_file=cfg_file)) as client:
        cond = _conditions(conditions)
        if fmt == "csv":
            click.echo(client.summary_csv(type_name, group_by, start_value, end_value, cond), nl=False)
        else:
            report = client.summary(type_name, group_by, start_value, end_value, cond)
            if fmt == "json":
                click.echo(json.dumps(report, indent=2))
            else:
                _print_table(report)
        if plot_file is not None:
            plot_file.write_bytes(client.plot(type_name, group_by, start_value, end_value, cond, value))
            click.echo(f"plot written to {plot_file}", err=True)


def _print_table(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    key = report["group_by"]
    shown = [f for f in report["fields"] if f == "entries" or any(row[f] for row in report["rows"])]
    start = datetime.fromtimestamp(report["start"], UTC).isoformat()
    end = datetime.fromtimestamp(report["end"], UTC).isoformat()
    table = Table(title=f"{report['type']} by {key}, {start} - {end}")
    table.add_column(key)
    for field in shown:
        table.add_column(field, justify="right")
    for row in report["rows"]:
        table.add_row(str(row[key]), *(_number(row[f]) for f in shown))
    Console().print(table)
