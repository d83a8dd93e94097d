"""testinfra checks of dirac_mariadb on the molecule host."""

from __future__ import annotations


def test_mariadb_runs_with_gtid_binlog(host):
    assert host.service("mariadb").is_running and host.service("mariadb").is_enabled
    out = host.run('mariadb -N -e "SELECT @@log_bin, @@binlog_format, @@gtid_strict_mode, @@server_id"').stdout.split()
    assert out == ["1", "ROW", "1", "7"]


def test_root_only_by_socket(host):
    assert host.run("mariadb -uroot -h127.0.0.1 -e 'SELECT 1'").rc != 0
    users = host.run("mariadb -N -e \"SELECT CONCAT(user,'@',host) FROM mysql.user WHERE user IN ('root','')\"").stdout
    assert users.split() == ["root@localhost"]
