"""The quarterly credential review as one self-contained HTML file.

Rendered from ``templates/report.html.j2`` with autoescaping. CSS, JavaScript and SVG are inline, and a
Content-Security-Policy meta tag allows exactly that inline style and script (by SHA-256 hash) and nothing else:
no network requests, no inline event handlers, works offline and under a strict CSP. Content never becomes markup:
every expression is escaped (control and bidi characters by ``safetext.display``, then HTML by autoescape), no
content-derived value is marked safe, and no content goes into an ``href``, ``src`` or ``style``.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC
from importlib import resources
from typing import Any

from scanner.model import Report, Severity
from scanner.report.formats import review as review_mod
from scanner.report.formats.base import FormatOptions
from scanner.safetext import display


def csp_hash(text: str) -> str:
    """The CSP source expression for an inline block with exactly this text."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _asset(name: str) -> str:
    text = resources.files("scanner.templates").joinpath(name).read_text(encoding="utf-8")
    tag = "</style" if name.endswith(".css") else "</script"
    if tag in text.lower():
        raise ValueError(f"{name} must not contain {tag}")
    return text


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{round(100 * share)}%"


def _shown(value: Any) -> Any:
    """Every ``{{ expression }}`` of the templates: content strings with control, bidi and invisible characters
    as visible escapes (``safetext.display``), before autoescaping. Our own markup (Markup) is left alone."""
    from markupsafe import Markup

    if isinstance(value, str) and not isinstance(value, Markup):
        return display(value)
    return value


def render(report: Report, options: FormatOptions) -> str:
    """The HTML review."""
    import jinja2
    from markupsafe import Markup

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("scanner.templates", "."),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        finalize=_shown,
    )
    css, js = _asset("report.css"), _asset("report.js")
    rev = review_mod.build(report, options.compare, options.history)
    context: dict[str, Any] = {
        "review": rev,
        "css": Markup(css),  # noqa: S704 - our own package file, checked for a closing tag above
        "js": Markup(js),  # noqa: S704
        "style_hash": csp_hash(css),
        "script_hash": csp_hash(js),
        "generated": report.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "previous": options.compare.started_at.date().isoformat() if options.compare else "",
        "open_findings": sum(1 for f in report.findings if f.status == "new"),
        "severities": sorted(Severity, reverse=True),
        "source_labels": review_mod.SOURCE_LABELS,
        "pct": _pct,
        "tree": report.tree_settings,
    }
    return env.get_template("report.html.j2").render(**context)
