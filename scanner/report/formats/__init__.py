"""Output formats: a registry of name -> "module:function" resolved on first use, plus entry points.

A format is a pure function ``render(report: Report, options: FormatOptions) -> str``. Third parties add one by
declaring an entry point in the ``credsweep.formats`` group.
"""

from __future__ import annotations

import importlib

from scanner.report.formats.base import FormatOptions, Renderer

BUILTIN: dict[str, str] = {
    "text": "scanner.report.formats.text:render",
    "json": "scanner.report.formats.jsonfmt:render",
    "sarif": "scanner.report.formats.sarif:render",
    "html": "scanner.report.formats.html:render",
    "markdown": "scanner.report.formats.markdown:render",
}

__all__ = ["BUILTIN", "FormatOptions", "Renderer", "get", "names"]


def names() -> list[str]:
    """Every format name, built-in first."""
    from importlib.metadata import entry_points

    extra = [ep.name for ep in entry_points(group="credsweep.formats") if ep.name not in BUILTIN]
    return list(BUILTIN) + sorted(extra)


def get(name: str) -> Renderer:
    """The render function of a format."""
    target = BUILTIN.get(name)
    if target is None:
        from importlib.metadata import entry_points

        for ep in entry_points(group="credsweep.formats"):
            if ep.name == name:
                return ep.load()  # type: ignore[no-any-return]
        raise KeyError(name)
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
