"""testinfra checks of dirac_common on the molecule host."""

from __future__ import annotations


def test_dirac_user_and_layout(host):
    assert host.user("dirac").exists
    for path in ["versions", "etc/layers", "startup", "runit", "control", "storage/sandboxes", "bashrc"]:
        assert host.file(f"/opt/dirac/{path}").exists, path
    assert host.file("/opt/dirac/etc/secrets").mode == 0o700


def test_pro_points_at_an_installed_release(host):
    pro = host.file("/opt/dirac/pro")
    assert pro.is_symlink
    assert host.file(f"/opt/dirac/{pro.linked_to.split('/opt/dirac/')[-1]}/.installed").exists
    assert host.run("/opt/dirac/pro/bin/dirac-core --version").rc == 0
    assert host.file("/opt/dirac/versions").user == "root"
