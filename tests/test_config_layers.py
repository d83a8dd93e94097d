"""Layered CFG: merges of the shipped EGI/FG example layers, layer sets, locator lines, explain."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dirac_core.config.explain import explain
from dirac_core.config.layers import LayeredConfig, layer_set
from dirac_core.config.locator import locate, parse_cfg, unlocated_paths
from dirac_core.errors import ConfigError, NotFound

EXAMPLES = Path(__file__).resolve().parent.parent / "etc" / "examples"


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """Line number of the n-th line containing `needle`, found independently of the locator."""
    hits = [n for n, text in enumerate(path.read_text().splitlines(), start=1) if needle in text]
    assert len(hits) >= occurrence, f"{needle!r} not in {path}"
    return hits[occurrence - 1]


def test_shared_plus_egi_is_what_the_layers_say() -> None:
    config = LayeredConfig.load([EXAMPLES / "shared.cfg", EXAMPLES / "egi.cfg"]).config()
    assert config.get("/DIRAC/Setup") == "EGI-Production"
    assert config.get("/DIRAC/Setups/EGI-Production/WorkloadManagement") == "Production"
    # instance overrides shared
    assert config.get("/Operations/Defaults/EMail/Production") == "dirac-egi-support@example.org"
    assert config.get_int("/Systems/WorkloadManagement/Production/Services/JobManager/MaxParametricJobs") == 500
    # shared values the instance does not touch survive the merge
    assert config.get("/Operations/Defaults/Pilot/Version") == "8.0.50"
    assert config.get_int("/Systems/WorkloadManagement/Production/Services/JobManager/Port") == 9132
    assert config.get("/Resources/Sites/EGI/EGI.CYFRONET.pl/Name") == "CYFRONET-LCG2"
    # `+=` appends within a file
    assert config.get_list("/Resources/Sites/EGI/EGI.CYFRONET.pl/CEs/ce.cyf-kr.edu.pl/Queues/condor/VO") == [
        "biomed",
        "eiscat.se",
    ]
    assert config.get_list("/DIRAC/Configuration/Servers") == [
        "https://ccdiracli07.in2p3.fr:9135/Configuration/Server",
        "https://ccdiracli09.in2p3.fr:9135/Configuration/Server",
    ]
    assert config.sections("/Registry/VO") == ["biomed", "eiscat.se"]
    assert (
        config.get("/Systems/WorkloadManagement/Production/URLs/JobManager")
        == "https://ccdiracli08.in2p3.fr:9132/WorkloadManagement/JobManager"
    )


def test_shared_plus_fg_is_what_the_layers_say() -> None:
    config = LayeredConfig.load([EXAMPLES / "shared.cfg", EXAMPLES / "fg.cfg"]).config()
    assert config.get("/DIRAC/Setup") == "FG-Production"
    assert config.get("/Operations/Defaults/Pilot/Version") == "8.0.52"  # fg overrides shared 8.0.50
    assert config.get("/Operations/Defaults/Pilot/Project") == "DIRAC"  # sibling from shared kept
    assert config.get_int("/Systems/WorkloadManagement/Production/Services/JobManager/MaxParametricJobs") == 20
    assert config.sections("/Registry/VO") == ["vo.france-grilles.fr", "vo.formation.idgrilles.fr"]
    assert config.get("/Systems/WorkloadManagement/Production/Databases/JobDB/Host") == "ccdiracdb02.in2p3.fr"
    assert not config.has("/Registry/VO/biomed")


def test_layer_set_yaml_marks_host_local_and_global_scope_excludes_it() -> None:
    layered = LayeredConfig.load([EXAMPLES / "egi.yaml"])
    assert [(p.layer.name, p.layer.scope) for p in layered.layers] == [
        ("shared", "global"),
        ("egi", "global"),
        ("host", "local"),
    ]
    full, served = layered.config(), layered.config("global")
    path = "/Systems/WorkloadManagement/Production/Databases/JobDB/PasswordFile"
    assert full.get(path) == "/opt/dirac/etc/secrets/JobDB.password"
    assert not served.has(path)
    assert not served.has("/DIRAC/Security/CertFile")


def test_directory_convention_orders_by_name_and_90_is_local(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "host.cfg", tmp_path / "90-host.cfg")
    shutil.copy(EXAMPLES / "fg.cfg", tmp_path / "10-fg.cfg")
    shutil.copy(EXAMPLES / "shared.cfg", tmp_path / "00-shared.cfg")
    layers = layer_set([tmp_path])
    assert [(layer.name, layer.scope) for layer in layers] == [
        ("shared", "global"),
        ("fg", "global"),
        ("host", "local"),
    ]


def test_bad_layer_set_yaml_names_the_fix(tmp_path: Path) -> None:
    bad = tmp_path / "set.yaml"
    bad.write_text("layers:\n  - name: shared\n    fil: shared.cfg\n")
    with pytest.raises(ConfigError, match="has no 'file'"):
        layer_set([bad])


@pytest.mark.parametrize("name", ["shared.cfg", "egi.cfg", "fg.cfg", "host.cfg"])
def test_locator_agrees_with_diraccfg_on_every_example(name: str) -> None:
    path = EXAMPLES / name
    cfg, source_map = parse_cfg(path.read_text(), str(path))
    assert unlocated_paths(cfg, source_map) == []
    assert len(source_map.options) == sum(1 for line in path.read_text().splitlines() if " = " in line)


def test_locator_lines_for_sections_options_and_appends() -> None:
    text = "# top\nDIRAC\n{\n  Setup = X\n  Configuration {\n    Servers = a\n    Servers += b\n  }\n}\n"
    source_map, error = locate(text, "t.cfg")
    assert error is None
    assert source_map.section("/DIRAC").line == 2  # type: ignore[union-attr]
    assert source_map.section("/DIRAC/Configuration").line == 5  # type: ignore[union-attr]
    assert source_map.option("/DIRAC/Setup").line == 4  # type: ignore[union-attr]
    assert source_map.option("/DIRAC/Configuration/Servers").line == 6  # type: ignore[union-attr]
    assert [loc.line for loc in source_map.appends["/DIRAC/Configuration/Servers"]] == [7]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("DIRAC\n{\n  Setup = X\n", 1, "never closed"),
        ("DIRAC\n{\n}\n}\n", 4, "never opened"),
        ("DIRAC\n{\n  Servers += b\n}\n", 3, "not assigned before"),
        ("A\n{\n}\nA\n{\n}\n", 4, "defined twice"),
        ("A\n{\n  = 3\n}\n", 3, "option without a name"),
    ],
)
def test_syntax_errors_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"^bad\.cfg:{line}: .*{message}"):
        parse_cfg(text, "bad.cfg")


def test_explain_names_winner_and_overridden_layers_with_lines() -> None:
    result = explain(LayeredConfig.load([EXAMPLES / "fg.yaml"]), "/Operations/Defaults/Pilot/Version")
    assert result.winner is not None
    assert result.winner.value == "8.0.52"
    assert result.winner.layer == "fg"
    assert result.winner.location is not None
    assert Path(result.winner.location.file).name == "fg.cfg"
    assert result.winner.location.line == line_of(EXAMPLES / "fg.cfg", "Version = 8.0.52")
    assert [(s.layer, s.value) for s in result.overridden] == [("shared", "8.0.50")]
    overridden = result.overridden[0].location
    assert overridden is not None
    assert overridden.line == line_of(EXAMPLES / "shared.cfg", "Version = 8.0.50")
    text = "\n".join(result.lines())
    assert f"fg.cfg:{result.winner.location.line}" in text
    assert f"shared.cfg:{overridden.line}" in text


def test_explain_three_layers_lists_every_override(tmp_path: Path) -> None:
    (tmp_path / "00-shared.cfg").write_text("Operations\n{\n  Defaults\n  {\n    Limit = 1\n  }\n}\n")
    (tmp_path / "10-egi.cfg").write_text("# instance\nOperations\n{\n  Defaults\n  {\n    Limit = 2\n  }\n}\n")
    (tmp_path / "90-host.cfg").write_text("Operations\n{\n  Defaults\n  {\n\n    Limit = 3\n  }\n}\n")
    result = explain(LayeredConfig.load([tmp_path]), "Operations/Defaults/Limit")
    assert result.winner is not None
    assert (result.winner.layer, result.winner.value, result.winner.location.line) == ("host", "3", 6)  # type: ignore[union-attr]
    assert [(s.layer, s.value, s.location.line) for s in result.overridden] == [  # type: ignore[union-attr]
        ("shared", "1", 5),
        ("egi", "2", 6),
    ]


def test_explain_unknown_path_is_a_clear_error() -> None:
    with pytest.raises(NotFound, match="not set in any layer"):
        explain(LayeredConfig.load([EXAMPLES / "egi.yaml"]), "/DIRAC/Nope")
