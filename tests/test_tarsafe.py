"""Sandbox extraction refuses escapes with and without tarfile's data filter (Debian 12: Python 3.11.2)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dirac_core.errors import BadRequest
from dirac_core.tarsafe import extract_data


def _archive(*entries: tuple[str, bytes | None, str]) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data, kind in entries:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tar.addfile(info)
            else:
                info.size, info.mode = len(data or b""), 0o4777
                tar.addfile(info, io.BytesIO(data or b""))
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


@pytest.fixture(params=["data filter", "fallback"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "fallback":
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    return str(request.param)


def test_extracts_files_without_setuid(tmp_path: Path, mode: str) -> None:
    extract_data(_archive(("run.sh", b"echo hi\n", "file")), tmp_path)
    extracted = tmp_path / "run.sh"
    assert extracted.read_bytes() == b"echo hi\n"
    assert not extracted.stat().st_mode & 0o7000


def test_refuses_paths_outside(tmp_path: Path, mode: str) -> None:
    with pytest.raises((BadRequest, tarfile.FilterError) if mode == "data filter" else BadRequest):
        extract_data(_archive(("../escape", b"x", "file")), tmp_path / "job")
    assert not (tmp_path / "escape").exists()


def test_absolute_names_stay_inside(tmp_path: Path, mode: str) -> None:
    # The data filter strips the leading "/"; the fallback refuses the member: neither writes outside.
    try:
        extract_data(_archive(("/abs-sandbox-test", b"x", "file")), tmp_path)
    except BadRequest:
        assert mode == "fallback"
    else:
        assert (tmp_path / "abs-sandbox-test").exists()
    assert not Path("/abs-sandbox-test").exists()


def test_refuses_links_out(tmp_path: Path, mode: str) -> None:
    with pytest.raises((BadRequest, tarfile.FilterError) if mode == "data filter" else BadRequest):
        extract_data(_archive(("link", None, "symlink")), tmp_path)
