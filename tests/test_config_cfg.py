from pathlib import Path

import pytest

from dirac_core.config import Config, component_section, database_section
from dirac_core.errors import ConfigError

BASE = """
DIRAC
{
  Setup = EGI-Production
  Setups
  {
    EGI-Production
    {
      WorkloadManagement = Production
    }
  }
}
Systems
{
  WorkloadManagement
  {
    Production
    {
      Services
      {
        JobManager
        {
          Port = 9132
        }
      }
    }
  }
}
"""


def test_later_file_wins_and_paths_resolve(tmp_path: Path) -> None:
    base = tmp_path / "base.cfg"
    base.write_text(BASE)
    host = tmp_path / "host.cfg"
    host.write_text(
        "Systems\n{\n WorkloadManagement\n {\n  Production\n  {\n   Services\n   {\n"
        "    JobManager\n    {\n     Port = 19132\n    }\n   }\n  }\n }\n}\n"
    )
    config = Config.from_files([base, host])
    section = component_section(config, "WorkloadManagement/JobManager")
    assert section == "/Systems/WorkloadManagement/Production/Services/JobManager"
    assert config.get_int(f"{section}/Port") == 19132
    assert database_section(config, "WorkloadManagement", "JobDB").endswith("/Production/Databases/JobDB")


def test_missing_option_names_the_path() -> None:
    config = Config.from_text(BASE)
    with pytest.raises(ConfigError, match="/DIRAC/Nothing is not set"):
        config.get("/DIRAC/Nothing")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        Config.from_files([tmp_path / "absent.cfg"])


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.cfg"
    broken.write_text("DIRAC\n{\n  Setup = X\n}\n}\n")
    with pytest.raises(ConfigError, match=rf"^{broken}:5: '}}' closes a section that was never opened"):
        Config.from_files([broken])
