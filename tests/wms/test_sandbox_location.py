"""Where the SandboxStore of an instance keeps its files: under that instance's own state, never in a
directory every instance on the machine shares (docs/runtime.md: the component's DataDir)."""

from __future__ import annotations

from pathlib import Path

from dirac_core.config.cfg import Config
from dirac_core.server.local import INSTANCE, LocalLayout, local_config_text, prepare_credentials
from dirac_core.server.serve import build_context
from dirac_core.services.installed import get_component
from dirac_core.services.workload_management import make_sandbox_store

SANDBOX_STORE = "WorkloadManagement/SandboxStore"


def layout_with_credentials(root: Path) -> LocalLayout:
    layout = LocalLayout(root)
    prepare_credentials(layout)
    return layout


def store_dir(config_text: str) -> Path:
    config = Config.from_text(config_text)
    store = make_sandbox_store(build_context(get_component(SANDBOX_STORE), config))
    try:
        return store.base_dir
    finally:
        store.jobdb.engine.dispose()
        store.sandboxdb.engine.dispose()


def test_each_local_instance_keeps_sandboxes_in_its_state_dir(tmp_path: Path) -> None:
    """`dirac-core up` wrote every instance's sandboxes to /opt/dirac/sandboxes."""
    dirs = []
    for name in ("one", "two"):
        layout = layout_with_credentials(tmp_path / name)
        dirs.append(store_dir(local_config_text(layout, [get_component(SANDBOX_STORE)], {})))
        assert dirs[-1].is_relative_to(layout.root), dirs[-1]
    assert dirs[0] != dirs[1]


def test_base_path_still_wins(tmp_path: Path) -> None:
    """DIRAC's own option, when set, decides (a shared filesystem chosen by the operator)."""
    options = {"BasePath": str(tmp_path / "sb")}
    extra = {"Systems": {"WorkloadManagement": {INSTANCE: {"Services": {"SandboxStore": options}}}}}
    layout = layout_with_credentials(tmp_path / "state")
    text = local_config_text(layout, [get_component(SANDBOX_STORE)], {}, extra=extra)
    assert store_dir(text) == tmp_path / "sb"
