"""The deployment contract (dirac_core.contract) is the one declaration: everything else follows it."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import Environment

from dirac_core.config.cfg import Config
from dirac_core.config.layers import scope_from_filename
from dirac_core.config.schema import OPTION_TYPES
from dirac_core.config.tree import tree_to_cfg
from dirac_core.contract import components as declaration
from dirac_core.contract.__main__ import stale_files
from dirac_core.contract.ansible import VARS_FILE, ansible_catalogue, components_vars_text
from dirac_core.contract.components import declared_components
from dirac_core.contract.layers import LAYER_FILES, layer_files
from dirac_core.contract.options import SERVICE_OPTIONS, service_option
from dirac_core.server.local import LocalLayout, local_config_text, prepare_credentials
from dirac_core.services.component import Component
from dirac_core.services.installed import all_components

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "roles" / "dirac_config" / "filter_plugins" / "dirac_cfg.py"


def _filters() -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("dirac_cfg_filters", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()  # type: ignore[no-any-return]


def test_the_generated_files_agree_with_the_declaration() -> None:
    """playbooks/vars/components.yml and the docs tables: `python -m dirac_core.contract --write` when stale."""
    assert stale_files(ROOT) == [], "stale: run `.venv/bin/python -m dirac_core.contract --write` in the repository"


def test_every_registered_component_is_the_declared_one() -> None:
    registered = all_components()
    assert sorted(registered) == sorted(declared_components())
    for name, spec in declared_components().items():
        component = registered[name]
        assert (component.default_port, component.databases, component.description) == (
            spec.port,
            spec.database_pairs,
            spec.description,
        ), name
        # The System's entry point (dirac_core.components) lives in the declared module.
        (entry,) = [e for e in entry_points(group="dirac_core.components") if e.name == spec.system]
        assert entry.module == spec.module, f"{name}: declared module {spec.module}, entry point {entry.value}"
        module = importlib.import_module(spec.module)
        built = [value for value in vars(module).values() if isinstance(value, Component)]
        if hasattr(module, "components"):
            built += module.components()
        assert name in {c.name for c in built}, f"{name}: declared module {spec.module} does not build it"


def test_the_ansible_catalogue_is_the_declaration() -> None:
    catalogue = yaml.safe_load((ROOT / VARS_FILE).read_text())
    assert catalogue["dirac_components"] == ansible_catalogue()
    assert catalogue["dirac_layer_files"] == {layer.role: layer.pattern for layer in LAYER_FILES}
    assert [name for name, entry in ansible_catalogue().items() if not entry["singleton"]] == ["Configuration/Server"]


def test_layer_files_are_read_with_their_declared_scope() -> None:
    for layer in LAYER_FILES:
        assert scope_from_filename(Path(layer.file("egi"))) == layer.scope, layer
    assert layer_files("fg") == ["00-shared.cfg", "10-fg.cfg", "90-host.cfg"]


def test_ansible_content_names_only_declared_layer_files() -> None:
    """Roles and playbooks that still spell a layer file out use the declared names."""
    declared = {layer.pattern.partition("-")[0]: layer.pattern for layer in LAYER_FILES}
    spelled = re.compile(r"\b(\d\d)-([^\s/'\"]*?)\.cfg\b")
    for path in [*(ROOT / "roles").rglob("*.yml"), *(ROOT / "playbooks").rglob("*.yml")]:
        for number, rest in spelled.findall(path.read_text()):
            pattern = declared.get(number, "{instance}")  # other numbers: not a layer of the contract
            if "{instance}" not in pattern:
                assert f"{number}-{rest}.cfg" == pattern, f"{path}: {number}-{rest}.cfg is not the declared {pattern}"


def test_every_checked_option_has_a_validator_rule_of_its_kind() -> None:
    rules = {rule.pattern: rule.type.name for rule in OPTION_TYPES}
    kinds = {"int": "integer", "number": "number", "bool": "boolean", "port": "port", "path": "absolute path"}
    kinds["string"] = "string"
    for option in SERVICE_OPTIONS:
        if option.checked:
            assert rules[f"/Systems/*/*/Services/*/{option.name}"] == kinds[option.kind]
    for spec in declared_components().values():
        for option in spec.options:
            path = f"/Systems/{spec.system}/*/Services/{spec.service}/{option.name}"
            assert (rules.get(path) == kinds[option.kind]) is option.checked, path


def test_the_logic_defaults_are_the_declared_ones() -> None:
    """Logic classes keep a default for direct use (tests, bench): it must be the declared one."""
    from dirac_core.accounting.records import MAX_RECORDS
    from dirac_core.catalog.store import DEFAULT_MAX_BULK
    from dirac_core.server.limits import DEFAULT_MAX_REQUEST_SIZE, parse_size
    from dirac_core.wms.job_manager import MAX_PARAMETRIC_JOBS
    from dirac_core.wms.sandbox_store import DEFAULT_MAX_MIB, DEFAULT_SE_NAME

    def default(name: str, option: str) -> str | None:
        return declaration.component_spec(name).option(option).default

    assert default("WorkloadManagement/JobManager", "MaxParametricJobs") == str(MAX_PARAMETRIC_JOBS)
    assert default("WorkloadManagement/SandboxStore", "MaxSandboxSizeMiB") == str(DEFAULT_MAX_MIB)
    assert default("WorkloadManagement/SandboxStore", "LocalSE") == DEFAULT_SE_NAME
    assert default("DataManagement/FileCatalog", "MaxBulkSize") == str(DEFAULT_MAX_BULK)
    assert default("Accounting/DataStore", "MaxRecordsPerCommit") == str(MAX_RECORDS)
    size = next(option for option in SERVICE_OPTIONS if option.name == "MaxRequestSize")
    assert parse_size(str(size.default)) == DEFAULT_MAX_REQUEST_SIZE


def test_docs_option_tables_agree_with_the_declaration() -> None:
    """Any docs table row `| `Systems/<S>/<I>/Services/<Svc>/<Option>` | default | ...` names the declared default."""
    kind = r"(?:(?:int|number|bool|port|path|string) \| )?"  # the generated table has a kind column
    row = re.compile(rf"^\| `/?Systems/(\w+)/<I>/Services/(\w+)/(\w+)` \| {kind}`?([^`|]*?)`? \|", re.MULTILINE)
    checked = 0
    for doc in (ROOT / "docs").glob("*.md"):
        for system, service, name, shown in row.findall(doc.read_text()):
            spec = declared_components().get(f"{system}/{service}")
            assert spec is not None, f"{doc.name}: {system}/{service} is not a declared component"
            option = spec.option(name)
            if option.default is not None:
                assert shown == option.default, f"{doc.name}: {system}/{service}/{name} default {shown!r}"
            checked += 1
    assert checked >= len([o for s in declared_components().values() for o in s.options])
    # docs/runtime.md: `<section>/<Option>` rows name the options any service has.
    section_row = re.compile(r"^\| `<section>/(\w+)` \| `([^`]*)` \|", re.MULTILINE)
    shown_defaults = dict(section_row.findall((ROOT / "docs" / "runtime.md").read_text()))
    assert shown_defaults, "docs/runtime.md: no `<section>/<Option>` rows found"
    for name, shown in shown_defaults.items():
        assert service_option(name).default == shown, f"docs/runtime.md: <section>/{name} default {shown!r}"


def test_the_cfg_layer_template_renders_what_dirac_core_up_writes(tmp_path: Path) -> None:
    """templates/cfg-layer.cfg.j2 without a header is exactly the product's writer output."""
    env = Environment(trim_blocks=True, autoescape=False)  # noqa: S701 - CFG text, not HTML
    env.filters["to_dirac_cfg"] = tree_to_cfg
    template = env.from_string((ROOT / "templates" / "cfg-layer.cfg.j2").read_text())
    data = {"DIRAC": {"Setup": "X", "Flags": [True, "a"], "Unset": None}, "Systems": {"A": {}}}
    assert template.render(item={"data": data}) == tree_to_cfg(data)
    with pytest.raises(ValueError, match="multi-line"):
        tree_to_cfg({"Bad": "a\nb"})


def _with_port(monkeypatch: pytest.MonkeyPatch, name: str, port: int) -> None:
    moved = dataclasses.replace(declaration.component_spec(name), port=port)
    specs = tuple(moved if spec.name == name else spec for spec in declaration.COMPONENTS)
    monkeypatch.setattr(declaration, "COMPONENTS", specs)


def test_changing_a_port_in_the_declaration_moves_it_everywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name, port = "WorkloadManagement/JobManager", 19999
    _with_port(monkeypatch, name, port)

    # The runtime and `dirac-core up`'s dirac.cfg.
    component = all_components()[name]
    assert component.default_port == port
    layout = LocalLayout(tmp_path / "local")
    prepare_credentials(layout)
    local = Config.from_text(local_config_text(layout, [component], {}))
    assert local.get_int("/Systems/WorkloadManagement/Local/Services/JobManager/Port") == port
    assert local.get("/Systems/WorkloadManagement/Local/URLs/JobManager") == f"https://127.0.0.1:{port}/{name}"

    # Ansible: the catalogue file and the dirac_config filters (shared and instance layers).
    assert f"{name}: {{port: {port}," in components_vars_text()
    catalogue = ansible_catalogue()
    filters = _filters()
    shared = Config.from_text(filters["to_dirac_cfg"]({"Systems": filters["dirac_ports_cfg"](catalogue, "Production")}))
    assert shared.get_int("/Systems/WorkloadManagement/Production/Services/JobManager/Port") == port
    placement = {"h1": ["Configuration/Server", name]}
    instance = filters["dirac_instance_cfg"](
        {
            "placement": placement,
            "components": catalogue,
            "fqdns": {"h1": "h1.example.org"},
            "setup": "EGI-Production",
            "system_instance": "Production",
            "cs_master": "h1",
            "refresh_time": 300,
            "db": {"host": "db", "port": 3306, "prefix": "egi_", "user": "dirac_egi"},
            "host_dns": {"h1": "/CN=h1"},
            "host_properties": ["TrustedHost"],
        }
    )
    urls = Config.from_text(filters["to_dirac_cfg"](instance))
    assert urls.get("/Systems/WorkloadManagement/Production/URLs/JobManager") == f"https://h1.example.org:{port}/{name}"

    # The repository copies are now stale, and the check says which.
    assert stale_files(ROOT) == [VARS_FILE, "docs/architecture.md (ports)"]


def test_the_filter_plugin_is_a_shim_over_dirac_core() -> None:
    """No CFG writing or layer generation of its own: each such filter is the product's function."""
    filters = _filters()
    for name in ("to_dirac_cfg", "dirac_instance_cfg", "dirac_ports_cfg", "dirac_host_systems_cfg", "dirac_cfg_pick"):
        assert filters[name].__module__.startswith("dirac_core."), name


def test_the_client_bulk_chunk_fits_the_declared_copy_limit() -> None:
    """`dirac jobs submit --bulk N` sends BULK_CHUNK copies a request: the default limit must take them
    (a default below it broke every bulk submission of more than the limit, e.g. the lab's load)."""
    from dirac_core.client.jobs import BULK_CHUNK
    from dirac_core.contract.components import component_spec
    from dirac_core.wms.job_manager import MAX_JOB_COPIES

    declared = component_spec("WorkloadManagement/JobManager").option("MaxJobCopies").default
    assert declared is not None
    assert BULK_CHUNK <= int(declared) == MAX_JOB_COPIES
