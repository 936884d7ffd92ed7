"""Human text: grouped by severity, coloured on a terminal, path:line, rule, redacted value, what to do."""

from __future__ import annotations

from collections import Counter

from scanner.model import Finding, InventoryItem, Report, Severity
from scanner.report.formats.base import FormatOptions
from scanner.safetext import displayable

_COLORS = {
    Severity.CRITICAL: "\033[1;31m",
    Severity.HIGH: "\033[31m",
    Severity.MEDIUM: "\033[33m",
    Severity.LOW: "\033[36m",
    Severity.INFO: "\033[37m",
}
_DIM, _BOLD, _RESET = "\033[2m", "\033[1m", "\033[0m"


def _c(text: str, code: str, on: bool) -> str:
    return f"{code}{text}{_RESET}" if on else text


def _where(f: Finding) -> list[str]:
    out = []
    for loc in f.locations[:20]:
        place = loc.path
        if loc.line is not None:
            place += f":{loc.line}"
            if loc.column is not None:
                place += f":{loc.column}"
        elif loc.offset is not None:
            place += f" (byte {loc.offset})"
        if loc.commit:
            place += f" @ {loc.commit[:10]}"
        if loc.decoded:
            place += f" (decoded {loc.decoded})"
        out.append(place)
    if len(f.locations) > 20:
        out.append(f"... and {len(f.locations) - 20} more places")
    return out


def _finding(f: Finding, opts: FormatOptions) -> list[str]:
    color = opts.color
    sev = _c(f"{f.severity.label.upper():8}", _COLORS[f.severity], color)
    head = f"{sev} {_c(f.rule_id, _BOLD, color)}  {f.rule_name}  {f.redacted}"
    lines = [head]
    for place in _where(f):
        lines.append(f"  {place}")
    g = f.git
    if g is not None:
        intro = g.introduced
        state = "present at HEAD" if g.at_head else "in history only"
        lines.append(f"  introduced {intro.sha[:10]} by {intro.author} on {intro.author_date.date().isoformat()}; {state}")
        if g.removed_by is not None:
            lines.append(f"  removed by {g.removed_by.sha[:10]} on {g.removed_by.author_date.date().isoformat()} "
                         "(still rotate it: history keeps it)")
    if f.verification is not None:
        lines.append(f"  verification: {f.verification.status} {f.verification.detail}".rstrip())
    if f.severity_reason:
        lines.append(f"  why: {f.severity_reason}")
    if not opts.quiet and f.remediation:
        lines.append(f"  fix: {f.remediation[0]}")
        for step in f.remediation[1:]:
            lines.append(f"       {step}")
    lines.append(_c(f"  fingerprint {f.fingerprint}", _DIM, color))
    return lines


def _item(i: InventoryItem, opts: FormatOptions) -> list[str]:
    color = opts.color
    sev = _c(f"{i.severity.label.upper():8}", _COLORS[i.severity], color)
    name = f"{i.provider} {i.kind}".strip()
    lines = [f"{sev} {_c(name, _BOLD, color)}  {i.redacted}" + (f"  ({i.rule_id})" if i.rule_id else "")]
    lines.append(f"  {i.summary}")
    facts = []
    if i.age_days is not None:
        facts.append(f"age {i.age_days} days" + (f" (first seen {i.first_seen.date().isoformat()})"
                                                 if i.first_seen else ""))
    if i.last_rotated is not None:
        facts.append(f"last rotated {i.last_rotated.date().isoformat()}")
    if facts:
        lines.append("  " + "; ".join(facts))
    lines.append("  where:")
    for loc in i.locations[:20]:
        extra = [x for x in (f"@ {loc.commit[:10]}" if loc.commit else "",
                             f"version {loc.version}" if loc.version else "", loc.state) if x]
        lines.append(f"    {loc.source:6} {loc.where}" + (f"  ({', '.join(extra)})" if extra else ""))
    if len(i.locations) > 20:
        lines.append(f"    ... and {len(i.locations) - 20} more places")
    if i.severity_reason:
        lines.append(f"  why: {i.severity_reason}")
    if i.violations:
        lines.append("  violations:")
        places = {loc.ref: loc.where for loc in i.locations if loc.store}
        for v in sorted(i.violations, key=lambda v: -v.severity):
            at = f"[{places[v.subject]}] " if v.subject in places and places[v.subject] not in v.message else ""
            lines.append(f"    {_c(f'{v.severity.label.upper():8}', _COLORS[v.severity], color)} {v.check_id:13} "
                         f"{at}{v.message}")
    if not opts.quiet and i.steps:
        lines.append("  fix:")
        lines.extend(f"    {n}. {step}" for n, step in enumerate(i.steps, 1))
    return lines


def _inventory(report: Report, options: FormatOptions) -> list[str]:
    """The correlated view of ``scan all``: each secret once, with its places, age, violations and steps."""
    out = [_c(f"Inventory: {len(report.inventory)} credential(s), each once with every place it was seen",
              _BOLD, options.color), ""]
    for item in report.inventory:
        if item.severity == Severity.INFO and not item.leaked and options.quiet:
            continue
        out.extend(_item(item, options))
        out.append("")
    covered = {v for i in report.inventory for v in i.violations}
    rest = [v for v in report.violations if v not in covered]
    if rest:
        out.append(_c("Other policy violations", _BOLD, options.color))
        for v in rest:
            out.append(f"  {_c(v.severity.label.upper(), _COLORS[v.severity], options.color):8} {v.check_id:13} "
                       f"{v.subject}: {v.message}")
        out.append("")
    return out


def _tree_line(report: Report) -> str | None:
    """One line: the scanned tree's settings files and what they changed (see scanner/trust.py)."""
    if report.tree_settings is None:
        return None
    from scanner.trust import summary_line

    return summary_line(report.tree_settings)


def render(report: Report, options: FormatOptions) -> str:
    """The terminal report; ``scan all`` shows the correlated inventory instead of the finding list.

    Every string of the report is escaped first (``safetext``): no content can send a control sequence."""
    report = displayable(report)
    new = [f for f in report.findings if f.status == "new"]
    out: list[str] = []
    inventory_mode = report.scan_kind == "all" and bool(report.inventory) and not options.hook
    if inventory_mode:
        out.extend(_inventory(report, options))
    for f in [] if inventory_mode else new:
        out.extend(_finding(f, options))
        out.append("")
    if report.violations and not inventory_mode:
        out.append(_c("Policy violations", _BOLD, options.color))
        for v in report.violations:
            out.append(f"  {_c(v.severity.label.upper(), _COLORS[v.severity], options.color):8} {v.check_id:13} "
                       f"{v.subject}: {v.message}")
        out.append("")
    suppressed = Counter(f.status for f in report.findings if f.status != "new")
    tree_line = _tree_line(report)
    if options.hook:
        if tree_line and (new or any(w.kind != "inline_allow" for w in report.tree_settings.weakenings)):  # type: ignore[union-attr]
            out.append(tree_line)
        if new:
            out.append("credsweep blocked this commit: it adds the credential(s) above.")
            out.append("Remove the value (read it from the environment or a secret store) and rotate it if it was real.")
            out.append("A known test value? Add the comment `credsweep:allow` on its line, or record its fingerprint:")
            out.append("  credsweep ignore add FINGERPRINT --reason 'test fixture'")
        return "\n".join(out) + ("\n" if out else "")
    sev = Counter(f.severity.label for f in new)
    parts = [f"{n} {s}" for s, n in sorted(sev.items(), key=lambda kv: -Severity.parse(kv[0]))]
    summary = f"{len(new)} finding(s)" + (f" ({', '.join(parts)})" if parts else "")
    if suppressed:
        summary += "; suppressed: " + ", ".join(f"{n} {k}" for k, n in sorted(suppressed.items()))
    st = report.stats
    scanned = []
    if st.files_scanned:
        scanned.append(f"{st.files_scanned} file(s)")
    if st.commits_scanned:
        scanned.append(f"{st.commits_scanned} commit(s), {st.blobs_scanned} blob(s)")
    if report.credentials:
        scanned.append(f"{len(report.credentials)} stored credential(s)")
    mb = st.bytes_scanned / 1e6
    summary += f". Scanned {', '.join(scanned) or 'nothing'} ({mb:.1f} MB) in {st.seconds:.2f} s."
    out.append(summary)
    if tree_line:
        out.append(tree_line)
    if report.skipped:
        reasons = Counter(s.reason for s in report.skipped)
        out.append("Not scanned: " + ", ".join(f"{n} {r}" for r, n in sorted(reasons.items()))
                   + " (see --format json for the list).")
    for note in report.notes:
        out.append(f"Note: {note}")
    for fp in report.unused_ignores:
        out.append(f"Unused ignore entry (matches nothing any more): {fp}")
    return "\n".join(out) + "\n"
