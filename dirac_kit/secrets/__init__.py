"""`dirac-kit secrets`: the vaulted variables an inventory needs, generated (kolla-genpwd style)."""
