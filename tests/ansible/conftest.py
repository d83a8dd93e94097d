"""Lab fixtures of tests/ansible: the deployed new site, shared by the site and prechecks tests; and the
molecule scenarios, started as soon as they are selected so they run while the other lab tests do."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType

import pytest

_MOLECULE = pytest.StashKey[ModuleType]()


@pytest.fixture(scope="session")
def deployed() -> Iterator[None]:
    """The new site deployed by site.yml on the lab (from bare hosts after `dirac-kit lab up`), once a session."""
    from tests.ansible.test_site_lab import SSH_CONFIG, playbook

    if not SSH_CONFIG.is_file():
        pytest.skip(f"{SSH_CONFIG} missing: run `dirac-kit lab up` (or set DIRAC_LAB_SSH_CONFIG)")
    if os.environ.get("DIRAC_LAB_DEPLOYED"):  # the site is known deployed: only look at it
        yield
        return
    result, _, seconds = playbook("site.yml")
    assert result.returncode == 0, result.stdout[-8000:]
    print(f"site.yml: {seconds:.0f} s")
    yield


@pytest.hookimpl(trylast=True)  # after `-m`/`-k` deselection: only the selected scenarios start
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    molecule = [item for item in items if getattr(item, "originalname", "") == "test_molecule"]
    if not molecule or config.option.collectonly:
        return
    # Their tests only wait for the results: run them last, after the tests that use the lab meanwhile.
    items[:] = [item for item in items if item not in molecule] + molecule
    # The module object pytest imported (its name depends on the import mode: importing it here by
    # another name would make a second module whose started runs the tests never see).
    module = molecule[0].module  # type: ignore[attr-defined]
    config.stash[_MOLECULE] = module
    module.start([item.callspec.params["role"] for item in molecule])  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    module = session.config.stash.get(_MOLECULE, None)
    if module is not None:
        module.remove_prepared_image()
