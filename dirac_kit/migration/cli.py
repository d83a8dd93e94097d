"""`dirac-kit share-config`: write the stage-2 shared layer and the slim instance layers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dirac_core.errors import BadRequest
from dirac_kit.migration.shared_layer import SHAREABLE, factor, load_global, write_layers


@click.command("share-config")
@click.option(
    "--instance",
    "instances",
    multiple=True,
    required=True,
    metavar="NAME=LAYERS",
    help="An instance and its layers (directory, YAML layer set or .cfg); repeat per instance.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Directory for the new layer files.")
@click.option("--report", type=click.Path(path_type=Path), help="Write the JSON report here too.")
@click.option("--share", "prefixes", multiple=True, default=SHAREABLE, show_default=True, help="Shareable sections.")
def share_config(instances: tuple[str, ...], out: Path, report: Path | None, prefixes: tuple[str, ...]) -> None:
    """Factor the options all instances have in common into one shared layer, proven lossless."""
    merged = {}
    for item in instances:
        name, sep, spec = item.partition("=")
        if not sep or not name or not spec:
            raise BadRequest(f"--instance {item!r}: write NAME=LAYERS, e.g. egi=/opt/dirac/etc/layers")
        merged[name] = load_global(spec)
    result = factor(merged, prefixes)
    written = write_layers(result, out)
    summary = {
        **result.report(),
        "files": [str(p) for p in written],
        "differences_between_instances": result.before_between.as_dict(),
    }
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    click.echo(
        f"shared layer: {result.shared_options} options; per instance before -> after: "
        + ", ".join(f"{n} {result.per_instance_before[n]} -> {result.per_instance_after[n]}" for n in merged)
    )
    click.echo("verified: every instance's merged configuration is unchanged")
    for path in written:
        click.echo(f"  wrote {path}")
