"""Components and databases are found through entry points: an extension package adds its own."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from dirac_core.db.installed import all_databases
from dirac_core.errors import ConfigError, NotFound
from dirac_core.plugins import import_object, load_group
from dirac_core.services.component import Component
from dirac_core.services.installed import all_components, get_component

EXTENSION = """
from dirac_core.services.component import Component

PING = Component("Extension/Ping", 9999, description="an extension's component")
WRONG = Component("Other/Pong", 9998)
"""


def _install_extension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry_points: str) -> None:
    """A package on sys.path with its dist-info, as `pip install` leaves it: no dirac_core file changes."""
    (tmp_path / "dirac_ext.py").write_text(EXTENSION)
    info = tmp_path / "dirac_ext-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dirac-ext\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "dirac_ext", raising=False)


def test_the_product_registers_every_component_and_database() -> None:
    assert sorted(all_components()) == [
        "Accounting/DataStore",
        "Accounting/ReportGenerator",
        "Configuration/Server",
        "DataManagement/FileCatalog",
        "Framework/Auth",
        "WorkloadManagement/JobManager",
        "WorkloadManagement/JobMonitoring",
        "WorkloadManagement/JobStateUpdate",
        "WorkloadManagement/Matcher",
        "WorkloadManagement/SandboxStore",
    ]
    assert sorted(all_databases()) == [
        "AccountingDB",
        "FileCatalogDB",
        "JobDB",
        "JobLoggingDB",
        "PilotAgentsDB",
        "SandboxMetadataDB",
        "TaskQueueDB",
    ]


def test_an_installed_extension_adds_its_component(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_extension(tmp_path, monkeypatch, "[dirac_core.components]\nExtension = dirac_ext:PING\n")
    component = get_component("Extension/Ping")
    assert isinstance(component, Component)
    assert component.default_port == 9999
    assert "WorkloadManagement/JobManager" in all_components()


def test_an_entry_point_named_after_another_system_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_extension(tmp_path, monkeypatch, "[dirac_core.components]\nExtension = dirac_ext:WRONG\n")
    with pytest.raises(ConfigError, match="declares Other/Pong: name it Other"):
        all_components()


def test_a_broken_entry_point_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_extension(tmp_path, monkeypatch, "[dirac_core.databases]\nNoDB = dirac_ext:MISSING\n")
    with pytest.raises(NotFound, match=re.escape("entry point NoDB = dirac_ext:MISSING of dirac_core.databases")):
        all_databases()


def test_a_database_entry_point_must_be_its_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _install_extension(tmp_path, monkeypatch, "[dirac_core.databases]\nPingDB = dirac_ext:PING\n")
    with pytest.raises(ConfigError, match="point it at the DatabaseSpec of PingDB"):
        all_databases()


def test_unknown_group_and_reference_are_one_clear_error() -> None:
    with pytest.raises(NotFound, match=re.escape("no entry points in group no.such.group")):
        load_group("no.such.group")
    with pytest.raises(NotFound, match="cannot load 'no_such_module:thing'"):
        import_object("no_such_module:thing")
