"""Sandbox extraction checks every member itself (dirac_core/tarsafe.py) and trusts no tarfile filter:
hand-made hostile archives are refused whole, before anything is written, on any Python 3.11."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dirac_core.errors import BadRequest
from dirac_core.tarsafe import extract_data

Entry = tuple[str, str, bytes | str]  # name, kind, data or link target


def _archive(*entries: Entry, pax: dict[str, str] | None = None) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size, info.mode = len(data), 0o6777
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "chardev": tarfile.CHRTYPE,
                "blockdev": tarfile.BLKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.linkname = str(payload)
            if pax:
                info.pax_headers = dict(pax)
            tar.addfile(info)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "job"


def refused(archive: tarfile.TarFile, dest: Path) -> None:
    with pytest.raises(BadRequest, match="rebuild the sandbox"):
        extract_data(archive, dest)
    outside = sorted(p.name for p in dest.parent.iterdir() if p != dest)
    assert outside == [], f"written outside the destination: {outside}"


def test_extracts_files_and_directories_without_setuid_or_group_write(dest: Path) -> None:
    extract_data(_archive(("bin", "dir", ""), ("bin/run.sh", "file", b"echo hi\n"), ("./top.txt", "file", b"t")), dest)
    run = dest / "bin" / "run.sh"
    assert run.read_bytes() == b"echo hi\n"
    assert (dest / "top.txt").read_bytes() == b"t"
    assert oct(run.stat().st_mode & 0o7777) == oct(0o755)


@pytest.mark.parametrize(
    "entries",
    [
        pytest.param([("/abs-sandbox-test", "file", b"x")], id="absolute"),
        pytest.param([("../escape", "file", b"x")], id="dotdot"),
        pytest.param([("a/../../escape", "file", b"x")], id="dotdot-inside"),
        pytest.param([("link", "symlink", "/etc/passwd")], id="symlink-absolute"),
        pytest.param([("link", "symlink", "../escape")], id="symlink-up"),
        pytest.param([("ok.txt", "file", b"x"), ("link", "symlink", "ok.txt")], id="symlink-even-inside"),
        pytest.param([("ok.txt", "file", b"x"), ("hard", "hardlink", "ok.txt")], id="hardlink-inside"),
        pytest.param([("hard", "hardlink", "/etc/passwd")], id="hardlink-out"),
        pytest.param([("tty", "chardev", "")], id="char-device"),
        pytest.param([("disk", "blockdev", "")], id="block-device"),
        pytest.param([("pipe", "fifo", "")], id="fifo"),
        pytest.param([("x" * 300, "file", b"x")], id="component-over-NAME_MAX"),
        pytest.param([("/".join(["d" * 200] * 6), "file", b"x")], id="name-over-limit"),
        pytest.param([("a\\..\\..\\escape", "file", b"x")], id="backslashes"),
    ],
)
def test_refuses_hostile_members_before_writing_anything(dest: Path, entries: list[Entry]) -> None:
    # A harmless first member proves that the whole archive is checked before the first write.
    refused(_archive(("first.txt", "file", b"1"), *entries), dest)
    assert not (dest / "first.txt").exists()
    assert not Path("/abs-sandbox-test").exists()


def test_refuses_a_pax_header_that_renames_a_member_outside(dest: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("innocent.txt")
        info.size, info.pax_headers = 1, {"path": "../../pax-escape"}
        tar.addfile(info, io.BytesIO(b"x"))
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as archive:
        refused(archive, dest)


def test_refuses_a_symlink_chain_longer_than_path_max(dest: Path) -> None:
    """CVE-2025-4517 shape: nested long directory names with short symlinks to them, so that the path
    as written is short but resolves beyond PATH_MAX, where realpath() stops and the data filter of
    unpatched Pythons accepts a final link pointing above the destination."""
    long = "d" * 247
    entries: list[Entry] = []
    path = ""
    steps = "abcdefghijklmnop"
    for step in steps:
        entries.append((f"{path}{long}", "dir", ""))
        entries.append((f"{path}{step}", "symlink", long))
        path = f"{path}{long}/"
    chain = "/".join(steps)
    entries.append((f"{chain}/{'l' * 254}", "symlink", "../" * len(steps)))
    entries.append(("escape", "symlink", f"{chain}/{'l' * 254}/../../.."))
    entries.append(("escape/pwned", "file", b"outside"))
    refused(_archive(*entries), dest)


def test_does_not_follow_links_already_in_the_destination(dest: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest.mkdir()
    (dest / "planted").symlink_to(outside)
    (dest / "file-link").symlink_to(outside / "target")
    with pytest.raises(BadRequest, match="not a directory"):
        extract_data(_archive(("planted/x", "file", b"x")), dest)
    with pytest.raises(BadRequest, match="link"):
        extract_data(_archive(("file-link", "file", b"x")), dest)
    assert list(outside.iterdir()) == []


def test_only_the_given_members_are_extracted(dest: Path) -> None:
    archive = _archive(("a.txt", "file", b"a"), ("b.txt", "file", b"b"), ("link", "symlink", "/etc"))
    wanted = [m for m in archive.getmembers() if m.name == "a.txt"]
    extract_data(archive, dest, wanted)
    assert [p.name for p in dest.iterdir()] == ["a.txt"]
