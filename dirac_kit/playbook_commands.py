"""`dirac-kit -i INVENTORY deploy|prechecks|verify|start|stop|migrate-stage1|migrate-stage2|rollback`."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from dirac_kit import confirm, site_state
from dirac_kit.lab.paths import LabPaths
from dirac_kit.playbook import ACTIONS, CONFIRM_FLAG, PlaybookRun, build_command

HELP = {
    "deploy": "Deploy or upgrade the instances of the inventory (playbooks/site.yml).",
    "prechecks": "Check inventory, DNS, ports, clock, DB, certificates, vault; changes nothing.",
    "verify": "Per instance: submit a job, run a pilot, see it Done, register a file, read the CS.",
    "start": "Start every placed component.",
    "stop": "Stop every placed component (destructive: needs the confirmation flag).",
    "migrate-stage1": "Migration stage 1 (destructive: needs the confirmation flag).",
    "migrate-stage2": "Migration stage 2 (destructive: needs the confirmation flag).",
    "rollback": "Roll back to the previous release/site (destructive: needs the confirmation flag).",
}


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _options(func: Callable[..., Any]) -> Callable[..., Any]:
    options: list[Decorator] = [
        click.option(
            "-i", "--inventory", "inventory_opt", default=None, help="inventory (or give it before the action)"
        ),
        click.option("--check", is_flag=True, help="ansible --check: report what would change"),
        click.option("--diff", is_flag=True, help="ansible --diff: show file and template changes"),
        click.option("-l", "--limit", default=None, help="only these hosts/groups (ansible --limit)"),
        click.option("-t", "--tags", default=None, help="only tasks with these tags"),
        click.option("--skip-tags", default=None, help="skip tasks with these tags"),
        click.option("--vault-id", "vault_ids", multiple=True, help="ansible --vault-id (repeatable)"),
        click.option("--vault-password-file", default=None, help="ansible --vault-password-file"),
        click.option("-e", "--extra-vars", "extra_vars", multiple=True, help="ansible --extra-vars (repeatable)"),
        click.option("-v", "--verbose", "verbosity", count=True, help="ansible verbosity (-v … -vvvv)"),
        click.option(CONFIRM_FLAG, "confirmed", is_flag=True, help="confirm a destructive action"),
        click.option(
            site_state.OVERRIDE_OPTION,
            "override_site_state",
            multiple=True,
            metavar="STATE",
            help="act on a site the migration left decommissioned, frozen or mid-migration (name that state)",
        ),
        click.pass_context,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _make(action: str) -> click.Command:
    @click.command(action, help=HELP[action])
    @_options
    def command(ctx: click.Context, inventory_opt: str | None, **kwargs: Any) -> None:
        inventory = inventory_opt or ctx.find_root().params.get("inventory")
        if not inventory:
            raise click.UsageError(f"no inventory: dirac-kit -i inventories/<site> {action}")
        run = PlaybookRun(
            action=action, inventory=Path(inventory), vault_ids=list(kwargs.pop("vault_ids")),
            extra_vars=list(kwargs.pop("extra_vars")), override_site_state=list(kwargs.pop("override_site_state")),
            **kwargs,
        )  # fmt: skip
        # Before anything runs: the site's migration state, then the confirmation of a destructive action.
        site_state.check_action(action, run.inventory, run.limit, run.override_site_state, run.extra_vars)
        destructive = ACTIONS.get(action, ("", False))[1]
        if destructive and not run.check:
            confirm.require(action, "it stops services or moves data", run.confirmed, confirm.terminal_ask())
            run.confirmed = True
        argv, env = build_command(run, LabPaths.default().root)
        click.echo("+ " + " ".join(argv), err=True)
        raise SystemExit(subprocess.run(argv, env=env).returncode)

    return command


def register(group: click.Group) -> None:
    for action in ACTIONS:
        group.add_command(_make(action))
