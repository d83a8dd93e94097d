"""DIRAC Accounting logic: record validation, bucketing, reports and plots over AccountingDB.

The record types themselves (key and value fields) are core: `dirac_core.accounting_types`.
"""
