"""`dirac fc ...`: the File Catalog from the command line (after `dirac login`).

    dirac fc mkdir /vo/user/a/alice/run1
    dirac fc add /vo/user/a/alice/run1/f.root --size 1024 --se SE-A --pfn root://se/f.root
    dirac fc add --from-file files.txt          # lines: LFN SIZE SE [PFN [CHECKSUM [GUID]]]
    dirac fc ls -l /vo/user/a/alice/run1
    dirac fc replicas /vo/user/a/alice/run1/f.root
    dirac fc meta set /vo/user/a/alice/run1 energy=12 type=raw
    dirac fc find "energy>10 AND type=raw" --path /vo
    dirac fc du /vo/user/a/alice
    dirac fc --catalog EiscatFileCatalog ls /eiscat   # another catalog of /Resources/FileCatalogs

Items that fail are printed on stderr with their reason; the exit status is then 1.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from dirac_core.catalog.permissions import mode_string
from dirac_core.client.file_catalog import FileCatalogClient
from dirac_core.errors import BadRequest

console = Console()
errors = Console(stderr=True)


def _client(ctx: click.Context) -> FileCatalogClient:
    obj = ctx.obj or {}
    return FileCatalogClient.from_config(obj.get("catalog"), obj.get("cfg"))


def _report_failed(reply: dict[str, dict[str, Any]]) -> None:
    for lfn, reason in sorted(reply.get("Failed", {}).items()):
        errors.print(f"[red]failed[/] {lfn}: {reason}", highlight=False)
    if reply.get("Failed"):
        sys.exit(1)


def _lines(paths: Iterable[str], from_file: Path | None) -> list[str]:
    items = list(paths)
    if from_file is not None:
        text = sys.stdin.read() if str(from_file) == "-" else from_file.read_text()
        items += [line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not items:
        raise click.UsageError("give at least one path (or --from-file)")
    return items


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value or "")[:16]


@click.group("fc")
@click.option("--catalog", default=None, help="Catalog name from /Resources/FileCatalogs (default: the master).")
@click.option("--cfg", default=None, help="Client dirac.cfg (default $DIRAC_CFG or ~/.dirac/dirac.cfg).")
@click.pass_context
def fc(ctx: click.Context, catalog: str | None, cfg: str | None) -> None:
    """Use the DIRAC File Catalog: directories, files, replicas, metadata."""
    ctx.obj = {"catalog": catalog, "cfg": cfg}


@fc.command("ls")
@click.argument("paths", nargs=-1, required=True)
@click.option("-l", "long", is_flag=True, help="Sizes, owners, modes and dates.")
@click.pass_context
def ls_command(ctx: click.Context, paths: tuple[str, ...], long: bool) -> None:
    """List directories."""
    with _client(ctx) as client:
        reply = client.list_directories(paths)
    for path in paths:
        listing = reply["Successful"].get(path)
        if listing is None:
            continue
        entries = [(name, meta, True) for name, meta in listing["SubDirs"].items()]
        entries += [(name, item["MetaData"], False) for name, item in listing["Files"].items()]
        if not long:
            for name, _meta, is_dir in sorted(entries):
                console.print(name.rsplit("/", 1)[-1] + ("/" if is_dir else ""), highlight=False)
            continue
        table = Table("mode", "owner", "group", "size", "modified", "name", title=path, title_justify="left")
        for name, meta, is_dir in sorted(entries):
            table.add_row(
                mode_string(int(meta["Mode"]), is_dir),
                meta["Owner"],
                meta["OwnerGroup"],
                "" if is_dir else str(meta["Size"]),
                _when(meta.get("ModificationDate")),
                name.rsplit("/", 1)[-1] + ("/" if is_dir else ""),
            )
        console.print(table)
    _report_failed(reply)


@fc.command("mkdir")
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def mkdir_command(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Create directories (with their parents)."""
    with _client(ctx) as client:
        _report_failed(client.create_directories(paths))


def _parse_file_line(line: str) -> tuple[str, dict[str, Any]]:
    parts = line.split()
    if len(parts) < 3:
        raise BadRequest(f"line {line!r}: write LFN SIZE SE [PFN [CHECKSUM [GUID]]]")
    try:
        size = int(parts[1])
    except ValueError:
        raise BadRequest(f"line {line!r}: SIZE {parts[1]!r} is not an integer") from None
    props: dict[str, Any] = {"Size": size, "SE": parts[2]}
    for key, value in zip(("PFN", "Checksum", "GUID"), parts[3:], strict=False):
        props[key] = value
    return parts[0], props


@fc.command("add")
@click.argument("lfn", required=False)
@click.option("--size", type=int, help="Size in bytes.")
@click.option("--se", help="Storage element of the first replica.")
@click.option("--pfn", default="", help="Physical file name (URL) of that replica.")
@click.option("--checksum", default="", help="Adler32 checksum.")
@click.option("--guid", default="", help="GUID.")
@click.option(
    "--from-file", type=click.Path(path_type=Path), help="Bulk: lines LFN SIZE SE [PFN [CHECKSUM [GUID]]] ('-': stdin)."
)
@click.pass_context
def add_command(
    ctx: click.Context,
    lfn: str | None,
    size: int | None,
    se: str | None,
    pfn: str,
    checksum: str,
    guid: str,
    from_file: Path | None,
) -> None:
    """Register files (one, or many with --from-file) with their first replica."""
    files: dict[str, dict[str, Any]] = {}
    if lfn:
        if size is None:
            raise click.UsageError("--size is required with an LFN")
        files[lfn] = {"Size": size, "SE": se or "", "PFN": pfn, "Checksum": checksum, "GUID": guid}
    if from_file is not None:
        text = sys.stdin.read() if str(from_file) == "-" else from_file.read_text()
        for line in text.splitlines():
            if line.strip() and not line.startswith("#"):
                name, props = _parse_file_line(line)
                files[name] = props
    if not files:
        raise click.UsageError("give an LFN with --size, or --from-file")
    with _client(ctx) as client:
        reply = client.add_files(files)
    console.print(f"added {len(reply['Successful'])} file(s)")
    _report_failed(reply)


@fc.command("rm")
@click.argument("lfns", nargs=-1)
@click.option("--from-file", type=click.Path(path_type=Path), help="LFNs, one per line ('-': stdin).")
@click.pass_context
def rm_command(ctx: click.Context, lfns: tuple[str, ...], from_file: Path | None) -> None:
    """Remove files (and all their replicas) from the catalog."""
    with _client(ctx) as client:
        reply = client.remove_files(_lines(lfns, from_file))
    console.print(f"removed {len(reply['Successful'])} file(s)")
    _report_failed(reply)


@fc.command("replicas")
@click.argument("lfns", nargs=-1)
@click.option("--from-file", type=click.Path(path_type=Path), help="LFNs, one per line ('-': stdin).")
@click.pass_context
def replicas_command(ctx: click.Context, lfns: tuple[str, ...], from_file: Path | None) -> None:
    """Show the replicas (SE and PFN) of files."""
    with _client(ctx) as client:
        reply = client.get_replicas(_lines(lfns, from_file))
    table = Table("LFN", "SE", "PFN")
    for lfn, replicas in sorted(reply["Successful"].items()):
        if not replicas:
            table.add_row(lfn, "-", "")
        for se, pfn in sorted(replicas.items()):
            table.add_row(lfn, se, pfn)
    console.print(table)
    _report_failed(reply)


@fc.command("add-replica")
@click.argument("lfn")
@click.argument("se")
@click.option("--pfn", default="", help="Physical file name (URL) on that SE.")
@click.pass_context
def add_replica_command(ctx: click.Context, lfn: str, se: str, pfn: str) -> None:
    """Register one more replica of a file."""
    with _client(ctx) as client:
        _report_failed(client.add_replicas({lfn: {"SE": se, "PFN": pfn}}))


@fc.group("meta")
def meta() -> None:
    """Metadata fields and values."""


def _typed(raw: str) -> Any:
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            continue
    return raw


@meta.command("set")
@click.argument("path")
@click.argument("values", nargs=-1, required=True)
@click.pass_context
def meta_set(ctx: click.Context, path: str, values: tuple[str, ...]) -> None:
    """Set NAME=VALUE metadata on a directory (inherited below it) or a file."""
    parsed: dict[str, Any] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.UsageError(f"{item!r}: write NAME=VALUE")
        parsed[name] = _typed(value)
    with _client(ctx) as client:
        client.set_metadata(path, parsed)


@meta.command("show")
@click.argument("path")
@click.pass_context
def meta_show(ctx: click.Context, path: str) -> None:
    """Metadata of a directory or file (with what it inherits)."""
    with _client(ctx) as client:
        values = client.get_metadata(path)
    table = Table("field", "value", title=path, title_justify="left")
    for name, value in sorted(values.items()):
        table.add_row(name, str(value))
    console.print(table)


@meta.command("fields")
@click.pass_context
def meta_fields(ctx: click.Context) -> None:
    """List the metadata fields and their types."""
    with _client(ctx) as client:
        fields = client.metadata_fields()
    table = Table("field", "type", "on")
    for kind, label in (("DirectoryMetaFields", "directories"), ("FileMetaFields", "files")):
        for name, meta_type in sorted(fields.get(kind, {}).items()):
            table.add_row(name, meta_type, label)
    console.print(table)


@meta.command("add-field")
@click.argument("name")
@click.argument("meta_type", metavar="TYPE")
@click.option("--file", "on_files", is_flag=True, help="A file field (default: directory field, inherited).")
@click.pass_context
def meta_add_field(ctx: click.Context, name: str, meta_type: str, on_files: bool) -> None:
    """Add a metadata field: TYPE is INT, FLOAT, VARCHAR(n) or DATETIME (administrators)."""
    with _client(ctx) as client:
        console.print(client.add_metadata_field(name, meta_type, "-f" if on_files else "-d"))


@fc.command("find")
@click.argument("query")
@click.option("--path", default="/", show_default=True, help="Search below this directory.")
@click.pass_context
def find_command(ctx: click.Context, query: str, path: str) -> None:
    """Find files by metadata, e.g. "energy>10 AND type=raw"."""
    with _client(ctx) as client:
        for lfn in client.find(query, path):
            console.print(lfn, highlight=False, soft_wrap=True)


@fc.command("du")
@click.argument("paths", nargs=-1, required=True)
@click.pass_context
def du_command(ctx: click.Context, paths: tuple[str, ...]) -> None:
    """Files and bytes below directories, logical and per SE."""
    with _client(ctx) as client:
        reply = client.directory_size(paths)
    table = Table("directory", "files", "size", "directories", "per SE (files/bytes)")
    for path, info in sorted(reply["Successful"].items()):
        physical = {k: v for k, v in info["PhysicalSize"].items() if isinstance(v, dict)}
        per_se = ", ".join(f"{se}: {v['Files']}/{v['Size']}" for se, v in sorted(physical.items()))
        table.add_row(
            path, str(info["LogicalFiles"]), str(info["LogicalSize"]), str(info["LogicalDirectories"]), per_se
        )
    console.print(table)
    _report_failed(reply)


@fc.command("chmod")
@click.argument("mode")
@click.argument("paths", nargs=-1, required=True)
@click.option("-R", "recursive", is_flag=True, help="The whole subtree (entries you own).")
@click.pass_context
def chmod_command(ctx: click.Context, mode: str, paths: tuple[str, ...], recursive: bool) -> None:
    """Change the mode (octal, e.g. 755) of directories or files."""
    with _client(ctx) as client:
        _report_failed(client.change_mode(dict.fromkeys(paths, mode), recursive))


@fc.command("chown")
@click.argument("owner", metavar="OWNER[:GROUP]")
@click.argument("paths", nargs=-1, required=True)
@click.option("-R", "recursive", is_flag=True, help="The whole subtree.")
@click.pass_context
def chown_command(ctx: click.Context, owner: str, paths: tuple[str, ...], recursive: bool) -> None:
    """Change owner (and group) of directories or files (FileCatalogManagement)."""
    user, _, group = owner.partition(":")
    spec = {k: v for k, v in (("Owner", user), ("Group", group)) if v}
    with _client(ctx) as client:
        _report_failed(client.change_owner(dict.fromkeys(paths, spec), recursive))
