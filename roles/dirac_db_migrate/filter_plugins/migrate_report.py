"""Jinja2 filters over engine reports: `dirac_report_failures` (tables/chunks that did not verify) and
`dirac_report_freeze` (the freeze window in seconds).

The report of `dirac-core db migrate` nests databases, tables and chunks; every level carries a
status. This walks whatever nesting it finds so the role does not break when the report grows.
"""

from __future__ import annotations

from typing import Any

_FAILED = {"FAIL", "FAILED", "ERROR"}
_NAME_KEYS = ("database", "db", "table", "name", "chunk", "index", "range", "key_range")


def _label(node: dict[str, Any], trail: tuple[str, ...]) -> tuple[str, ...]:
    parts = [str(node[key]) for key in _NAME_KEYS if key in node and isinstance(node[key], str | int)]
    return trail + tuple(p for p in parts if p not in trail)


def _walk(node: Any, trail: tuple[str, ...], out: list[str]) -> None:
    if isinstance(node, dict):
        here = _label(node, trail)
        status = str(node.get("verdict", node.get("status", node.get("result", "")))).upper()
        if node.get("error"):
            status = "ERROR"
        children = [v for v in node.values() if isinstance(v, dict | list)]
        before = len(out)
        for child in children:
            _walk(child, here, out)
        # Name the deepest failing level only: a failing chunk already names its table.
        if status in _FAILED and len(out) == before:
            out.append(".".join(here) or "(unnamed)")
    elif isinstance(node, list):
        for item in node:
            _walk(item, trail, out)


def dirac_report_failures(report: Any) -> list[str]:
    out: list[str] = []
    if isinstance(report, dict):
        for key, value in report.items():
            if isinstance(value, dict | list) and key not in {"summary", "totals", "failures"}:
                _walk(value, (), out)
    return sorted(set(out))


def dirac_report_freeze(report: Any) -> float | None:
    """The write-freeze window in seconds the report states (first numeric `freeze*seconds` key)."""
    if isinstance(report, dict):
        for key, value in report.items():
            if "freeze" in key and "second" in key and isinstance(value, int | float):
                return float(value)
        for value in report.values():
            found = dirac_report_freeze(value)
            if found is not None:
                return found
    elif isinstance(report, list):
        for item in report:
            found = dirac_report_freeze(item)
            if found is not None:
                return found
    return None


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"dirac_report_failures": dirac_report_failures, "dirac_report_freeze": dirac_report_freeze}
