"""Configuration/Server logic: versions, backups, validate-before-swap, file reloads, rollback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dirac_core.auth.caller import Caller, Properties
from dirac_core.config.layers import layer_set
from dirac_core.config.locator import parse_cfg
from dirac_core.cs.content import RefusedConfiguration, get_option
from dirac_core.cs.server import FILES_COMMITTER, ConfigurationServer, ServerSettings
from dirac_core.cs.version import next_version
from dirac_core.errors import Conflict, Forbidden

EXAMPLES = Path(__file__).resolve().parent.parent / "etc" / "examples"
ADMIN = Caller("sub-admin", "adirac", "biomed", "dirac_admin", frozenset({Properties.CS_ADMINISTRATOR}))
USER = Caller("sub-user", "sjourdan", "biomed", "biomed_user", frozenset({Properties.NORMAL_USER}))
PILOT_VERSION = "/Operations/Defaults/Pilot/Version"


@pytest.fixture
def layer_dir(tmp_path: Path) -> Path:
    layers = tmp_path / "layers"
    layers.mkdir()
    shutil.copy(EXAMPLES / "shared.cfg", layers / "00-shared.cfg")
    shutil.copy(EXAMPLES / "egi.cfg", layers / "10-egi.cfg")
    return layers


def make_master(layer_dir: Path, data_dir: Path) -> ConfigurationServer:
    server = ConfigurationServer(ServerSettings(True, data_dir, poll_interval=0.1, layers=layer_set([layer_dir])))
    server.start_up()
    return server


def edited(server: ConfigurationServer, old: str, new: str) -> str:
    text = server.snapshot().text
    assert old in text
    return text.replace(old, new, 1)


def test_master_serves_the_merged_global_layers_with_a_version(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    snap = server.snapshot()
    assert snap.name == "EGI-Production"
    assert get_option(snap.cfg, "/DIRAC/Setup") == "EGI-Production"
    assert get_option(snap.cfg, "/DIRAC/Configuration/Version") == snap.version
    assert len(snap.hash) == 64
    assert (tmp_path / "data" / "EGI-Production.cfg").read_text() == snap.text
    assert [c.committer for c in server.history()] == [FILES_COMMITTER]


def test_commit_makes_a_newer_version_with_a_backup_of_each(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    first = server.snapshot()
    version = server.commit(edited(server, "Version = 8.0.50", "Version = 8.0.51"), ADMIN)
    assert version > first.version
    assert get_option(server.snapshot().cfg, PILOT_VERSION) == "8.0.51"
    backups = sorted(p.name for p in (tmp_path / "data" / "csbackup").glob("*.cfg"))
    assert backups == sorted([f"EGI-Production@{v.replace(' ', '_')}.cfg" for v in (first.version, version)])
    assert server.version_contents(first.version) == first.text
    assert [(c.committer, c.version) for c in server.history()] == [
        ("adirac", version),
        (FILES_COMMITTER, first.version),
    ]
    # the same content again makes no new version
    assert server.commit(server.snapshot().text, ADMIN) == version


def test_commit_needs_cs_administrator_and_the_current_version(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    stale = edited(server, "Version = 8.0.50", "Version = 8.0.51")
    with pytest.raises(Forbidden, match="CSAdministrator"):
        server.commit(stale, USER)
    server.commit(edited(server, "MaxInputData = 500", "MaxInputData = 400"), ADMIN)
    with pytest.raises(Conflict, match="fetch the newest CS"):
        server.commit(stale, ADMIN)


def test_malformed_commit_is_refused_with_line_and_old_cs_keeps_serving(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    before = server.snapshot()
    text = before.text + "Dangling\n{\n  Open = yes\n"
    dangling_line = text.splitlines().index("Dangling") + 1
    with pytest.raises(RefusedConfiguration, match=rf"<commit by adirac>:{dangling_line}: .*never closed"):
        server.commit(text, ADMIN)
    assert server.snapshot() is before
    assert server.get_version() == before.version


def test_invalid_commit_is_refused_with_line_and_old_cs_keeps_serving(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    before = server.snapshot()
    text = edited(server, "Port = 9132", "Port = nine")
    port_line = text.splitlines().index("          Port = nine") + 1
    with pytest.raises(RefusedConfiguration, match=rf"<commit by adirac>:{port_line}: error: .*JobManager/Port"):
        server.commit(text, ADMIN)
    password = edited(server, "User = Dirac", "User = Dirac\nPassword = hunter2")
    with pytest.raises(RefusedConfiguration, match="password inlined") as refused:
        server.commit(password, ADMIN)
    assert "hunter2" not in str(refused.value)
    assert server.snapshot() is before
    assert len(server.history()) == 1


def test_layer_file_reload_swaps_only_valid_files(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    before = server.snapshot()
    instance = layer_dir / "10-egi.cfg"
    good = instance.read_text()

    instance.write_text(good.replace("Setups\n  {", "Setups\n  {{", 1))  # syntax error
    assert server.reload_files() is False
    assert server.last_error is not None and f"{instance}:" in server.last_error
    assert server.snapshot() is before

    invalid = good.replace("RefreshTime = 300", "RefreshTime = soon")
    instance.write_text(invalid)
    assert server.reload_files() is False
    line = invalid.splitlines().index("    RefreshTime = soon") + 1
    assert f"{instance}:{line}: error: /DIRAC/Configuration/RefreshTime" in (server.last_error or "")
    assert server.snapshot() is before

    instance.write_text(good.replace("RefreshTime = 300", "RefreshTime = 120"))
    assert server.reload_files() is True
    assert server.last_error is None
    assert get_option(server.snapshot().cfg, "/DIRAC/Configuration/RefreshTime") == "120"
    assert server.snapshot().version > before.version
    assert server.reload_files() is False  # unchanged files: no new version


def test_restart_keeps_version_and_commits(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    version = server.commit(edited(server, "Version = 8.0.50", "Version = 8.0.51"), ADMIN)
    again = make_master(layer_dir, tmp_path / "data")
    assert again.get_version() == version
    assert get_option(again.snapshot().cfg, PILOT_VERSION) == "8.0.51"


def test_rollback_commits_an_old_version_as_a_new_one(layer_dir: Path, tmp_path: Path) -> None:
    server = make_master(layer_dir, tmp_path / "data")
    first = server.get_version()
    server.commit(edited(server, "Version = 8.0.50", "Version = 8.0.51"), ADMIN)
    rolled = server.rollback(first, ADMIN)
    assert rolled > first
    assert get_option(server.snapshot().cfg, PILOT_VERSION) == "8.0.50"
    assert len(server.history()) == 3


def test_versions_are_monotonic_even_when_the_clock_steps_back() -> None:
    from datetime import UTC, datetime

    later = next_version(None, datetime(2026, 11, 25, 10, 0, tzinfo=UTC))
    earlier_clock = next_version(later, datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    assert earlier_clock > later
    assert earlier_clock == "2026-11-25 10:00:00.000001"


def test_served_text_reparses_to_the_same_cfg(layer_dir: Path, tmp_path: Path) -> None:
    snap = make_master(layer_dir, tmp_path / "data").snapshot()
    cfg, _ = parse_cfg(snap.text, "served")
    assert cfg.serialize() == snap.text


def test_master_flag_is_never_served_and_is_flagged_in_a_global_layer(layer_dir: Path, tmp_path: Path) -> None:
    from dirac_core.config.layers import LayeredConfig
    from dirac_core.config.validate import validate

    instance = layer_dir / "10-egi.cfg"
    text = instance.read_text().replace("    RefreshTime = 300\n", "    RefreshTime = 300\n    Master = yes\n", 1)
    instance.write_text(text)
    server = make_master(layer_dir, tmp_path / "data")
    assert get_option(server.snapshot().cfg, "/DIRAC/Configuration/Master") is None
    assert get_option(server.snapshot().cfg, "/DIRAC/Configuration/RefreshTime") == "300"
    issues = validate(LayeredConfig.load([layer_dir]))
    assert [(i.severity, i.path, i.location.line if i.location else None) for i in issues] == [
        ("warning", "/DIRAC/Configuration/Master", text.splitlines().index("    Master = yes") + 1)
    ]


def test_layer_files_changed_while_stopped_become_a_new_version_at_start(layer_dir: Path, tmp_path: Path) -> None:
    first = make_master(layer_dir, tmp_path / "data").get_version()
    instance = layer_dir / "10-egi.cfg"
    instance.write_text(instance.read_text().replace("RefreshTime = 300", "RefreshTime = 60"))
    again = make_master(layer_dir, tmp_path / "data")
    assert again.get_version() > first
    assert get_option(again.snapshot().cfg, "/DIRAC/Configuration/RefreshTime") == "60"
    assert [c.committer for c in again.history()] == [FILES_COMMITTER, FILES_COMMITTER]


class DirectLink:
    """A slave's link to a master ConfigurationServer in the same process, which can go down."""

    def __init__(self, master: ConfigurationServer) -> None:
        self.master = master
        self.url = "direct://master"
        self.up = True

    def _check(self) -> None:
        if not self.up:
            from dirac_core.errors import ServiceUnavailable

            raise ServiceUnavailable("cannot reach Configuration/Server direct://master: connection refused")

    def get_version(self) -> str:
        self._check()
        return self.master.get_version()

    def get_data_if_newer(self, version: str | None) -> tuple[str, str, str | None]:
        self._check()
        reply = self.master.get_data_if_newer(version)
        return reply["newestVersion"], reply["hash"], reply["data"]


def test_slave_started_while_master_down_serves_once_master_answers(layer_dir: Path, tmp_path: Path) -> None:
    from dirac_core.errors import ServiceUnavailable

    master = make_master(layer_dir, tmp_path / "master")
    link = DirectLink(master)
    link.up = False
    slave = ConfigurationServer(ServerSettings(False, tmp_path / "slave", poll_interval=0.1), link)
    slave.start_up()
    with pytest.raises(ServiceUnavailable, match="waiting for direct://master"):
        slave.get_version()
    assert slave.tick() is False and "connection refused" in (slave.last_error or "")
    link.up = True
    assert slave.tick() is True
    assert slave.get_version() == master.get_version()
    # a restarted slave serves its local copy even though the master is down
    link.up = False
    again = ConfigurationServer(ServerSettings(False, tmp_path / "slave", poll_interval=0.1), link)
    again.start_up()
    assert again.get_version() == master.get_version()
    assert again.snapshot().text == master.snapshot().text
