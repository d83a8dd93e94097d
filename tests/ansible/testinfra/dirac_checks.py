"""Testinfra checks of what the DIRAC roles leave on a host, shared by every molecule scenario.

Each ``check_*`` takes a testinfra ``host`` (any backend: molecule's docker connection, or SSH to
lab hosts with ``--hosts=ansible://...``) and the facts it checks against, and fails with a message
that names the host, the file or unit, and what was expected. They read (commands, files,
queries); the one write is a probe database created and dropped when a fresh server has no GTID yet.

Not collected by pytest on its own (no ``test_`` prefix): the scenarios' ``tests/test_<role>.py``
call them.
"""

from __future__ import annotations

import json
import re
from typing import Any

ROOT = "/opt/dirac"
USER = "dirac"
CERTS = f"{ROOT}/etc/grid-security"
BUNDLE = f"{CERTS}/certificates/dirac-ca-bundle.pem"
SOCKET = "/run/mysqld/mysqld.sock"


def _name(host: Any) -> str:
    return str(host.backend.get_hostname())


def _run(host: Any, command: str, *args: str) -> str:
    """Run a command on the host; fail with its stderr when it does not exit 0."""
    result = host.run(command, *args)
    assert result.rc == 0, f"{_name(host)}: `{result.command}` exited {result.rc}: {result.stderr.strip()}"
    return str(result.stdout)


def _sql(host: Any, query: str) -> list[list[str]]:
    """Rows of a query run as root through the server's unix socket (the only way root gets in)."""
    out = _run(host, "mariadb --protocol=socket -S %s -N -B -e %s", SOCKET, query)
    return [line.split("\t") for line in out.splitlines() if line]


# --- dirac_common -------------------------------------------------------------------------------


def check_common(host: Any, user: str = USER, root: str = ROOT) -> None:
    """The dirac user, DIRAC's layout, pro -> versions/<release>, a venv that imports dirac_core."""
    account = host.user(user)
    assert account.exists, f"{_name(host)}: no user {user}"
    assert account.home == root, f"{_name(host)}: {user}'s home is {account.home}, expected {root}"
    for sub in ("etc", "startup", "runit", "control", "storage/sandboxes", "etc/layers"):
        d = host.file(f"{root}/{sub}")
        assert d.is_directory, f"{_name(host)}: {root}/{sub} is missing"
        assert d.user == user, f"{_name(host)}: {root}/{sub} belongs to {d.user}, expected {user}"
    secrets = host.file(f"{root}/etc/secrets")
    assert secrets.is_directory and secrets.mode == 0o700, f"{_name(host)}: {root}/etc/secrets must be a 0700 directory"
    versions = host.file(f"{root}/versions")
    assert versions.user == "root", f"{_name(host)}: {root}/versions must belong to root (code is not the service's)"
    pro = host.file(f"{root}/pro")
    assert pro.is_symlink, f"{_name(host)}: {root}/pro is not a symlink"
    target = pro.linked_to
    assert target.startswith(f"{root}/versions/"), f"{_name(host)}: pro points at {target}, not under versions/"
    assert host.file(f"{target}/.installed").exists, f"{_name(host)}: release {target} has no .installed marker"
    bashrc = host.file(f"{root}/bashrc")
    assert bashrc.contains(f"{root}/pro/bin"), f"{_name(host)}: bashrc does not put pro/bin on PATH"
    probe = "import dirac_core, os, sys; print(os.path.realpath(dirac_core.__file__), os.path.realpath(sys.prefix))"
    out = _run(host, "runuser -u %s -- %s/pro/bin/python -c %s", user, root, probe)
    module, prefix = out.split()
    assert module.startswith(f"{root}/versions/"), f"{_name(host)}: dirac_core imported from {module}, not the release"
    assert prefix.startswith(f"{root}/versions/"), f"{_name(host)}: pro/bin/python runs outside the release venv"


# --- dirac_certs --------------------------------------------------------------------------------


def check_certs(host: Any, fqdn: str, user: str = USER, certs: str = CERTS) -> None:
    """Host key 0600 owned by the user, certificate SANs = FQDN + short name, chained to the bundle."""
    key = host.file(f"{certs}/hostkey.pem")
    assert key.exists, f"{_name(host)}: {certs}/hostkey.pem is missing"
    assert key.mode == 0o600, f"{_name(host)}: hostkey.pem has mode {key.mode:o}, expected 600"
    assert key.user == user, f"{_name(host)}: hostkey.pem belongs to {key.user}, expected {user}"
    cert = f"{certs}/hostcert.pem"
    sans = _run(host, "openssl x509 -in %s -noout -ext subjectAltName", cert)
    names = set(re.findall(r"DNS:([^,\s]+)", sans))
    expected = {fqdn, fqdn.split(".")[0]}
    assert expected <= names, f"{_name(host)}: hostcert.pem SANs {sorted(names)} lack {sorted(expected - names)}"
    bundle = host.file(f"{certs}/certificates/dirac-ca-bundle.pem")
    assert bundle.exists and bundle.contains("BEGIN CERTIFICATE"), f"{_name(host)}: trust bundle missing or empty"
    _run(host, "openssl verify -CAfile %s %s", bundle.path, cert)
    # The certificate and the key belong together.
    cert_pub = _run(host, "openssl x509 -in %s -noout -pubkey", cert)
    key_pub = _run(host, "openssl pkey -in %s -pubout", key.path)
    assert cert_pub == key_pub, f"{_name(host)}: hostcert.pem and hostkey.pem do not match"


# --- dirac_mariadb ------------------------------------------------------------------------------


def check_mariadb_binlog_gtid(host: Any) -> None:
    """The server runs at boot with the binary log on, ROW format, GTID strict mode, a server id."""
    service = host.service("mariadb")
    assert service.is_enabled and service.is_running, f"{_name(host)}: mariadb must be enabled and running"
    [[log_bin, strict, fmt, server_id, slave_updates]] = _sql(
        host, "SELECT @@log_bin, @@gtid_strict_mode, @@binlog_format, @@server_id, @@log_slave_updates"
    )
    assert log_bin == "1", f"{_name(host)}: binary log is off (log_bin={log_bin})"
    assert strict == "1", f"{_name(host)}: gtid_strict_mode is off"
    assert fmt == "ROW", f"{_name(host)}: binlog_format is {fmt}, expected ROW"
    assert int(server_id) > 0, f"{_name(host)}: server_id is {server_id}"
    assert slave_updates == "1", f"{_name(host)}: log_slave_updates is off (a replica would not log what it applies)"
    # A write gets a GTID in this server's binlog (a fresh server has none yet: make one).
    if not _sql(host, "SELECT @@gtid_binlog_pos")[0:1]:
        _sql(host, "CREATE DATABASE IF NOT EXISTS dirac_gtid_probe; DROP DATABASE dirac_gtid_probe")
    [[pos]] = _sql(host, "SELECT @@gtid_binlog_pos") or [[""]]
    assert re.fullmatch(r"(\d+-\d+-\d+,?)+", pos), f"{_name(host)}: no GTID in the binlog after a write ({pos!r})"


def check_mariadb_root_only_by_socket(host: Any) -> None:
    """root exists only as root@localhost, authenticates by unix_socket, and TCP logins as root fail."""
    accounts = sorted(f"{u}@{h}" for u, h in _sql(host, "SELECT User, Host FROM mysql.global_priv WHERE User='root'"))
    assert accounts == ["root@localhost"], f"{_name(host)}: root accounts {accounts}, expected only root@localhost"
    [[priv]] = _sql(host, "SELECT Priv FROM mysql.global_priv WHERE User='root' AND Host='localhost'")
    plugins = json.dumps(json.loads(priv))
    assert "unix_socket" in plugins, f"{_name(host)}: root@localhost does not use unix_socket ({plugins})"
    anonymous = _sql(host, "SELECT Host FROM mysql.global_priv WHERE User=''")
    assert anonymous == [], f"{_name(host)}: anonymous accounts remain: {anonymous}"
    for address in ("127.0.0.1", _run(host, "hostname -i").split()[0]):
        result = host.run("mariadb --protocol=tcp -h %s -u root -N -e %s", address, "SELECT 1")
        assert result.rc != 0, f"{_name(host)}: root logged in over TCP to {address} without a password"


# --- dirac_db_migrate ---------------------------------------------------------------------------


def check_migrated(host: Any, source: str, target: str) -> None:
    """Every table of ``source`` is in ``target`` with the same rows (compared as sorted row dumps)."""
    listing = "SELECT table_name FROM information_schema.tables WHERE table_schema='{}'"
    tables = sorted(t for [t] in _sql(host, listing.format(source)))
    copied = sorted(t for [t] in _sql(host, listing.format(target)))
    assert tables and copied == tables, f"{_name(host)}: {target} has tables {copied}, {source} has {tables}"
    for table in tables:
        rows = sorted(map(tuple, _sql(host, f"SELECT * FROM `{source}`.`{table}`")))
        got = sorted(map(tuple, _sql(host, f"SELECT * FROM `{target}`.`{table}`")))
        assert got == rows, f"{_name(host)}: {target}.{table} holds {got}, {source}.{table} holds {rows}"


def check_migration_workdir(host: Any, workdir: str) -> None:
    """The engine's work directory is root's 0700, its password files 0600, and the cutover is done."""
    folder = host.file(workdir)
    assert folder.is_directory and folder.user == "root" and folder.mode == 0o700, (
        f"{_name(host)}: {workdir} must be a 0700 directory of root (mode {oct(folder.mode)}, owner {folder.user})"
    )
    for side in ("source", "target"):
        secret = host.file(f"{workdir}/{side}.password")
        assert secret.exists and secret.mode == 0o600, f"{_name(host)}: {secret.path} must exist with mode 0600"
    state = json.loads(_run(host, "cat %s", f"{workdir}/state/cutover/cutover.json"))
    assert state.get("phase") == "done", f"{_name(host)}: cutover phase {state.get('phase')!r}, expected 'done'"


# --- dirac_databases ----------------------------------------------------------------------------


def check_db_user_grants(host: Any, user: str, databases: list[str], others: list[str] | None = None) -> None:
    """On the DB host: ``user`` has ALL on exactly ``databases`` and nothing global; ``others`` exist apart."""
    grants = [row[0] for row in _sql(host, f"SHOW GRANTS FOR '{user}'@'%'")]
    granted = set()
    for grant in grants:
        m = re.match(r"GRANT (.+) ON (\S+) TO ", grant)
        assert m, f"{_name(host)}: unexpected grant line {grant!r}"
        privileges, target = m.groups()
        if target == "*.*":
            assert privileges == "USAGE", f"{_name(host)}: {user} has global privileges: {grant}"
            continue
        db = target.split(".")[0].strip("`").replace("\\_", "_")
        assert privileges == "ALL PRIVILEGES", f"{_name(host)}: {user} on {db}: {privileges}, expected ALL PRIVILEGES"
        granted.add(db)
    assert granted == set(databases), (
        f"{_name(host)}: {user} may use {sorted(granted)}, expected exactly {sorted(databases)}"
    )
    present = {row[0] for row in _sql(host, "SHOW DATABASES")}
    missing = set(databases) - present
    assert not missing, f"{_name(host)}: databases {sorted(missing)} do not exist"
    for other in others or []:
        assert other not in granted, f"{_name(host)}: {user} was granted another instance's database {other}"


def check_db_user_login(host: Any, db_address: str, user: str, databases: list[str]) -> None:
    """On a service host: the password file (0600, dirac) lets ``user`` in over TCP and shows only its DBs."""
    pwfile = host.file(f"{ROOT}/etc/secrets/db.password")
    assert pwfile.exists and pwfile.mode == 0o600, f"{_name(host)}: {pwfile.path} missing or not 0600"
    assert pwfile.user == USER, f"{_name(host)}: {pwfile.path} belongs to {pwfile.user}, expected {USER}"
    out = _run(
        host,
        "MYSQL_PWD=$(cat %s) mariadb --protocol=tcp -h %s -u %s -N -B -e %s",
        pwfile.path,
        db_address,
        user,
        "SHOW DATABASES",
    )
    visible = {line for line in out.split() if line != "information_schema"}
    assert visible == set(databases), f"{_name(host)}: {user} sees {sorted(visible)}, expected {sorted(databases)}"


def check_schemas(host: Any, databases: list[str]) -> None:
    """On the DB host: each database holds tables (``dirac-core db init`` created its schema)."""
    for db in databases:
        [[count]] = _sql(host, f"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='{db}'")
        assert int(count) > 0, f"{_name(host)}: database {db} has no tables (schema not created)"


# --- dirac_config -------------------------------------------------------------------------------


def check_config_layers(host: Any, instance: str, setup: str, master: bool) -> None:
    """The three CFG layers are there, dirac.cfg is the host layer, and dirac-core validates the merge."""
    layers = f"{ROOT}/etc/layers"
    for name in ("00-shared.cfg", f"10-{instance}.cfg", "90-host.cfg"):
        f = host.file(f"{layers}/{name}")
        assert f.exists, f"{_name(host)}: {layers}/{name} is missing"
        assert f.user == USER, f"{_name(host)}: {name} belongs to {f.user}, expected {USER}"
    assert host.file(f"{layers}/10-{instance}.cfg").contains(setup), f"{_name(host)}: instance layer lacks {setup}"
    local = host.file(f"{ROOT}/etc/dirac.cfg")
    linked = local.is_symlink and local.linked_to == f"{layers}/90-host.cfg"
    assert linked, f"{_name(host)}: etc/dirac.cfg must link to 90-host.cfg"
    host_layer = local.content_string
    assert re.search(rf"Master\s*=\s*{'(yes|true|True)' if master else '(no|false|False)'}", host_layer), (
        f"{_name(host)}: 90-host.cfg does not say Master = {master}"
    )
    _run(host, "runuser -u %s -- %s/pro/bin/dirac-core config validate --layers %s", USER, ROOT, layers)


def _https(host: Any, url: str, client_cert: bool = False) -> str:
    """GET over TLS from the host itself, verifying the server against the trust bundle only."""
    cert = ["--cert", f"{CERTS}/hostcert.pem", "--key", f"{CERTS}/hostkey.pem"] if client_cert else []
    return _run(host, "curl -sS --fail --max-time 20 --cacert %s " + " ".join(["%s"] * len(cert)) + " %s",
                BUNDLE, *cert, url)  # fmt: skip


def check_cs_answers(host: Any, fqdn: str, master: bool, port: int = 9135) -> None:
    """The Configuration Server answers over TLS (CA-verified) with its version and master flag."""
    body = json.loads(_https(host, f"https://{fqdn}:{port}/api/Configuration/Server/version", client_cert=True))
    assert body.get("master") is master, f"{_name(host)}: CS on {fqdn}:{port} says master={body.get('master')}"
    assert body.get("version"), f"{_name(host)}: CS on {fqdn}:{port} has no version: {body}"


# --- dirac_services -----------------------------------------------------------------------------


def unit_name(instance: str, component: str) -> str:
    return f"dirac-{instance}-{component.replace('/', '_')}.service"


def check_services(host: Any, instance: str, fqdn: str, components: dict[str, int]) -> None:
    """Each placed component's unit is enabled and active, and answers /health over CA-verified TLS."""
    target = host.service("dirac.target")
    assert target.is_enabled, f"{_name(host)}: dirac.target is not enabled"
    for component, port in components.items():
        unit = unit_name(instance, component)
        service = host.service(unit)
        assert service.is_enabled, f"{_name(host)}: {unit} is not enabled"
        assert service.is_running, f"{_name(host)}: {unit} is not active"
        user = _run(host, "systemctl show -p User --value %s", unit).strip()
        assert user == USER, f"{_name(host)}: {unit} runs as {user!r}, expected {USER}"
        health = json.loads(_https(host, f"https://{fqdn}:{port}/health"))
        assert health, f"{_name(host)}: {component} /health on port {port} answered nothing"
