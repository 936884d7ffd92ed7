"""Reports over reports: merge several results into one, and compare a result with a previous review.

Pure functions of ``Report`` values (no I/O). Findings are matched by fingerprint, violations by
(check id, subject) and credentials by id, so a review can say what is new, resolved, still open and getting older.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from scanner.model import (
    Credential,
    Finding,
    Location,
    Report,
    ScanStats,
    Severity,
    Skip,
    TreeSettings,
    Violation,
)

if TYPE_CHECKING:
    from scanner.policy import Policy

# Age buckets (days) used by "getting older": an open item crosses one of these between two reviews.
AGE_BUCKETS = (30, 90, 180, 365)


def _merge_finding(a: Finding, b: Finding) -> Finding:
    seen: dict[tuple[object, ...], Location] = {}
    for loc in a.locations + b.locations:
        seen.setdefault((loc.source, loc.root, loc.path, loc.line, loc.column, loc.commit), loc)
    status = "new" if "new" in (a.status, b.status) else a.status
    return replace(
        a,
        severity=max(a.severity, b.severity),
        locations=tuple(seen.values()),
        status=status,
        status_reason=None if status == "new" else a.status_reason,
        git=a.git or b.git,
        verification=a.verification or b.verification,
    )


def merge(reports: Sequence[Report], policy: Policy | None = None) -> Report:
    """One report from several (repositories, Vault, AWS). Same fingerprint: one finding with every location."""
    if not reports:
        raise ValueError("nothing to merge")
    if len(reports) == 1:
        return reports[0]
    findings: dict[str, Finding] = {}
    for r in reports:
        for f in r.findings:
            findings[f.fingerprint] = _merge_finding(findings[f.fingerprint], f) if f.fingerprint in findings else f
    creds: dict[str, Credential] = {}
    for r in reports:
        for c in r.credentials:
            creds.setdefault(c.id, c)
    violations: dict[tuple[str, str], Violation] = {}
    for r in reports:
        for v in r.violations:
            violations.setdefault((v.check_id, v.subject), v)
    skipped: dict[tuple[str, str, str], Skip] = {}
    for r in reports:
        for s in r.skipped:
            skipped.setdefault((s.source, s.target, s.reason), s)
    notes = [n for r in reports for n in r.notes]
    key_ids = sorted({r.hash_key_id for r in reports})
    if len(key_ids) > 1:
        notes.append(f"Results were hashed with different keys ({', '.join(key_ids)}): the same secret in two of "
                     "them is not recognised as one finding.")
    ordered = sorted(findings.values(), key=lambda f: (-f.severity, f.location.path, f.location.line or 0, f.rule_id))
    finished = [r.finished_at for r in reports if r.finished_at is not None]
    # Correlate across the merged results: a key leaked in one repository and stored in Vault or AWS is one item.
    from scanner.hygiene import correlate
    from scanner.policy import Policy

    now = max(finished) if finished else max(r.started_at for r in reports)
    corr = correlate.correlate(ordered, creds.values(), violations.values(), policy or Policy(), now)
    return Report(
        tool_version=reports[0].tool_version,
        started_at=min(r.started_at for r in reports),
        finished_at=max(finished) if finished else None,
        scan_kind="merged",
        targets=tuple(dict.fromkeys(t for r in reports for t in r.targets)),
        findings=tuple(ordered),
        skipped=tuple(skipped.values()),
        references=tuple(ref for r in reports for ref in r.references),
        credentials=tuple(creds.values()),
        violations=corr.violations,
        inventory=corr.inventory,
        unused_ignores=tuple(sorted({u for r in reports for u in r.unused_ignores})),
        stats=ScanStats(
            files_scanned=sum(r.stats.files_scanned for r in reports),
            bytes_scanned=sum(r.stats.bytes_scanned for r in reports),
            blobs_scanned=sum(r.stats.blobs_scanned for r in reports),
            commits_scanned=sum(r.stats.commits_scanned for r in reports),
            seconds=sum(r.stats.seconds for r in reports),
        ),
        notes=tuple(dict.fromkeys(notes)),
        hash_key_id=key_ids[0] if len(key_ids) == 1 else "mixed",
        tree_settings=_merged_tree([r.tree_settings for r in reports if r.tree_settings is not None]),
    )


def _merged_tree(trees: list[TreeSettings]) -> TreeSettings | None:
    """Every scanned tree's settings and weakenings, so a merged report hides none of them."""
    if not trees:
        return None
    return TreeSettings(files=tuple(dict.fromkeys(f for t in trees for f in t.files)),
                        weakenings=tuple(dict.fromkeys(w for t in trees for w in t.weakenings)),
                        disregarded=tuple(dict.fromkeys(f for t in trees for f in t.disregarded)),
                        default_hash_key=any(t.default_hash_key for t in trees))


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One finding or violation as the comparison sees it."""

    key: str  # finding fingerprint, or "check_id:subject" for a violation
    kind: str  # "finding" or "violation"
    title: str
    where: str
    severity: Severity
    first_seen: datetime
    age_days: int  # at the time of the current review (resolved: when it was last seen open)


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison:
    """What changed between two reviews."""

    previous_at: datetime
    current_at: datetime
    new: tuple[Item, ...]
    resolved: tuple[Item, ...]
    still_open: tuple[Item, ...]
    getting_older: tuple[Item, ...]  # still open and crossed an age bucket since the previous review
    mean_days_to_remediate: float | None  # over resolved items: first seen -> current review (an upper bound)


def _open_findings(report: Report) -> dict[str, Finding]:
    return {f.fingerprint: f for f in report.findings if f.status == "new"}


def _violations(report: Report) -> dict[str, Violation]:
    return {f"{v.check_id}:{v.subject}": v for v in report.violations}


def _where(f: Finding) -> str:
    loc = f.location
    place = loc.path + (f":{loc.line}" if loc.line else "")
    if loc.commit:
        place += f" @ {loc.commit[:10]}"
    return place


def _first_seen_finding(f: Finding, fallback: datetime) -> datetime:
    if f.git is not None:
        return min(f.git.introduced.author_date, fallback)
    return fallback


def _first_seen_credential(cred: Credential | None, fallback: datetime) -> datetime:
    if cred is not None and cred.created_at is not None:
        return min(cred.created_at, fallback)
    return fallback


def _bucket(days: int) -> int:
    return sum(1 for b in AGE_BUCKETS if days >= b)


def compare(current: Report, previous: Report) -> Comparison:
    """New, resolved, still open and getting older, matched by fingerprint (violations by check and subject)."""
    now, then = current.started_at, previous.started_at
    creds = {c.id: c for c in current.credentials + previous.credentials}
    cur_f, prev_f = _open_findings(current), _open_findings(previous)
    cur_v, prev_v = _violations(current), _violations(previous)

    def f_item(f: Finding, first_seen_default: datetime, at: datetime) -> Item:
        first = _first_seen_finding(f, first_seen_default)
        return Item(key=f.fingerprint, kind="finding", title=f"{f.rule_name} {f.redacted}", where=_where(f),
                    severity=f.severity, first_seen=first, age_days=max(0, (at - first).days))

    def v_item(v: Violation, first_seen_default: datetime, at: datetime) -> Item:
        first = _first_seen_credential(creds.get(v.subject), first_seen_default)
        return Item(key=f"{v.check_id}:{v.subject}", kind="violation", title=f"{v.check_id}: {v.message}",
                    where=v.subject, severity=v.severity, first_seen=first, age_days=max(0, (at - first).days))

    new = [f_item(f, now, now) for k, f in cur_f.items() if k not in prev_f]
    new += [v_item(v, now, now) for k, v in cur_v.items() if k not in prev_v]
    resolved = [f_item(f, then, now) for k, f in prev_f.items() if k not in cur_f]
    resolved += [v_item(v, then, now) for k, v in prev_v.items() if k not in cur_v]
    still = [f_item(f, then, now) for k, f in cur_f.items() if k in prev_f]
    still += [v_item(v, then, now) for k, v in cur_v.items() if k in prev_v]
    span = max(0, (now - then).days)
    older = [i for i in still if _bucket(i.age_days) > _bucket(max(0, i.age_days - span))]
    mttr = sum(i.age_days for i in resolved) / len(resolved) if resolved else None

    def order(items: Iterable[Item]) -> tuple[Item, ...]:
        return tuple(sorted(items, key=lambda i: (-i.severity, -i.age_days, i.key)))

    return Comparison(previous_at=then, current_at=now, new=order(new), resolved=order(resolved),
                      still_open=order(still), getting_older=order(older), mean_days_to_remediate=mttr)


def age_days(moment: datetime | None, now: datetime) -> int | None:
    """Whole days from ``moment`` to ``now``; None when unknown."""
    if moment is None:
        return None
    return max(0, (now - moment) // timedelta(days=1))
