"""dirac_core: a DIRAC-style Workload Management, File Catalog and Accounting system.

Packages import only downward (docs/architecture.md; the import-linter contract in pyproject.toml):
core (`errors`, `config`, `plugins`, `jdl`, `accounting_types`, `jencode`, `tarsafe`) -> `db` -> `x509`
-> `auth` -> `client` -> logic (`wms`, `catalog`, `accounting`, `cs`, `dbmigrate`) -> `services` ->
`server` and `pilot` -> `cli`.
"""

__version__ = "1.1.0"
