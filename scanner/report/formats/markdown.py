"""Markdown: the review for a pull-request comment, a wiki page or a ticket (GitHub-flavoured tables)."""

from __future__ import annotations

from datetime import UTC

from scanner.model import Report
from scanner.report.formats import review as review_mod
from scanner.report.formats.base import FormatOptions
from scanner.safetext import displayable, md_code, md_text

MAX_ROWS = 300
# Content (paths, names, messages, rule text) goes through one of these: prose is escaped so that it cannot add
# markup, HTML or links; identifiers (paths, key paths, redacted values) are code spans, shown verbatim.
_cell = md_text
_code = md_code


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{round(100 * share)}%"


def render(report: Report, options: FormatOptions) -> str:
    """The review as Markdown. Every string is escaped first (``safetext``), then written as text or code."""
    report = displayable(report)
    rev = review_mod.build(report, displayable(options.compare), displayable(options.history))
    when = report.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    open_findings = sum(1 for f in report.findings if f.status == "new")
    out = [
        "# Credential review",
        "",
        f"Scanned {when} ({_cell(report.scan_kind)}): {', '.join(_code(t, table=False) for t in report.targets) or '-'}. "
        f"credsweep {_cell(report.tool_version)}, hash key {_code(report.hash_key_id, table=False)}.",
        "",
        "| Open findings | Stored credentials | Violations | Model keys | Held in a secret store | Rotated within policy |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {open_findings} | {len(report.credentials)} | {len(report.violations)} | {rev.model_keys} | "
        f"{_pct(rev.vaulted_share)} | {_pct(rev.rotated_share)} |",
        "",
        "**Open items by severity:** " + (", ".join(f"{n} {s}" for s, n in rev.by_severity if n) or "none"),
        "",
    ]
    tree = report.tree_settings
    if tree is not None:
        out += ["## Settings from the scanned tree", ""]
        if tree.files:
            out.append("Applied: " + ", ".join(_code(f) for f in tree.files) + ".")
        out += [f"- **{_cell(w.kind)}** ({_cell(w.source)}): {_cell(w.detail)}" for w in tree.weakenings]
        out += [f"- **not read** (--no-repo-config): {_code(f)}" for f in tree.disregarded]
        out.append("")
    if rev.by_provider:
        out.append("**By provider:** " + ", ".join(f"{_cell(p)} {n}" for p, n in rev.by_provider))
        out.append("")
    if rev.leaked_and_vaulted:
        out += [f"> {rev.leaked_and_vaulted} secret(s) held in a secret store also appear in code or history: "
                "rotate them.", ""]
    c = rev.comparison
    if c is not None:
        mttr = f"{c.mean_days_to_remediate:.0f} days" if c.mean_days_to_remediate is not None else "–"
        out += [
            f"## Since the last review ({c.previous_at.date().isoformat()})",
            "",
            f"New: **{len(c.new)}** · resolved: **{len(c.resolved)}** · still open: **{len(c.still_open)}** · "
            f"getting older: **{len(c.getting_older)}** · mean time to remediate: **{mttr}**",
            "",
        ]
        for title, items in (("New", c.new), ("Resolved", c.resolved), ("Getting older", c.getting_older)):
            if not items:
                continue
            out += [f"### {title}", "", "| Severity | Item | Where | Age (days) |", "|---|---|---|---:|"]
            out += [f"| {i.severity.label} | {_cell(i.title)} | {_code(i.where)} | {i.age_days} |"
                    for i in items[:MAX_ROWS]]
            out.append("")
    if rev.correlated:
        out += ["## One secret, several places", ""]
        for item in rev.correlated[:MAX_ROWS]:
            age = f", {item.age_days} days old" if item.age_days is not None else ""
            out.append(f"- **{item.severity.label}** {_cell(item.provider)} {_cell(item.kind)} "
                       f"{_code(item.redacted or '-', table=False)}{age}: {_cell(item.summary)}")
            out += [f"  - {_cell(loc.source)}: {_code(loc.where, table=False)}"
                    + (f" @ {_cell(loc.commit[:10])}" if loc.commit else "")
                    + (f" (version {_cell(loc.version)})" if loc.version else "") for loc in item.locations[:20]]
            out += [f"  - {_cell(v.check_id)}: {_cell(v.message)}" for v in item.violations]
            out += [f"  {i}. {_cell(step)}" for i, step in enumerate(item.steps, 1)]
        out.append("")
    out += ["## Inventory", "",
            "| Severity | Provider | Kind | Where | Value | Owner | Age (d) | Last rotated | Status | Violations |",
            "|---|---|---|---|---|---|---:|---|---|---|"]
    for row in rev.rows[:MAX_ROWS]:
        age = "–" if row.age_days is None else str(row.age_days)
        checks = ", ".join(_cell(v.check_id) for v in row.violations) or "–"
        out.append(f"| {row.severity.label} | {_cell(row.provider)} | {_cell(row.kind)} | {_code(row.where)} | "
                   f"{_code(row.redacted or '-')} | {_cell(row.owner or '–')} | {age} | "
                   f"{_cell(row.last_rotated or '–')} | {_cell(row.status)} | {checks} |")
    if len(rev.rows) > MAX_ROWS:
        out.append(f"\n{len(rev.rows) - MAX_ROWS} more rows in the JSON or HTML report.")
    out.append("")
    todo = [r for r in rev.rows if r.open]
    if todo:
        out += ["## Remediation", ""]
        for row in todo[:MAX_ROWS]:
            out.append(f"- **{row.severity.label}** {_cell(row.kind)} {_code(row.redacted or '-', table=False)} at "
                       f"{_code(row.where, table=False)}")
            for v in row.violations:
                out.append(f"  - {_cell(v.check_id)}: {_cell(v.message)}")
            for i, step in enumerate(row.remediation, 1):
                out.append(f"  {i}. {_cell(step)}")
        out.append("")
    out += ["## Skipped / not covered", ""]
    if rev.not_covered:
        out.append(f"Not part of this report: {', '.join(rev.not_covered)}.")
    if report.skipped:
        out.append("Not scanned: " + ", ".join(f"{n} {_cell(r)}" for r, n in rev.skipped_by_reason) + ".")
        out.append("")
        out += ["| Source | Target | Reason | Detail |", "|---|---|---|---|"]
        out += [f"| {_cell(s.source)} | {_code(s.target)} | {_cell(s.reason)} | {_cell(s.detail)} |"
                for s in report.skipped[:MAX_ROWS]]
    elif not rev.not_covered:
        out.append("Everything in scope was scanned.")
    for note in report.notes:
        out += ["", f"> {_cell(note)}"]
    return "\n".join(out) + "\n"
