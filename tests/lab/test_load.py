"""What `dirac-kit lab load` registers (no lab needed: the lines are plain data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dirac_kit.lab.load import EISCAT_SHARE, LabShell, file_lines
from dirac_kit.lab.paths import LabPaths


def test_egi_has_one_file_in_ten_under_eiscat_and_fg_none() -> None:
    egi, fg = file_lines("egi", 10000), file_lines("fg", 10000)
    assert len(egi) == len(fg) == 10000 and len(set(egi)) == 10000
    assert sum(line.startswith("/eiscat.se/") for line in egi) == 10000 // EISCAT_SHARE
    assert all(line.startswith("/fg/data/") for line in fg)
    lfn, size, se, pfn, checksum = egi[1].split()
    assert (lfn, size, se, checksum) == ("/egi/data/d000/f000001.dat", "1001", "CYFRONET-USER", "00000001")
    assert pfn == "srm://cyf-se" + lfn


def test_a_lab_that_is_not_up_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"is not up .* run `dirac-kit lab up`"):
        LabShell(LabPaths(tmp_path, "nolab"))
