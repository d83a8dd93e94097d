"""`dirac-core config validate|diff|show|explain`: schema rules with file:line, diffs, CLI exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from dirac_core.cli.config import config as config_group
from dirac_core.config.diff import diff_cfgs
from dirac_core.config.layers import LayeredConfig
from dirac_core.config.validate import Issue, errors, validate

EXAMPLES = Path(__file__).resolve().parent.parent / "etc" / "examples"

BROKEN = """\
DIRAC
{
  Setups
  {
    EGI-Production
    {
      WorkloadManagement = Production
    }
  }
  Configuration
  {
    Master = maybe
  }
}
Sytems
{
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
          Port = 91x2
        }
        JobMonitoring
        {
          MaxThreads = 10
        }
      }
      URLs
      {
        JobManager = ccdiracli08.in2p3.fr:9132
      }
      Databases
      {
        JobDB
        {
          Host = ccdiracdb01.in2p3.fr
          DBName = JobDB
          User = Dirac
          Password = s3cret-do-not-print
        }
      }
    }
  }
}
"""


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def _issue(issues: list[Issue], path: str, problem: str) -> Issue:
    found = [i for i in issues if i.path == path and problem in i.problem]
    assert found, f"no issue {problem!r} at {path}: {[str(i) for i in issues]}"
    return found[0]


def test_examples_validate_clean() -> None:
    for name in ("egi.yaml", "fg.yaml"):
        assert validate(LayeredConfig.load([EXAMPLES / name])) == []


def test_validate_catches_each_problem_with_file_and_line(tmp_path: Path) -> None:
    layer = tmp_path / "10-instance.cfg"
    layer.write_text(BROKEN)
    issues = validate(LayeredConfig.load([layer]))
    where = str(layer)

    unknown = _issue(issues, "/Sytems", "unknown section")
    assert str(unknown.location) == f"{where}:{line_of(BROKEN, 'Sytems')}"
    assert "did you mean Systems?" in unknown.fix

    port = _issue(issues, "/Systems/WorkloadManagement/Production/Services/JobManager/Port", "not a valid port")
    assert port.location is not None and port.location.line == line_of(BROKEN, "Port = 91x2")
    boolean = _issue(issues, "/DIRAC/Configuration/Master", "not a valid boolean")
    assert boolean.location is not None and boolean.location.line == line_of(BROKEN, "Master = maybe")
    url = _issue(issues, "/Systems/WorkloadManagement/Production/URLs/JobManager", "not a valid list of service URLs")
    assert url.location is not None and url.location.line == line_of(BROKEN, "JobManager = ccdiracli08")

    missing_port = _issue(issues, "/Systems/WorkloadManagement/Production/Services/JobMonitoring/Port", "missing")
    assert missing_port.location is not None and missing_port.location.line == line_of(BROKEN, "JobMonitoring")
    missing_setup = _issue(issues, "/DIRAC/Setup", "missing")
    assert missing_setup.location is not None and missing_setup.location.line == 1

    password = _issue(issues, "/Systems/WorkloadManagement/Production/Databases/JobDB/Password", "password inlined")
    assert password.location is not None and password.location.line == line_of(BROKEN, "Password =")
    assert "PasswordFile" in password.fix and "0600" in password.fix
    assert all("s3cret" not in str(issue) for issue in issues)
    warnings = [i for i in issues if i.severity == "warning"]
    assert [(w.path, "host-local option" in w.problem) for w in warnings] == [("/DIRAC/Configuration/Master", True)]
    assert len(errors(issues)) == len(issues) - 1


def test_host_rules_require_password_file_only_with_a_local_layer(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "shared.cfg", tmp_path / "00-shared.cfg")
    shutil.copy(EXAMPLES / "egi.cfg", tmp_path / "10-egi.cfg")
    assert validate(LayeredConfig.load([tmp_path])) == []  # served CS: no host rules
    (tmp_path / "90-host.cfg").write_text("LocalSite\n{\n  Site = EGI.CC-IN2P3.fr\n}\n")
    issues = validate(LayeredConfig.load([tmp_path]))
    jobdb = _issue(issues, "/Systems/WorkloadManagement/Production/Databases/JobDB/PasswordFile", "missing")
    assert jobdb.location is not None
    assert jobdb.location.file.endswith("10-egi.cfg")
    assert jobdb.location.line == line_of((tmp_path / "10-egi.cfg").read_text(), "JobDB")


def test_setups_must_cover_every_system(tmp_path: Path) -> None:
    text = (EXAMPLES / "egi.cfg").read_text().replace("      Accounting = Production\n", "")
    (tmp_path / "10-egi.cfg").write_text(text)
    shutil.copy(EXAMPLES / "shared.cfg", tmp_path / "00-shared.cfg")
    issues = validate(LayeredConfig.load([tmp_path]))
    issue = _issue(issues, "/DIRAC/Setups/EGI-Production/Accounting", "no instance in setup")
    assert issue.location is not None and issue.location.line == line_of(text, "    EGI-Production")


def test_diff_egi_vs_fg_lists_the_expected_differences() -> None:
    egi = LayeredConfig.load([EXAMPLES / "egi.yaml"]).merged_cfg()
    fg = LayeredConfig.load([EXAMPLES / "fg.yaml"]).merged_cfg()
    result = diff_cfgs(egi, fg)
    assert result.changed["/DIRAC/Setup"] == ("EGI-Production", "FG-Production")
    assert result.changed["/Operations/Defaults/Pilot/Version"] == ("8.0.50", "8.0.52")
    assert result.changed["/Systems/WorkloadManagement/Production/URLs/JobManager"] == (
        "https://ccdiracli08.in2p3.fr:9132/WorkloadManagement/JobManager",
        "https://ccdiracli11.in2p3.fr:9132/WorkloadManagement/JobManager",
    )
    assert result.removed["/Registry/VO/biomed/VOMSName"] == "biomed"
    assert result.added["/Registry/VO/vo.france-grilles.fr/VOMSName"] == "vo.france-grilles.fr"
    # identical in both (shared or same host layer): not reported
    assert "/Resources/Sites/EGI/EGI.CYFRONET.pl/Name" not in result.changed
    assert "/Systems/WorkloadManagement/Production/Databases/JobDB/PasswordFile" not in result.changed
    assert diff_cfgs(egi, egi).empty


def test_cli_diff_json_is_parseable_and_exit_code_says_different() -> None:
    runner = CliRunner()
    result = runner.invoke(config_group, ["diff", "--json", str(EXAMPLES / "egi.yaml"), str(EXAMPLES / "fg.yaml")])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["changed"]["/DIRAC/Setup"] == {"from": "EGI-Production", "to": "FG-Production"}
    assert "/Registry/Users/sjourdan/DN" in data["removed"]
    same = runner.invoke(config_group, ["diff", str(EXAMPLES / "fg.yaml"), f"{EXAMPLES}/shared.cfg,{EXAMPLES}/fg.cfg"])
    assert same.exit_code == 1  # the host layer differs
    assert "+ " not in same.stdout and "/DIRAC/Security/CertFile" in same.stdout
    identical = runner.invoke(config_group, ["diff", str(EXAMPLES / "fg.yaml"), str(EXAMPLES / "fg.yaml")])
    assert identical.exit_code == 0 and identical.stdout == ""


def test_cli_validate_exit_codes_and_file_line_output(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(config_group, ["validate", "--layers", str(EXAMPLES / "egi.yaml")])
    assert ok.exit_code == 0, ok.output
    layer = tmp_path / "bad.cfg"
    layer.write_text(BROKEN)
    bad = runner.invoke(config_group, ["validate", "--layers", str(layer)])
    assert bad.exit_code == 1
    assert f"{layer}:{line_of(BROKEN, 'Password =')}: error:" in bad.stdout
    as_json = runner.invoke(config_group, ["validate", "--json", "--layers", str(layer)])
    assert {i["line"] for i in json.loads(as_json.stdout) if i["problem"] == "unknown section"} == {
        line_of(BROKEN, "Sytems")
    }


def test_cli_show_and_explain(tmp_path: Path) -> None:
    runner = CliRunner()
    layers = ["--layers", str(EXAMPLES / "egi.yaml")]
    value = runner.invoke(config_group, ["show", *layers, "/DIRAC/Setup"])
    assert value.exit_code == 0 and value.stdout == "EGI-Production\n"
    subtree = runner.invoke(config_group, ["show", *layers, "/Systems/Accounting/Production/Databases"])
    assert "PasswordFile = /opt/dirac/etc/secrets/AccountingDB.password" in subtree.stdout
    served = runner.invoke(config_group, ["show", "--served", *layers])
    assert "PasswordFile" not in served.stdout and "EGI.CYFRONET.pl" in served.stdout
    explained = runner.invoke(config_group, ["explain", "--json", *layers, "/Registry/DefaultGroup"])
    data = json.loads(explained.stdout)
    assert data["winner"]["layer"] == "egi" and data["overridden"] == []
    secret = tmp_path / "90-host.cfg"
    secret.write_text("DIRAC\n{\n  Password = hunter2\n}\n")
    masked = runner.invoke(config_group, ["show", "--layers", str(secret)])
    assert "hunter2" not in masked.stdout and "<hidden>" in masked.stdout


def test_database_url_with_password_is_refused_without_printing_it(tmp_path: Path) -> None:
    text = (EXAMPLES / "egi.cfg").read_text()
    text = text.replace(
        "          Host = ccdiracdb01.in2p3.fr\n          Port = 3306\n          DBName = AccountingDB\n",
        "          URL = mysql+pymysql://Dirac:t0ps3cret@ccdiracdb01.in2p3.fr/AccountingDB\n"
        "          Host = ccdiracdb01.in2p3.fr\n          DBName = AccountingDB\n",
    )
    layer = tmp_path / "10-egi.cfg"
    layer.write_text(text)
    issues = validate(LayeredConfig.load([layer]), host_rules=False)
    issue = _issue(issues, "/Systems/Accounting/Production/Databases/AccountingDB/URL", "not a valid database URL")
    assert issue.location is not None and issue.location.line == line_of(text, "URL = mysql")
    assert "t0ps3cret" not in str(issue) and "PasswordFile" in issue.fix


def test_installed_dirac_core_entry_point_runs_config_commands(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "dirac-core"
    ok = subprocess.run(
        [str(exe), "config", "validate", "--layers", str(EXAMPLES / "fg.yaml")], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    bad = tmp_path / "bad.cfg"
    bad.write_text(BROKEN)
    failed = subprocess.run([str(exe), "config", "validate", "--layers", str(bad)], capture_output=True, text=True)
    assert failed.returncode == 1 and f"{bad}:{line_of(BROKEN, 'Sytems')}: error:" in failed.stdout
    missing = subprocess.run(
        [str(exe), "config", "explain", "--layers", str(EXAMPLES / "fg.yaml"), "/DIRAC/Nope"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and missing.stderr.startswith("error: /DIRAC/Nope is not set in any layer")
