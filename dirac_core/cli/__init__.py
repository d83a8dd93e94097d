"""Every command of `dirac` (users) and `dirac-core` (servers and admins): the top layer, click only.

`user.py` and `admin.py` assemble the two commands from the modules here (`server` serve/up/test-idp,
`token`, `certs`, `pilot`, `db*`, `config`, `jobs`, `fc`, `accounting`, `login`).
"""
