"""dirac_core: a DIRAC-style Workload Management, File Catalog and Accounting system."""

__version__ = "1.1.0"
