"""templates/ is rendered by Ansible with the dirac_config filters, which import dirac_core on the controller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dirac_core.config.tree import tree_to_cfg

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

PLAY = """\
- name: Render the shared CFG layer template as dirac_config does
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Write the layer
      ansible.builtin.template:
        src: "{{ template }}"
        dest: "{{ out }}"
        mode: "0644"
      vars:
        item: {comment: "Shared layer.", data: "{{ data }}"}
"""


def test_ansible_renders_the_cfg_layer_template_with_the_products_writer(tmp_path: Path) -> None:
    play = tmp_path / "render.yml"
    play.write_text(PLAY)
    out = tmp_path / "00-shared.cfg"
    data = {"Systems": {"Configuration": {"Production": {"Services": {"Server": {"Port": 9135}}}}}, "On": True}
    extra = {"template": str(ROOT / "templates" / "cfg-layer.cfg.j2"), "out": str(out), "data": data}
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_FILTER_PLUGINS": str(ROOT / "roles" / "dirac_config" / "filter_plugins"),
    }
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(play), "-e", json.dumps(extra)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert out.read_text() == "#\n# Ansible managed\n#\n# Shared layer.\n" + tree_to_cfg(data)
