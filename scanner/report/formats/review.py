"""The quarterly credential review as data: summary, inventory rows, chart geometry, comparison.

Shared by the HTML and Markdown formats so both tell the same story. A pure function of a Report (and the
previous reviews, when given); nothing here reads the clock: ages are taken at ``report.started_at``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from scanner.model import Credential, Finding, InventoryItem, Report, Severity, Violation
from scanner.report.merge import Comparison, age_days, compare

ROTATION_CHECKS = frozenset({"STALE", "UNROTATED"})
AGE_BINS = ((0, 30, "<30"), (30, 90, "30–90"), (90, 180, "90–180"), (180, 365, "180–365"), (365, 10**9, ">365"))
SOURCE_LABELS = {"file": "files", "git": "git history", "staged": "staged", "vault": "Vault", "aws": "AWS"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One line of the inventory: a stored credential or a finding."""

    anchor: str
    item: str  # "credential" or "finding"
    severity: Severity
    provider: str
    kind: str
    source: str
    where: str
    redacted: str
    owner: str
    age_days: int | None
    last_rotated: str
    scope: str
    status: str
    violations: tuple[Violation, ...]
    remediation: tuple[str, ...]
    detail: str = ""

    @property
    def open(self) -> bool:
        """Something to do: a new finding, or a credential with a violation."""
        return self.item == "finding" and self.status not in ("allowed", "baselined", "ignored") or bool(
            self.violations)


@dataclass(frozen=True, slots=True)
class Bar:
    """A bar of a chart, in SVG user units."""

    label: str
    value: int
    x: float
    y: float
    w: float
    h: float
    fill: str = ""
    title: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    """Geometry of one inline SVG chart."""

    title: str
    width: int
    height: int
    bars: tuple[Bar, ...] = ()
    labels: tuple[Bar, ...] = ()  # text positions (x, y) with label
    points: str = ""  # polyline for a line chart
    empty: str = ""  # message when there is nothing to draw


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """Everything the review shows."""

    report: Report
    rows: tuple[Row, ...]
    by_severity: tuple[tuple[str, int], ...]
    by_source: tuple[tuple[str, int], ...]
    by_provider: tuple[tuple[str, int], ...]
    model_keys: int
    vaulted_share: float | None
    rotated_share: float | None
    leaked_and_vaulted: int
    charts: tuple[Chart, ...]
    comparison: Comparison | None
    skipped_by_reason: tuple[tuple[str, int], ...]
    not_covered: tuple[str, ...]
    providers: tuple[str, ...] = field(default_factory=tuple)
    sources: tuple[str, ...] = field(default_factory=tuple)
    correlated: tuple[InventoryItem, ...] = ()  # secrets seen in several places (leaked and stored, ...)


# --------------------------------------------------------------------------- rows


def _finding_source(f: Finding) -> str:
    if f.git is not None:
        return "git"
    return f.location.source


def _finding_where(f: Finding) -> str:
    loc = f.location
    repo = f.git.repo if f.git is not None else (loc.root or "")
    name = os.path.basename(repo.rstrip("/"))
    prefix = name + "/" if name not in ("", ".", "..") and loc.source in ("file", "git", "staged") else ""
    where = prefix + loc.path + (f":{loc.line}" if loc.line else f" (byte {loc.offset})" if loc.offset is not None else "")
    if loc.commit:
        where += f" @ {loc.commit[:10]}"
    if loc.key_path:
        where += f" [{loc.key_path}]"
    if len(f.locations) > 1:
        where += f" (+{len(f.locations) - 1} more)"
    return where


def _finding_row(f: Finding, violations: Sequence[Violation], now: datetime) -> Row:
    status = f.status
    if f.status == "new":
        status = "leaked" if (f.git is None or f.git.at_head) else "in history"
    if f.verification is not None:
        status += f" · {f.verification.status}"
    owner = f.git.introduced.author if f.git is not None else ""
    first = f.git.introduced.author_date if f.git is not None else None
    scope = ", ".join(f.verification.scopes) if f.verification and f.verification.scopes else ""
    detail = f.severity_reason or f.description
    return Row(anchor=f"f-{f.fingerprint[:16]}", item="finding", severity=f.severity, provider=f.provider,
               kind=f.rule_name, source=_finding_source(f), where=_finding_where(f), redacted=f.redacted,
               owner=owner, age_days=age_days(first, now), last_rotated="", scope=scope, status=status,
               violations=tuple(violations), remediation=f.remediation, detail=detail)


def _credential_row(c: Credential, violations: Sequence[Violation], now: datetime) -> Row:
    sev = max((v.severity for v in violations), default=Severity.INFO)
    steps: list[str] = []
    for v in violations:
        steps.extend(s for s in v.remediation if s not in steps)
    rotated = c.last_rotated_at or (c.created_at if c.versions in (None, 1) else None)
    return Row(anchor="c-" + _slug(c.id), item="credential", severity=sev, provider=c.provider or "unknown",
               kind=c.kind or c.store, source=c.source, where=c.location, redacted=c.redacted or "",
               owner=c.owner or "", age_days=age_days(c.created_at, now),
               last_rotated=rotated.date().isoformat() if rotated else "",
               scope=", ".join(c.scopes), status=c.status or ("ok" if not violations else "needs action"),
               violations=tuple(violations), remediation=tuple(steps), detail=c.store)


def _slug(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- charts

def _age_chart(rows: Sequence[Row]) -> Chart:
    counts = [sum(1 for r in rows if r.age_days is not None and lo <= r.age_days < hi) for lo, hi, _ in AGE_BINS]
    unknown = sum(1 for r in rows if r.age_days is None)
    labels = [label for _, _, label in AGE_BINS]
    if unknown:
        counts.append(unknown)
        labels.append("unknown")  # findings outside git history: no date
    w, h, top, bottom = 360, 180, 16, 34
    peak = max(counts, default=0)
    if not peak:
        return Chart(title="Age distribution", width=w, height=h, empty="No ages known.")
    slot = (w - 20) / len(counts)
    bars, texts = [], []
    for i, (n, label) in enumerate(zip(counts, labels, strict=True)):
        bh = (h - top - bottom) * n / peak
        x = 10 + i * slot + slot * 0.15
        y = h - bottom - bh
        fill = "#a0aec0" if label == "unknown" else ("#c2410c" if i >= 3 else "#2c7a7b")
        bars.append(Bar(label, n, round(x, 1), round(y, 1), round(slot * 0.7, 1), round(bh, 1), fill,
                        f"{label}: {n}"))
        texts.append(Bar(label, n, round(x + slot * 0.35, 1), round(y - 4, 1), 0, 0))
    return Chart(title="Age distribution (days)", width=w, height=h, bars=tuple(bars), labels=tuple(texts))


def _rotation_chart(creds: Sequence[Credential], by_subject: dict[str, list[Violation]]) -> Chart:
    per: dict[str, list[int]] = {}
    for c in creds:
        overdue = any(v.check_id in ROTATION_CHECKS for v in by_subject.get(c.id, ()))
        per.setdefault(c.provider or "unknown", [0, 0])[1 if overdue else 0] += 1
    w, row_h = 360, 24
    if not per:
        return Chart(title="Rotation compliance by provider", width=w, height=60,
                     empty="No stored credentials in this report.")
    items = sorted(per.items(), key=lambda kv: (-(kv[1][0] + kv[1][1]), kv[0]))[:12]
    h = 12 + row_h * len(items)
    x0, span = 110, w - 110 - 40
    bars, texts = [], []
    for i, (prov, (ok, bad)) in enumerate(items):
        total = ok + bad
        y = 6 + i * row_h
        okw = span * ok / total
        bars.append(Bar(prov, ok, x0, y, round(okw, 1), row_h - 8, "#2f855a", f"{prov}: {ok} within policy"))
        bars.append(Bar(prov, bad, round(x0 + okw, 1), y, round(span - okw, 1), row_h - 8, "#c53030",
                        f"{prov}: {bad} overdue or unrotated"))
        texts.append(Bar(prov[:16], total, x0 - 6, y + row_h / 2, 0, 0))
        texts.append(Bar(f"{round(100 * ok / total)}%", total, x0 + span + 4, y + row_h / 2, 0, 0))
    return Chart(title="Rotation compliance by provider", width=w, height=h, bars=tuple(bars),
                 labels=tuple(texts))


def _trend_chart(history: Sequence[Report], report: Report) -> Chart:
    w, h = 360, 180
    reports = sorted([*history, report], key=lambda r: r.started_at)
    if len(reports) < 2:
        return Chart(title="Open findings over time", width=w, height=h,
                     empty="Give a previous result (credsweep report --compare) to see the trend.")
    counts = [sum(1 for f in r.findings if f.status == "new") + len(r.violations) for r in reports]
    peak = max(max(counts), 1)
    t0 = reports[0].started_at.timestamp()
    t1 = reports[-1].started_at.timestamp()
    spread = max(t1 - t0, 1.0)
    pts, dots, texts = [], [], []
    for r, n in zip(reports, counts, strict=True):
        x = 30 + (w - 60) * (r.started_at.timestamp() - t0) / spread
        y = h - 34 - (h - 60) * n / peak
        pts.append(f"{x:.1f},{y:.1f}")
        day = r.started_at.date().isoformat()
        dots.append(Bar(day, n, round(x, 1), round(y, 1), 0, 0, "#2b6cb0", f"{day}: {n} open"))
        texts.append(Bar(day, n, round(x, 1), h - 14, 0, 0))
    return Chart(title="Open findings over time", width=w, height=h, bars=tuple(dots), labels=tuple(texts),
                 points=" ".join(pts))


# --------------------------------------------------------------------------- the review


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def build(report: Report, previous: Report | None = None, history: Sequence[Report] = ()) -> Review:
    """The review of ``report``; ``previous`` adds the comparison, ``history`` the trend."""
    now = report.started_at
    by_subject: dict[str, list[Violation]] = {}
    for v in report.violations:
        by_subject.setdefault(v.subject, []).append(v)
    findings = {f.fingerprint for f in report.findings}
    for item in report.inventory:  # finding-level checks (LEAKED, HISTORY-ONLY, UNVAULTED, ...) live there
        for v in item.violations:
            if v.subject in findings:
                by_subject.setdefault(v.subject, []).append(v)
    rows = [_credential_row(c, by_subject.get(c.id, ()), now) for c in report.credentials]
    rows += [_finding_row(f, by_subject.get(f.fingerprint, ()), now) for f in report.findings]
    rows.sort(key=lambda r: (-r.severity, not r.open, r.provider, r.where))

    open_rows = [r for r in rows if r.open]
    sev = Counter(r.severity for r in open_rows)
    by_severity = tuple((s.label, sev.get(s, 0)) for s in sorted(Severity, reverse=True))
    by_source = tuple(sorted(Counter(SOURCE_LABELS.get(r.source, r.source) for r in rows).items(),
                             key=lambda kv: -kv[1]))
    by_provider = tuple(sorted(Counter(r.provider for r in rows).items(), key=lambda kv: (-kv[1], kv[0])))

    # model keys: every distinct secret seen (stored or leaked), keyed by hash where known
    stored = {c.secret_hash or c.id for c in report.credentials}
    leaked = {f.secret_hash for f in report.findings if f.status == "new"}
    keys = stored | leaked
    rotation_ok = sum(1 for c in report.credentials
                      if not any(v.check_id in ROTATION_CHECKS for v in by_subject.get(c.id, ())))
    charts = (_age_chart(rows), _rotation_chart(report.credentials, by_subject),
              _trend_chart(history or ([previous] if previous else []), report))
    skipped = tuple(sorted(Counter(s.reason for s in report.skipped).items(), key=lambda kv: -kv[1]))
    seen_sources = {r.source for r in rows} | {s.source for s in report.skipped}
    if report.stats.files_scanned:
        seen_sources.add("file")
    if report.stats.commits_scanned:
        seen_sources.add("git")
    not_covered = tuple(SOURCE_LABELS[s] for s in ("git", "vault", "aws") if s not in seen_sources)
    return Review(
        report=report, rows=tuple(rows), by_severity=by_severity, by_source=by_source, by_provider=by_provider,
        model_keys=len(keys),
        vaulted_share=_share(len(stored & keys), len(keys)) if report.credentials else None,
        rotated_share=_share(rotation_ok, len(report.credentials)),
        leaked_and_vaulted=len(stored & leaked),
        charts=charts, comparison=compare(report, previous) if previous else None,
        skipped_by_reason=skipped, not_covered=not_covered,
        providers=tuple(sorted({r.provider for r in rows})),
        sources=tuple(sorted({r.source for r in rows})),
        correlated=tuple(i for i in report.inventory
                         if (i.leaked and i.stored) or len({loc.source for loc in i.locations}) > 1),
    )


__all__ = ["Bar", "Chart", "Review", "Row", "build"]
