"""Start the molecule scenarios as soon as they are selected, so they run while the other lab tests do."""

from __future__ import annotations

import pytest


@pytest.hookimpl(trylast=True)  # after `-m`/`-k` deselection: only the selected scenarios start
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    molecule = [item for item in items if getattr(item, "originalname", "") == "test_molecule"]
    if not molecule or config.option.collectonly:
        return
    # Their tests only wait for the results: run them last, after the tests that use the lab meanwhile.
    items[:] = [item for item in items if item not in molecule] + molecule
    from tests.ansible.test_molecule import start

    start([item.callspec.params["role"] for item in molecule])  # type: ignore[attr-defined]
