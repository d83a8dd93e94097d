"""Unit edges: LFN checks, modes, the Module option, per-directory SQL batches."""

from __future__ import annotations

import pytest

from dirac_core.catalog import paths
from dirac_core.catalog.permissions import mode_string, parse_mode
from dirac_core.config.cfg import Config
from dirac_core.db.filecatalog_queries import per_directory
from dirac_core.errors import BadRequest, ConfigError, NotFound
from dirac_core.server.modules import configured_instance
from dirac_core.services.installed import all_components


def test_paths() -> None:
    assert paths.check_path("/a/b/") == "/a/b"
    assert paths.check_path("/") == "/"
    assert paths.check_path("//") == "/"
    assert paths.check_path("/a/.hidden/..x") == "/a/.hidden/..x"
    for bad in ("a/b", "", "/a//b", "/a/./b", "/a/../b", "/a/..", "/a\nb", 5, "/" + "x" * 300):
        with pytest.raises(BadRequest):
            paths.check_path(bad)
    assert paths.ancestors("/a/b/c") == ["/", "/a", "/a/b"]
    assert paths.split("/a") == ("/", "a")


def test_modes() -> None:
    assert parse_mode("755") == parse_mode("0o755") == parse_mode(0o755) == 0o755
    for bad in ("999", "abc", 0o1000, True, ""):
        with pytest.raises(BadRequest):
            parse_mode(bad)
    assert mode_string(0o750, True) == "drwxr-x---"
    assert mode_string(0o644, False) == "-rw-r--r--"


def cfg(services: str) -> Config:
    return Config.from_text(
        "DIRAC\n{\n Setup = S\n Setups\n {\n  S\n  {\n   DataManagement = P\n  }\n }\n}\n"
        f"Systems\n{{\n DataManagement\n {{\n  P\n  {{\n   Services\n   {{\n{services}\n   }}\n  }}\n }}\n}}\n"
    )


def test_module_option() -> None:
    components = all_components()
    config = cfg("EiscatFileCatalog\n{\nModule = FileCatalog\nDatabase = EiscatFileCatalogDB\n}\nPlain\n{\n}")
    found = configured_instance("DataManagement/EiscatFileCatalog", config, components)
    assert found is not None
    assert found.name == "DataManagement/EiscatFileCatalog"
    assert found.databases == (("DataManagement", "EiscatFileCatalogDB"),)
    assert found.build_rpc is components["DataManagement/FileCatalog"].build_rpc
    assert configured_instance("DataManagement/FileCatalog", config, components) is None  # registered itself
    assert configured_instance("DataManagement/Plain", config, components) is None  # no Module option
    with pytest.raises(NotFound, match="no component DataManagement/Nope"):
        configured_instance("DataManagement/X", cfg("X\n{\nModule = Nope\n}"), components)


def test_module_database_needs_a_single_db_component() -> None:
    config = Config.from_text(
        "DIRAC\n{\n Setup = S\n Setups\n {\n  S\n  {\n   WorkloadManagement = P\n  }\n }\n}\n"
        "Systems\n{\n WorkloadManagement\n {\n  P\n  {\n   Services\n   {\n"
        "    JM2\n    {\n     Module = JobManager\n     Database = OtherJobDB\n    }\n   }\n  }\n }\n}\n"
    )
    with pytest.raises(ConfigError, match="one database"):
        configured_instance("WorkloadManagement/JM2", config, all_components())


class _Dialect:
    paramstyle = "format"


class _Conn:
    dialect = _Dialect()


def test_per_directory_batches_are_exact() -> None:
    batches = list(per_directory(_Conn(), {1: ["a", "b", "c"], 2: ["d"]}, max_names=2))  # type: ignore[arg-type]
    assert batches == [
        ("(f.DirID = %s AND f.FileName IN (%s, %s))", [1, "a", "b"]),
        ("(f.DirID = %s AND f.FileName IN (%s)) OR (f.DirID = %s AND f.FileName IN (%s))", [1, "c", 2, "d"]),
    ]
