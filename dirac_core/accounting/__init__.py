"""DIRAC Accounting: record types, validation, bucketing, reports and plots over AccountingDB."""
