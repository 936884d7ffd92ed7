"""Markdown: the review for a pull-request comment, a wiki page or a ticket (GitHub-flavoured tables)."""

from __future__ import annotations

from datetime import UTC

from scanner.formats import review as review_mod
from scanner.formats.base import FormatOptions
from scanner.model import Report

MAX_ROWS = 300


def _cell(text: object) -> str:
    """Table-safe text: no pipes, no newlines, no HTML."""
    s = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return s.replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{round(100 * share)}%"


def render(report: Report, options: FormatOptions) -> str:
    """The review as Markdown."""
    rev = review_mod.build(report, options.compare, options.history)
    when = report.started_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    open_findings = sum(1 for f in report.findings if f.status == "new")
    out = [
        "# Credential review",
        "",
        f"Scanned {when} ({report.scan_kind}): {_cell(', '.join(report.targets) or '-')}. "
        f"credsweep {report.tool_version}, hash key `{report.hash_key_id}`.",
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
            out.append("Applied: " + ", ".join(f"`{_cell(f)}`" for f in tree.files) + ".")
        out += [f"- **{_cell(w.kind)}** ({_cell(w.source)}): {_cell(w.detail)}" for w in tree.weakenings]
        out += [f"- **not read** (--no-repo-config): `{_cell(f)}`" for f in tree.disregarded]
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
            out += [f"| {i.severity.label} | {_cell(i.title)} | `{_cell(i.where)}` | {i.age_days} |"
                    for i in items[:MAX_ROWS]]
            out.append("")
    if rev.correlated:
        out += ["## One secret, several places", ""]
        for item in rev.correlated[:MAX_ROWS]:
            age = f", {item.age_days} days old" if item.age_days is not None else ""
            out.append(f"- **{item.severity.label}** {_cell(item.provider)} {_cell(item.kind)} "
                       f"`{_cell(item.redacted or '-')}`{age}: {_cell(item.summary)}")
            out += [f"  - {loc.source}: `{_cell(loc.where)}`" + (f" @ {loc.commit[:10]}" if loc.commit else "")
                    + (f" (version {loc.version})" if loc.version else "") for loc in item.locations[:20]]
            out += [f"  - {v.check_id}: {_cell(v.message)}" for v in item.violations]
            out += [f"  {i}. {_cell(step)}" for i, step in enumerate(item.steps, 1)]
        out.append("")
    out += ["## Inventory", "",
            "| Severity | Provider | Kind | Where | Value | Owner | Age (d) | Last rotated | Status | Violations |",
            "|---|---|---|---|---|---|---:|---|---|---|"]
    for row in rev.rows[:MAX_ROWS]:
        age = "–" if row.age_days is None else str(row.age_days)
        checks = ", ".join(v.check_id for v in row.violations) or "–"
        out.append(f"| {row.severity.label} | {_cell(row.provider)} | {_cell(row.kind)} | `{_cell(row.where)}` | "
                   f"`{_cell(row.redacted or '-')}` | {_cell(row.owner or '–')} | {age} | "
                   f"{row.last_rotated or '–'} | {_cell(row.status)} | {checks} |")
    if len(rev.rows) > MAX_ROWS:
        out.append(f"\n{len(rev.rows) - MAX_ROWS} more rows in the JSON or HTML report.")
    out.append("")
    todo = [r for r in rev.rows if r.open]
    if todo:
        out += ["## Remediation", ""]
        for row in todo[:MAX_ROWS]:
            out.append(f"- **{row.severity.label}** {_cell(row.kind)} `{_cell(row.redacted or '-')}` at "
                       f"`{_cell(row.where)}`")
            for v in row.violations:
                out.append(f"  - {v.check_id}: {_cell(v.message)}")
            for i, step in enumerate(row.remediation, 1):
                out.append(f"  {i}. {_cell(step)}")
        out.append("")
    out += ["## Skipped / not covered", ""]
    if rev.not_covered:
        out.append(f"Not part of this report: {', '.join(rev.not_covered)}.")
    if report.skipped:
        out.append("Not scanned: " + ", ".join(f"{n} {r}" for r, n in rev.skipped_by_reason) + ".")
        out.append("")
        out += ["| Source | Target | Reason | Detail |", "|---|---|---|---|"]
        out += [f"| {s.source} | `{_cell(s.target)}` | {_cell(s.reason)} | {_cell(s.detail)} |"
                for s in report.skipped[:MAX_ROWS]]
    elif not rev.not_covered:
        out.append("Everything in scope was scanned.")
    for note in report.notes:
        out += ["", f"> {_cell(note)}"]
    return "\n".join(out) + "\n"
