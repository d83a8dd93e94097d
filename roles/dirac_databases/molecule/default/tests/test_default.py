"""testinfra checks of dirac_databases on the molecule host."""

from __future__ import annotations


def test_instance_user_has_only_its_databases(host):
    grants = host.run("mariadb -N -e \"SHOW GRANTS FOR 'dirac_egi'@'%'\"").stdout
    assert "`egi\\_JobDB`.*" in grants or "`egi_JobDB`.*" in grants
    assert "*.*" not in grants.replace("GRANT USAGE ON *.*", "")
    dbs = host.run("mariadb -N -e 'SHOW DATABASES'").stdout.split()
    assert "egi_JobDB" in dbs and "egi_PilotAgentsDB" in dbs


def test_password_file_is_private(host):
    f = host.file("/opt/dirac/etc/secrets/db.password")
    assert f.mode == 0o600 and f.user == "dirac"


def test_schemas_at_head(host):
    out = host.run("su dirac -s /bin/sh -c '. /opt/dirac/bashrc; dirac-core db status'")
    assert out.rc == 0, out.stderr
    assert "JobDB" in out.stdout
