"""The lab's own SSH key (ed25519, 0600), made once under var/lab/ and put on every lab host."""

from __future__ import annotations

import subprocess
from pathlib import Path


def ensure_key(key: Path) -> str:
    """Create the key pair if missing; return the public key line."""
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dirac-kit-lab", "-f", str(key)],
            check=True,
        )
    key.chmod(0o600)
    return key.with_suffix(".pub").read_text().strip()
