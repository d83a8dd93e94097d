"""Kit tests that call `dirac-kit` in-process (click's CliRunner) must not leak its environment.

Every `dirac-kit` command exports the kit's environment into its own process (dirac_kit.environment):
in a test process that would hand later tests a vault file or state directory of a finished test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
