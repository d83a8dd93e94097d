"""`dirac-core config show|explain|diff|validate`: inspect layered CFG before it is deployed or served."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click
from diraccfg import CFG

from dirac_core.config.diff import diff_cfgs, shown
from dirac_core.config.explain import explain as explain_path
from dirac_core.config.layers import LayeredConfig, Scope
from dirac_core.config.validate import errors
from dirac_core.config.validate import validate as validate_layers
from dirac_core.errors import NotFound

F = TypeVar("F", bound=Callable[..., Any])


def layers_option(func: F) -> F:
    return click.option(
        "--layers",
        "layer_specs",
        multiple=True,
        envvar="DIRAC_LAYERS",
        help="Layer set: a directory (NN-name.cfg or layers.yaml), a layer-set YAML or a .cfg file; "
        "repeat to stack, later wins (env DIRAC_LAYERS, colon separated).",
    )(func)


def _load(specs: tuple[str, ...]) -> LayeredConfig:
    expanded = [part for spec in specs for part in spec.split(":") if part]
    return LayeredConfig.load(expanded)


@click.group()
def config() -> None:
    """Show, explain, compare and validate the layered DIRAC configuration."""


@config.command()
@layers_option
@click.option("--served", is_flag=True, help="Only the global layers: what Configuration/Server serves.")
@click.argument("path", required=False, default="/")
def show(layer_specs: tuple[str, ...], served: bool, path: str) -> None:
    """Print the merged CFG, a subtree (PATH=/Systems/...) or one option's value."""
    layered = _load(layer_specs)
    scope: Scope | None = "global" if served else None
    merged = layered.config(scope)
    clean = "/" + path.strip("/")
    if clean != "/" and not merged.has(clean):
        raise NotFound(f"{clean} is not set in the merged configuration: list sections with dirac-core config show")
    if clean != "/" and clean.rsplit("/", 1)[-1] in merged.options(clean.rsplit("/", 1)[0] or "/"):
        click.echo(shown(clean, merged.get(clean)))
        return
    node = merged.cfg if clean == "/" else cast(CFG, merged.cfg[clean.strip("/")])
    click.echo(_masked(node.serialize()), nl=False)


def _masked(text: str) -> str:
    lines = []
    for line in text.splitlines(keepends=True):
        name, sep, _ = line.partition("=")
        key = name.rstrip("+").strip()
        if sep and key.lower().endswith("password"):
            line = f"{name}{sep} <hidden>\n"
        lines.append(line)
    return "".join(lines)


@config.command()
@layers_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.argument("path")
def explain(layer_specs: tuple[str, ...], as_json: bool, path: str) -> None:
    """Which layer and file:line set PATH, and which lower layers it overrode."""
    result = explain_path(_load(layer_specs), path)
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo("\n".join(result.lines()))


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.argument("before")
@click.argument("after")
def diff(as_json: bool, before: str, after: str) -> None:
    """Compare two layer sets (e.g. etc/examples/egi.yaml etc/examples/fg.yaml); exit 1 if they differ.

    Each argument is a layer spec, or several joined with commas (shared.cfg,egi.cfg).
    """
    result = diff_cfgs(
        LayeredConfig.load(before.split(",")).merged_cfg(), LayeredConfig.load(after.split(",")).merged_cfg()
    )
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)
        click.echo(f"{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed", err=True)
    sys.exit(0 if result.empty else 1)


@config.command()
@layers_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--host/--served",
    "host_rules",
    default=None,
    help="Apply host-local rules (PasswordFile...) or only those of the served CS; default: host rules "
    "when the set has a local layer.",
)
def validate(layer_specs: tuple[str, ...], as_json: bool, host_rules: bool | None) -> None:
    """Check sections, types and required options; exit 1 when there is an error."""
    issues = validate_layers(_load(layer_specs), host_rules)
    failed = errors(issues)
    if as_json:
        click.echo(json.dumps([issue.as_dict() for issue in issues], indent=2))
    else:
        for issue in issues:
            click.echo(str(issue))
        click.echo(f"{len(failed)} error(s), {len(issues) - len(failed)} warning(s)", err=True)
    sys.exit(1 if failed else 0)
