"""testinfra checks of dirac_config on the molecule host."""

from __future__ import annotations


def test_layers_rendered_and_valid(host):
    layers = "/opt/dirac/etc/layers"
    for name in ["00-shared.cfg", "10-egi.cfg", "90-host.cfg"]:
        assert host.file(f"{layers}/{name}").exists, name
    assert host.file(f"{layers}/90-host.cfg").contains("Master = yes")
    assert host.file(f"{layers}/10-egi.cfg").contains("https://mol-dirac.lab:9135/Configuration/Server")
    assert not host.file(f"{layers}/10-egi.cfg").contains("PasswordFile")
    assert host.run(f"/opt/dirac/pro/bin/dirac-core config validate --layers {layers}").rc == 0
    assert host.file("/opt/dirac/etc/dirac.cfg").linked_to.endswith("layers/90-host.cfg")
