"""A complete instance on one machine: CA, host certificate, token key and a generated dirac.cfg.

Used by ``dirac-core up`` (the embedded default for newcomers) and by ``tests/support/instance.py``.
Every System runs instance ``Local`` of setup ``DIRAC-Local``; databases are SQLite files unless
other URLs are given; the Registry holds a small, documented set of users, groups and hosts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from dirac_core.auth.caller import Properties
from dirac_core.auth.tokens import generate_signing_key
from dirac_core.config.tree import merge_trees, tree_to_cfg
from dirac_core.contract.instance import service_url, setups_section
from dirac_core.services.component import Component
from dirac_core.x509.certs import (
    create_ca,
    dirac_dn,
    issue_host_certificate,
    issue_user_certificate,
    load_certificate,
    load_private_key,
    write_certificate,
    write_private_key,
)

SETUP = "DIRAC-Local"
INSTANCE = "Local"
VO = "dirac_local"
IDP_NAME = "TestIdP"
HOST_NAME = "localhost"
PILOT_HOST = "pilot.localhost"

# DIRAC user name -> (identity provider subject, groups). The test IdP knows the same users.
USERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "alice": ("sub-alice", ("dirac_user",)),
    "bob": ("sub-bob", ("dirac_user",)),
    "admin": ("sub-admin", ("dirac_admin", "dirac_user")),
    "pilot": ("sub-pilot", ("dirac_pilot",)),
}
GROUPS: dict[str, tuple[str, ...]] = {
    "dirac_user": (Properties.NORMAL_USER,),
    "dirac_admin": (
        Properties.NORMAL_USER,
        Properties.JOB_ADMINISTRATOR,
        Properties.SERVICE_ADMINISTRATOR,
        Properties.CS_ADMINISTRATOR,
        Properties.FILE_CATALOG_MANAGEMENT,
    ),
    "dirac_pilot": (Properties.GENERIC_PILOT, Properties.JOB_SHARING),
}
HOST_PROPERTIES = (Properties.TRUSTED_HOST, Properties.SERVICE_ADMINISTRATOR, Properties.CS_ADMINISTRATOR)
PILOT_HOST_PROPERTIES = (Properties.GENERIC_PILOT,)


@dataclass(frozen=True)
class LocalLayout:
    """Files of a local instance under `root` (keys are 0600)."""

    root: Path

    @property
    def certs(self) -> Path:
        return self.root / "certs"

    @property
    def ca_cert(self) -> Path:
        return self.certs / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.certs / "ca.key"

    @property
    def host_cert(self) -> Path:
        return self.certs / "hostcert.pem"

    @property
    def host_key(self) -> Path:
        return self.certs / "hostkey.pem"

    @property
    def token_key(self) -> Path:
        return self.certs / "token-signing.key"

    @property
    def cfg_file(self) -> Path:
        return self.root / "dirac.cfg"

    @property
    def db_dir(self) -> Path:
        return self.root / "db"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    def user_cert(self, user: str) -> tuple[Path, Path]:
        return self.certs / "users" / user / "usercert.pem", self.certs / "users" / user / "userkey.pem"

    def extra_host_cert(self, host: str) -> tuple[Path, Path]:
        return self.certs / "hosts" / host / "hostcert.pem", self.certs / "hosts" / host / "hostkey.pem"


def prepare_credentials(layout: LocalLayout, *, ips: tuple[str, ...] = ("127.0.0.1",)) -> None:
    """CA, localhost host cert, pilot host cert, user certs and the token key; existing files are kept."""
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.log_dir.mkdir(exist_ok=True)
    if not layout.ca_cert.exists():
        new_ca_cert, new_ca_key = create_ca("dirac_core local CA")
        write_private_key(layout.ca_key, new_ca_key)
        write_certificate(layout.ca_cert, new_ca_cert)
    ca_cert = load_certificate(layout.ca_cert)
    ca_key = load_private_key(layout.ca_key)
    if not layout.host_cert.exists():
        cert, key = issue_host_certificate(ca_cert, ca_key, HOST_NAME, ips=ips)
        write_private_key(layout.host_key, key)
        write_certificate(layout.host_cert, cert)
    pilot_cert, pilot_key = layout.extra_host_cert(PILOT_HOST)
    if not pilot_cert.exists():
        cert, key = issue_host_certificate(ca_cert, ca_key, PILOT_HOST)
        write_private_key(pilot_key, key)
        write_certificate(pilot_cert, cert)
    for user in USERS:
        cert_path, key_path = layout.user_cert(user)
        if not cert_path.exists():
            cert, key = issue_user_certificate(ca_cert, ca_key, user, email=f"{user}@example.org")
            write_private_key(key_path, key)
            write_certificate(cert_path, cert)
    if not layout.token_key.exists():
        generate_signing_key(layout.token_key)


def registry_tree(layout: LocalLayout) -> dict[str, Any]:
    users = {}
    for user, (subject, _groups) in USERS.items():
        cert_path, _ = layout.user_cert(user)
        users[user] = {
            "DN": dirac_dn(load_certificate(cert_path).subject),
            "Email": f"{user}@example.org",
            "ID": subject,
        }
    groups = {
        group: {
            "Users": sorted(u for u, (_s, gs) in USERS.items() if group in gs),
            "Properties": list(props),
            "VO": VO,
        }
        for group, props in GROUPS.items()
    }
    pilot_cert, _ = layout.extra_host_cert(PILOT_HOST)
    hosts = {
        HOST_NAME: {"DN": dirac_dn(load_certificate(layout.host_cert).subject), "Properties": list(HOST_PROPERTIES)},
        PILOT_HOST: {"DN": dirac_dn(load_certificate(pilot_cert).subject), "Properties": list(PILOT_HOST_PROPERTIES)},
    }
    return {
        "Users": users,
        "Groups": groups,
        "Hosts": hosts,
        "VO": {VO: {"VOAdmin": "admin"}},
        "DefaultGroup": ["dirac_user"],
    }


def local_config_text(
    layout: LocalLayout,
    components: Iterable[Component],
    ports: Mapping[str, int],
    *,
    host: str = "127.0.0.1",
    db_urls: Mapping[tuple[str, str], str | URL] | None = None,
    idp_url: str | None = None,
    extra: Mapping[str, Any] | None = None,
    diset_ports: Mapping[str, int] | None = None,
) -> str:
    """The dirac.cfg of a local instance: security, setup, services, URLs, databases, Registry."""
    components = list(components)
    systems: dict[str, Any] = {}
    for component in components:
        system = systems.setdefault(component.system, {INSTANCE: {"Services": {}, "URLs": {}, "Databases": {}}})[
            INSTANCE
        ]
        port = ports.get(component.name, component.default_port)
        data_dir = layout.root / "data" / component.name.replace("/", "_")
        system["Services"][component.service] = {"Port": port, "Host": host, "DataDir": str(data_dir)}
        if diset_ports and component.name in diset_ports:
            system["Services"][component.service]["DisetPort"] = diset_ports[component.name]
        system["URLs"][component.service] = service_url(host, port, component.name)
        for db_system, db_name in component.databases:
            db_section = systems.setdefault(db_system, {INSTANCE: {"Services": {}, "URLs": {}, "Databases": {}}})[
                INSTANCE
            ]["Databases"]
            url = (db_urls or {}).get((db_system, db_name)) or f"sqlite:///{layout.db_dir / db_name}.sqlite"
            if isinstance(url, URL):  # test databases (root, empty password): keep the password in the URL
                url = url.render_as_string(hide_password=False)
            db_section[db_name] = {"URL": url}
    setups = setups_section({*systems, "Framework", "Configuration"}, INSTANCE)
    tree: dict[str, Any] = {
        "DIRAC": {
            "Setup": SETUP,
            "VirtualOrganization": VO,
            "Setups": {SETUP: setups},
            "Security": {
                "CertFile": str(layout.host_cert),
                "KeyFile": str(layout.host_key),
                "CAFile": str(layout.ca_cert),
                "Authorization": {"TokenKeyFile": str(layout.token_key)},
            },
        },
        "Systems": systems,
        "Registry": registry_tree(layout),
    }
    if "Configuration/Server" in ports or any(c.name == "Configuration/Server" for c in components):
        # The only Configuration Server of a local instance is its master; its data lives in the state dir.
        cs_url = systems["Configuration"][INSTANCE]["URLs"]["Server"]
        tree["DIRAC"]["Configuration"] = {"Name": SETUP, "Master": "yes", "Servers": cs_url}
        systems["Configuration"][INSTANCE]["Services"]["Server"]["DataDir"] = str(layout.root / "csdata")
    if idp_url:
        tree["Resources"] = {
            "IdProviders": {IDP_NAME: {"Issuer": idp_url, "ClientID": "dirac-core", "CAFile": str(layout.ca_cert)}}
        }
    services = {
        f"{sys}/{name}": opts for sys, body in systems.items() for name, opts in body[INSTANCE]["Services"].items()
    }
    if "DataManagement/FileCatalog" in services and "Accounting/DataStore" in services:
        # Catalog operations become DataOperation accounting records (docs/accounting.md).
        services["DataManagement/FileCatalog"]["OperationRecorder"] = (
            "dirac_core.services.catalog_recorder:catalog_recorder"
        )
    if extra:
        tree = merge_trees(tree, extra)
    return tree_to_cfg(tree)
